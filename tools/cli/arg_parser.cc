#include "tools/cli/arg_parser.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/config.h"
#include "tools/cli/output.h"

namespace ethscan::cli {
namespace {

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"gateway", "HOST:PORT",
       "gateway address (env ETHSCAN_GATEWAY_ADDR, default localhost:50051)"},
      {"dataset-service", "HOST:PORT",
       "dataset service address (env ETHSCAN_DATASET_ADDR, default localhost:50052)"},
      {"training-service", "HOST:PORT",
       "training service and model registry address (env ETHSCAN_TRAINING_ADDR, default "
       "localhost:50053)"},
      {"inference", "HOST:PORT",
       "inference service address, for predict and models compare (env ETHSCAN_INFERENCE_ADDR, "
       "default localhost:50054)"},
      {"json", "", "print the response messages as protobuf JSON, one per line, and nothing else"},
      {"timeout", "DURATION",
       "deadline of each call, e.g. 500ms, 30s, 2m (default 30s); the streams of predict and "
       "models compare get one per MiB of input or 4,096 records"},
  };
  return *kFlags;
}

// The note the admin commands' help ends with.
std::string AdminNote() {
  return "Admin commands talk to the dataset and training services directly for now "
         "(--dataset-service, --training-service); re-exposing them through the gateway for "
         "admin API keys comes later.";
}

FlagSpec ChainIdFlag() {
  return {"chain-id", "N", "EIP-155 chain id of the addresses (default 1)"};
}

void AddScanCommand(std::vector<CommandSpec>* c) {
  const FlagSpec chain_id = ChainIdFlag();
  c->push_back({"scan",
                "",
                "ADDRESS...",
                "scan addresses and print their risk reports",
                "Calls ethscan.gateway.v1.ScanService/ScanAddress once per address. Addresses are "
                "0x + 40 hex digits, lowercase or EIP-55; mixed case with a wrong checksum is "
                "rejected. A failed address prints `ADDRESS: CODE: message` on stderr; the others "
                "are still scanned and the exit status is 1.",
                1,
                -1,
                {{"model", "M", "model name or alias (default: alias production, else the newest)"},
                 chain_id}});
}

void AddDatasetCommands(std::vector<CommandSpec>* c) {
  const std::string admin_note = AdminNote();
  const FlagSpec chain_id = ChainIdFlag();
  const FlagSpec max_example_tokens{
      "max-example-tokens", "N",
      "per-example token limit of the chat export (default: the service's, 65536)"};
  const FlagSpec max_invalid{"max-invalid-fraction", "X",
                             "largest share of invalid lines (0..1) before the file is rejected "
                             "(default: the service's, 0.05)"};
  // Flags shared by `datasets upload` and `datasets validate`.
  const std::vector<FlagSpec> upload_flags = {
      {"name", "N", "dataset name (default: the file's base name without extension)"},
      {"format", "F",
       absl::StrCat("file format: ", absl::StrJoin(UploadFormatNames(), ", "),
                    " (default: detected from the header row or first JSON line)")},
      {"mapping", "FILE.json",
       "column mapping for a CSV of your own, a ColumnMapping in protobuf JSON; implies "
       "--format csv_mapping"},
      {"label", "L",
       "report label of every address in a plain address list (Legit, Phish / Hack, Scam, "
       "Exploit, Heist, Sanctioned, Unknown); implies --format address_list"},
      {"tag", "T", "tag given to every address of an address list (repeatable)", true},
      chain_id,
      max_invalid,
      {"progress", "",
       "draw the progress bar on stderr even when it is not a terminal or with --json"},
      {"no-progress", "", "never draw the progress bar"},
      {"all-issues", "",
       "print every issue the service kept (errors first, then warnings) instead of a summary "
       "by kind with a few examples each"},
  };
  const std::string upload_details =
      "A --mapping file is the protobuf JSON form of ethscan.dataset.v1.ColumnMapping; see "
      "examples/mappings/ for examples. The file is read twice: first for its size and SHA-256, "
      "which the metadata carries so that the service stores nothing unless exactly these bytes "
      "arrived (a pipe, which cannot be read twice, is sent without them), then to stream it. "
      "While the file streams, a progress "
      "bar on stderr (when stderr is a terminal, without --json) shows bytes sent, MB/s and the "
      "time left; the closing line adds records per second. stdout never carries it.";
  c->push_back(
      {"datasets", "upload", "FILE", "upload a labelled address file as a dataset",
       absl::StrCat("Streams the file in 1 MiB chunks to DatasetService.UploadDataset and prints "
                    "the validation report: the dataset, how its format was chosen, the counts "
                    "and the issues, errors first, then warnings, each grouped by kind with its "
                    "count and a few examples (file:line: field: reason); --all-issues prints "
                    "every issue the service kept. "
                    "Uploading the same bytes again returns the existing dataset. ",
                    upload_details, "\n\n", admin_note),
       1, 1, upload_flags});
  c->push_back({"datasets", "validate", "FILE", "check a file without storing it",
                absl::StrCat("Dry run of an upload: the same stream, the same checks and the same "
                             "report, nothing stored. Exit status 0 when the file would be "
                             "accepted, 1 when it would be rejected. ",
                             upload_details, "\n\n", admin_note),
                1, 1, upload_flags});
  c->push_back({"datasets",
                "list",
                "",
                "list datasets, newest first",
                admin_note,
                0,
                0,
                {{"name", "N", "only datasets with this name (its versions)"}}});
  c->push_back({"datasets",
                "show",
                "ID",
                "show one dataset",
                absl::StrCat("Prints the dataset's metadata, and where set the dataset it was "
                             "split from, the datasets it was merged from and the jobs and models "
                             "that reference it. ",
                             admin_note),
                1,
                1,
                {}});
  c->push_back(
      {"datasets",
       "stats",
       "ID",
       "show label, source, overlap, feature and token statistics",
       absl::StrCat("Prints record and address counts, the label, account type and source "
                    "distributions, duplicate, conflicting and multi-source addresses, the "
                    "coverage of every behavioural feature, and the token counts of the OpenAI "
                    "chat export with an estimated fine-tuning cost per epoch. ",
                    admin_note),
       1,
       1,
       {{"price-per-million-tokens", "P",
         "price per million training tokens for the cost estimate (default: no estimate)"},
        max_example_tokens}});
  c->push_back({"datasets",
                "split",
                "ID",
                "split a dataset into train, validation and test sets",
                absl::StrCat("Grouped by address (no address on two sides), stratified by label "
                             "and reproducible: the same fractions and seed give the same "
                             "datasets. ",
                             admin_note),
                1,
                1,
                {{"train", "X", "share of the training set (default 0.8)"},
                 {"validation", "X", "share of the validation set (default 0.1)"},
                 {"test", "X", "share of the test set (default 0.1)"},
                 {"seed", "N", "seed of the deterministic assignment (default 42)"}}});
  c->push_back(
      {"datasets",
       "merge",
       "ID ID...",
       "merge datasets into one, one record per address",
       absl::StrCat("Calls DatasetService.MergeDatasets with the ids in the order given, highest "
                    "priority first, and prints the merged dataset and the conflicts the policy "
                    "resolved (address, field, the value kept and its source, the values "
                    "overruled and theirs, the rule that decided). Merging the same ids under "
                    "the same name again returns the existing dataset. ",
                    admin_note),
       2,
       -1,
       {{"name", "N", "name of the merged dataset (required)"},
        {"show-conflicts", "N",
         "conflicts to print (default 50; 0 prints every one the service returned; --json "
         "prints the full response)"}}});
  c->push_back(
      {"datasets",
       "export",
       "ID",
       "write a dataset as OpenAI chat JSONL or canonical CSV",
       absl::StrCat("Writes the export to --output (through a temporary file renamed at the "
                    "end, so an interrupted export leaves no partial file), or to stdout. The "
                    "chat export has one example per distinct address and fails when an example "
                    "is over the token limit or the dataset has fewer than 10 addresses. ",
                    admin_note),
       1,
       1,
       {{"format", "F", "chat (OpenAI chat JSONL, the default) or csv (canonical records)"},
        max_example_tokens,
        {"output", "FILE", "file to write (default: stdout)", false, "o"}}});
  c->push_back({"datasets",
                "delete",
                "ID",
                "delete a dataset and its records",
                absl::StrCat("Refused (FAILED_PRECONDITION) while a job or model references the "
                             "dataset, or while datasets split or merged from it exist (delete "
                             "those first); the holders are then listed. ",
                             admin_note),
                1,
                1,
                {}});
}

void AddJobCommands(std::vector<CommandSpec>* c) {
  const std::string admin_note = AdminNote();
  const FlagSpec watch_timeout{"watch-timeout", "DURATION",
                               "how long to follow the job's events (default 2h)"};
  c->push_back(
      {"jobs",
       "create",
       "",
       "create a fine-tuning job",
       absl::StrCat(
           "Every hyperparameter left out is automatic: the trainer picks it from the dataset's "
           "size and class balance, and `jobs show` lists the values it used. Without "
           "--validation-dataset or --test-dataset the job holds those sides out of the "
           "training datasets by address hash. With --watch, follows the job's events until it "
           "finishes (one training step line per 50 rounds, the last one, and every other "
           "event); the exit status is 0 only if the job succeeded, and the last line names "
           "the model (\"Fine-tuned model: NAME\"). ",
           admin_note),
       0,
       0,
       {{"training-dataset", "ID", "dataset to train on (required)"},
        {"extra-dataset", "ID", "further dataset merged into the knowledge index (repeatable)",
         true},
        {"validation-dataset", "ID",
         "dataset to validate on (early stopping, the classifier's threshold)"},
        {"test-dataset", "ID", "dataset the finished model is evaluated on, never trained on"},
        {"base", "MODEL", "base model name or alias (default ethscan-base)"},
        {"suffix", "S", "suffix of the model name, up to 64 of [A-Za-z0-9-_] (default custom)"},
        {"backend", "B", "local (default) or openai"},
        {"epochs", "N", "epochs of 50 boosting rounds, each ending with a checkpoint, 1 to 50"},
        {"learning-rate", "X", "shrinkage of each tree (XGBoost eta), in (0, 1]"},
        {"learning-rate-multiplier", "X",
         "multiplies the automatic learning rate (not with --learning-rate)"},
        {"batch-size", "N", "rows sampled for each tree, at least 1"},
        {"max-depth", "N", "depth of each tree, 1 to 32"},
        {"min-child-weight", "X", "least hessian weight in a leaf, at least 0"},
        {"colsample", "X", "share of the features sampled for each tree, in (0, 1]"},
        {"scale-pos-weight", "X", "weight of the flagged rows, above 0"},
        {"early-stopping-patience", "N",
         "rounds without a better validation loss before training stops, at least 1"},
        {"feature-set", "S",
         "all (default) or transaction (the 22 transaction features, no ERC-20 block)"},
        {"evaluate-other-feature-set", "",
         "also train on the other feature set, only to evaluate it on the same test side (the "
         "model card compares the two)"},
        {"seed", "N", "seed of every random choice (default 42)"},
        {"metadata", "KEY=VALUE",
         "a label of your own, up to 16 (repeatable; jobs list --metadata filters on it)", true},
        {"idempotency-key", "K",
         "makes the call safe to retry: the same key and request return the same job for 24 "
         "hours"},
        {"watch", "", "follow the job until it finishes"},
        watch_timeout}});
  c->push_back(
      {"jobs",
       "list",
       "",
       "list jobs, newest first",
       absl::StrCat("A queued job shows its place in line, a running one its step and "
                    "estimated finish. ",
                    admin_note),
       0,
       0,
       {{"status", "S",
         "only jobs in this status: validating_files, queued, running, succeeded, "
         "failed or cancelled"},
        {"metadata", "KEY=VALUE", "only jobs with this label (repeatable: all of them)", true},
        {"after", "ID", "only jobs older than this one (paging)"},
        {"limit", "N", "at most N jobs (1 to 1000; default all)"}}});
  c->push_back({"jobs",
                "show",
                "ID",
                "show one job",
                absl::StrCat("Prints the job's datasets, the hyperparameters asked for, the "
                             "training step reached and, once training ran, the hyperparameters "
                             "it used. ",
                             admin_note),
                1,
                1,
                {}});
  c->push_back({"jobs", "events", "ID", "list a job's events, oldest first", admin_note, 1, 1, {}});
  c->push_back({"jobs",
                "watch",
                "ID",
                "follow a job's events until it finishes",
                "The exit status is 0 only if the job succeeded. --after resumes a watch that "
                "broke off: give the id of the last event received (jobs events --json shows "
                "ids) and only later events are printed.",
                1,
                1,
                {watch_timeout, {"after", "EVENT-ID", "only events after this one"}}});
  c->push_back({"jobs",
                "checkpoints",
                "ID",
                "list a job's checkpoints",
                absl::StrCat("One checkpoint per epoch, the last three kept: the step (boosting "
                             "round), the model name it can be used as (ethscan predict --model, "
                             "ethscan models show) and its training and validation loss. ",
                             admin_note),
                1,
                1,
                {}});
  c->push_back(
      {"jobs", "cancel", "ID", "cancel a job that has not finished", admin_note, 1, 1, {}});
  c->push_back({"jobs",
                "dead-letters",
                "",
                "list the jobs that failed for good, newest first",
                absl::StrCat("A job fails for good after its last attempt, or at once for an error "
                             "no retry can mend; the dead-letter stream keeps it with its error "
                             "and the attempts made. ",
                             admin_note),
                0,
                0,
                {{"limit", "N", "at most N entries (1 to 1000; default 100)"}}});
}

void AddModelCommands(std::vector<CommandSpec>* c) {
  c->push_back({"models",
                "list",
                "",
                "list published models, newest first",
                "The model registry is served by the training service (--training-service).",
                0,
                0,
                {}});
  c->push_back({"models",
                "show",
                "NAME",
                "show one model's card by name or alias",
                "Prints the registry's fields and the model card (ethscan.model.v1.Manifest): "
                "kinds, artefacts with size and SHA-256, the feature schema and set, the "
                "datasets with their roles, the hyperparameters and metrics of the training, the "
                "classifier's validation and test evaluation side by side (rows, positives, "
                "threshold, accuracy, precision, recall, F1, ROC-AUC, PR-AUC, Brier, log loss, "
                "TP / FP / TN / FN) and how the held-out sides were chosen.",
                1,
                1,
                {}});
  c->push_back({"models",
                "results",
                "NAME",
                "write a model's training results (CSV per round)",
                "Downloads the model (ModelRegistryService.DownloadModel), checks its SHA-256 and "
                "package, and writes its \"results\" artefact, "
                "`step,train_loss,train_accuracy,valid_loss,valid_accuracy`, to -o FILE (through a "
                "temporary file renamed at the end) or stdout. A model without a classifier has "
                "none. With --json, stdout carries the model's metadata and -o is required.",
                1,
                1,
                {{"output", "FILE", "file to write (default: stdout)", false, "o"}}});
  c->push_back(
      {"models",
       "compare",
       "A B",
       "compare two models' classifiers on a test dataset",
       "Reads the dataset's records (DatasetService.ReadRecords, --dataset-service), keeps those "
       "with behavioural features and a flagged or not-flagged label, each address once (its "
       "first record, as a job's test side counts it), scores each on both models "
       "through InferenceService.BatchPredict (--inference) and prints side by side: rows, "
       "threshold (each model's own), accuracy, precision, recall, F1, ROC-AUC, PR-AUC, Brier, "
       "log loss and the confusion matrix, then how many rows the two flag differently and the "
       "first 10 of them (address, label, both scores). --json prints one "
       "ethscan.model.v1.Evaluation per model, A first; its source names the dataset and the "
       "model. The deadline is --timeout per 4,096 records.",
       2,
       2,
       {{"dataset", "TEST_DATASET_ID", "dataset to evaluate on (required)"}}});
  c->push_back({"models",
                "alias",
                "ALIAS MODEL",
                "point an alias (e.g. production) at a model, move it back, or remove it",
                "ALIAS is 1 to 64 characters of a-z, 0-9, '_' and '-', starting with a letter or "
                "digit. It cannot be ethscan-base or a model's name (model names start with ft:), "
                "so an alias never hides a model. An alias remembers the models it pointed at "
                "before: --rollback moves it back to the previous one, --history lists them.",
                1,
                2,
                {{"rollback", "", "point ALIAS back at the model it pointed at before"},
                 {"history", "", "show where ALIAS points and where it pointed before"},
                 {"delete", "", "remove ALIAS (its history stays)"}}});
  c->push_back({"models",
                "delete",
                "NAME",
                "delete a model",
                "Refused while an alias points at the model or an unfinished job continues it.",
                1,
                1,
                {}});
  c->push_back({"models",
                "prune",
                "",
                "delete old models: keep the newest per suffix and what is in use",
                "Of each suffix's models (ft:BASE:SUFFIX:JOB) the newest --keep stay, and so does "
                "every model an alias points at or an unfinished job continues; the others are "
                "deleted with their files and checkpoints.",
                0,
                0,
                {{"keep", "N", "models kept per suffix (default 3)"},
                 {"dry-run", "", "only list what would be deleted"}}});
}

void AddPredictAndHealthCommands(std::vector<CommandSpec>* c) {
  c->push_back(
      {"predict",
       "",
       "",
       "behavioural scores for a feature file",
       "Reads a CSV in the Kaggle column layout (kaggle_fraud/transaction_dataset.csv, "
       "etherscan_phish_features/address_data_e.csv): the Address column, and every column "
       "that is a numeric feature of ethscan.features.v1 (Kaggle or canonical names); FLAG, "
       "Index, unnamed index columns and the token-name text columns are ignored, other "
       "columns are named in a warning. A canonical export (ethscan datasets export --format "
       "csv) reads too: its feature: columns are the features. An empty cell is a missing "
       "feature, never 0. The rows "
       "stream through InferenceService.BatchPredict (--inference) with at most 256 "
       "unanswered, so a file of any size takes one call. A row with an invalid address, a "
       "cell that is not a finite number or no feature value is reported on stderr with its "
       "line (the first 20, then a count) and skipped.\n\n"
       "SCORES.csv gets one line per scored row, `address,score,label`: the address in "
       "lowercase, the probability that it is flagged malicious, and the model's label at its "
       "threshold: when flagged, the label its flagged training rows carry (\"Phish / Hack\", "
       "\"Scam\"), else \"Unknown\", never \"Legit\". It is written through a "
       "temporary file renamed at the end, so a failed run leaves none. A model without a "
       "behavioural classifier is an error. The summary (rows scored, flagged, skipped) goes "
       "to stderr; --json prints each PredictResponse instead. The stream's deadline is "
       "--timeout per MiB of input.",
       0,
       0,
       {{"model", "M", "model name or alias (default: alias production, else the newest)"},
        {"input", "FEATURES.csv", "feature file (required)"},
        {"output", "SCORES.csv", "file to write (required)", false, "o"}}});
  c->push_back({"health",
                "",
                "HOST:PORT",
                "check a server's grpc.health.v1 status",
                "Exit status 0 when the server reports SERVING.",
                1,
                1,
                {{"service", "NAME",
                  "service name to ask about: a service's full name is its readiness (default: "
                  "\"\", liveness)"}},
                /*hidden=*/true});
}

// Every command, in usage order.
std::vector<CommandSpec> BuildCommands() {
  std::vector<CommandSpec> c;
  AddScanCommand(&c);
  AddDatasetCommands(&c);
  AddJobCommands(&c);
  AddModelCommands(&c);
  AddPredictAndHealthCommands(&c);
  return c;
}

bool IsGroup(absl::string_view word) {
  for (const CommandSpec& c : Commands()) {
    if (c.group == word) return true;
  }
  return false;
}

bool IsGroupWithSubcommands(absl::string_view group) {
  for (const CommandSpec& c : Commands()) {
    if (c.group == group && !c.name.empty()) return true;
  }
  return false;
}

// Finds a flag by its name or, when `single_dash`, also by its one-letter alias.
const FlagSpec* FindFlag(const std::vector<FlagSpec>& flags, absl::string_view name,
                         bool single_dash = false) {
  for (const FlagSpec& f : flags) {
    if (f.name == name || (single_dash && !f.short_name.empty() && f.short_name == name)) {
      return &f;
    }
  }
  return nullptr;
}

// Width that usage text is wrapped to.
constexpr size_t kUsageWidth = 100;

// Wraps `text` at spaces so that, with `indent` spaces before every line but the first (which
// starts `first_column` characters in), no line is longer than kUsageWidth. Newlines in `text`
// are kept. Ends without a newline.
std::string Wrap(absl::string_view text, size_t first_column, size_t indent) {
  std::string out;
  size_t column = first_column;
  bool line_start = true;
  for (absl::string_view paragraph : absl::StrSplit(text, '\n')) {
    if (!line_start || !out.empty()) {
      absl::StrAppend(&out, "\n", std::string(indent, ' '));
      column = indent;
      line_start = true;
    }
    for (absl::string_view word : absl::StrSplit(paragraph, ' ', absl::SkipEmpty())) {
      if (!line_start && column + 1 + word.size() > kUsageWidth) {
        absl::StrAppend(&out, "\n", std::string(indent, ' '));
        column = indent;
        line_start = true;
      }
      if (!line_start) {
        out.push_back(' ');
        ++column;
      }
      absl::StrAppend(&out, word);
      column += word.size();
      line_start = false;
    }
  }
  return out;
}

std::string FlagsUsage(const std::vector<FlagSpec>& flags) {
  std::vector<std::pair<std::string, std::string>> rows;
  size_t width = 0;
  for (const FlagSpec& f : flags) {
    std::string left = absl::StrCat(
        "  ", f.short_name.empty() ? "" : absl::StrCat("-", f.short_name, ", "), "--", f.name);
    if (!f.value_name.empty()) absl::StrAppend(&left, " ", f.value_name);
    width = std::max(width, left.size());
    rows.emplace_back(std::move(left), f.help);
  }
  std::string out;
  for (auto& [left, help] : rows) {
    absl::StrAppend(&out, left, std::string(width + 2 - left.size(), ' '),
                    Wrap(help, width + 2, width + 2), "\n");
  }
  return out;
}

absl::Status UsageError(absl::string_view message, absl::string_view help_command) {
  return absl::InvalidArgumentError(absl::StrCat(message, "\nRun 'ethscan ", help_command,
                                                 help_command.empty() ? "" : " ",
                                                 "--help' for usage."));
}

// Splits "--name=value" into name and value; `has_value` tells whether "=" was present.
void SplitFlag(absl::string_view arg, std::string* name, std::string* value, bool* has_value) {
  absl::string_view body = arg.substr(arg.size() > 1 && arg[1] == '-' ? 2 : 1);
  size_t eq = body.find('=');
  *has_value = eq != absl::string_view::npos;
  *name = std::string{body.substr(0, eq)};
  *value = *has_value ? std::string{body.substr(eq + 1)} : "";
}

struct RawGlobals {
  std::string gateway, dataset_service, training_service, inference, timeout;
  bool json = false;
};

// Parses one flag at args[*i] against `global` and (if not null) `command` specs. Advances *i
// past the flag and its value.
absl::Status ConsumeFlag(const std::vector<std::string>& args, size_t* i,
                         const CommandSpec* command, RawGlobals* globals, Invocation* inv,
                         absl::string_view help_command) {
  std::string name, value;
  bool has_value = false;
  SplitFlag(args[*i], &name, &value, &has_value);
  const bool single_dash = args[*i][1] != '-';
  const FlagSpec* spec = FindFlag(GlobalFlags(), name, single_dash);
  bool global = spec != nullptr;
  if (spec == nullptr && command != nullptr) spec = FindFlag(command->flags, name, single_dash);
  if (spec == nullptr) {
    return UsageError(absl::StrCat("unknown flag \"", args[*i], "\""), help_command);
  }
  name = spec->name;
  ++*i;
  if (spec->value_name.empty()) {
    if (has_value && value != "true" && value != "false") {
      return UsageError(absl::StrCat("flag --", name, " takes no value (or =true, =false)"),
                        help_command);
    }
    if (!has_value) value = "true";
  } else if (!has_value) {
    if (*i >= args.size()) {
      return UsageError(absl::StrCat("flag --", name, " needs a value ", spec->value_name),
                        help_command);
    }
    value = args[(*i)++];
  }
  if (global) {
    if (name == "gateway") globals->gateway = value;
    if (name == "dataset-service") globals->dataset_service = value;
    if (name == "training-service") globals->training_service = value;
    if (name == "inference") globals->inference = value;
    if (name == "timeout") globals->timeout = value;
    if (name == "json") globals->json = value == "true";
    return absl::OkStatus();
  }
  std::vector<std::string>& values = inv->flags[name];
  if (!spec->repeated && !values.empty()) {
    return UsageError(absl::StrCat("flag --", name, " given more than once"), help_command);
  }
  values.push_back(std::move(value));
  return absl::OkStatus();
}

absl::Status ResolveGlobals(const RawGlobals& raw, const EnvLookup& env, GlobalOptions* out) {
  auto pick = [&env](const std::string& flag, absl::string_view var, int port) {
    if (!flag.empty()) return flag;
    std::string from_env = env(var);
    if (!from_env.empty()) return from_env;
    return absl::StrCat("localhost:", port);
  };
  out->gateway = pick(raw.gateway, "ETHSCAN_GATEWAY_ADDR", config::kGatewayPort);
  out->dataset_service = pick(raw.dataset_service, "ETHSCAN_DATASET_ADDR", config::kDatasetPort);
  out->training_service =
      pick(raw.training_service, "ETHSCAN_TRAINING_ADDR", config::kTrainingPort);
  out->inference = pick(raw.inference, "ETHSCAN_INFERENCE_ADDR", config::kInferencePort);
  for (const auto& [what, target] :
       {std::pair<const char*, std::string*>{"--gateway", &out->gateway},
        {"--dataset-service", &out->dataset_service},
        {"--training-service", &out->training_service},
        {"--inference", &out->inference}}) {
    absl::Status s = config::ValidateHostPort(*target, what);
    if (!s.ok()) return UsageError(s.message(), "");
  }
  out->json = raw.json;
  if (!raw.timeout.empty()) {
    absl::StatusOr<absl::Duration> d = config::ParseDurationFlag(raw.timeout, "--timeout");
    if (!d.ok()) return UsageError(d.status().message(), "");
    if (*d <= absl::ZeroDuration()) return UsageError("--timeout must be positive", "");
    out->timeout = *d;
  }
  out->api_key = env("ETHSCAN_API_KEY");
  return absl::OkStatus();
}

bool IsFlag(const std::string& arg) { return arg.size() > 1 && arg[0] == '-'; }
bool IsHelpFlag(const std::string& arg) { return arg == "--help" || arg == "-h"; }

// Help for `words` (as after `ethscan help`): top level, a group, or a command.
absl::StatusOr<std::string> HelpFor(const std::vector<std::string>& words) {
  if (words.empty()) return TopLevelUsage();
  if (!IsGroup(words[0])) {
    return UsageError(absl::StrCat("unknown command \"", words[0], "\""), "");
  }
  if (!IsGroupWithSubcommands(words[0])) return CommandUsage(*FindCommand(words[0], ""));
  if (words.size() == 1) return GroupUsage(words[0]);
  const CommandSpec* c = FindCommand(words[0], words[1]);
  if (c == nullptr) {
    return UsageError(absl::StrCat("unknown command \"", words[0], " ", words[1], "\""), words[0]);
  }
  return CommandUsage(*c);
}

}  // namespace

std::string CommandSpec::FullName() const {
  return name.empty() ? group : absl::StrCat(group, " ", name);
}

const std::vector<CommandSpec>& Commands() {
  static const auto* const kCommands = new std::vector<CommandSpec>(BuildCommands());
  return *kCommands;
}

const CommandSpec* FindCommand(absl::string_view group, absl::string_view name) {
  for (const CommandSpec& c : Commands()) {
    if (c.group == group && c.name == name) return &c;
  }
  return nullptr;
}

bool Invocation::Has(absl::string_view flag) const {
  auto it = flags.find(std::string{flag});
  if (it == flags.end() || it->second.empty()) return false;
  return it->second.back() != "false";
}

std::string Invocation::Get(absl::string_view flag, absl::string_view default_value) const {
  auto it = flags.find(std::string{flag});
  if (it == flags.end() || it->second.empty()) return std::string{default_value};
  return it->second.back();
}

std::vector<std::string> Invocation::GetAll(absl::string_view flag) const {
  auto it = flags.find(std::string{flag});
  if (it == flags.end()) return {};
  return it->second;
}

absl::StatusOr<Invocation> ParseCommandLine(const std::vector<std::string>& args,
                                            const EnvLookup& env) {
  Invocation inv;
  RawGlobals raw;
  size_t i = 0;
  // Global flags before the command.
  while (i < args.size() && IsFlag(args[i])) {
    if (IsHelpFlag(args[i])) {
      inv.help = true;
      inv.help_text = TopLevelUsage();
      return inv;
    }
    if (args[i] == "--") {
      ++i;
      break;
    }
    absl::Status s = ConsumeFlag(args, &i, nullptr, &raw, &inv, "");
    if (!s.ok()) return s;
  }
  if (i >= args.size()) {
    return absl::InvalidArgumentError(absl::StrCat("missing command\n\n", TopLevelUsage()));
  }
  const std::string& group = args[i++];
  if (group == "help") {
    std::vector<std::string> words(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    absl::StatusOr<std::string> text = HelpFor(words);
    if (!text.ok()) return text.status();
    inv.help = true;
    inv.help_text = *std::move(text);
    return inv;
  }
  if (!IsGroup(group)) {
    return UsageError(absl::StrCat("unknown command \"", group, "\""), "");
  }
  const CommandSpec* command = nullptr;
  if (IsGroupWithSubcommands(group)) {
    // Global flags may sit between the group and its subcommand.
    while (i < args.size() && IsFlag(args[i]) && !IsHelpFlag(args[i]) && args[i] != "--") {
      absl::Status s = ConsumeFlag(args, &i, nullptr, &raw, &inv, group);
      if (!s.ok()) return s;
    }
    if (i >= args.size() || IsHelpFlag(args[i])) {
      if (i < args.size()) {
        inv.help = true;
        inv.help_text = GroupUsage(group);
        return inv;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("missing ", group, " subcommand\n\n", GroupUsage(group)));
    }
    command = FindCommand(group, args[i]);
    if (command == nullptr) {
      return UsageError(absl::StrCat("unknown command \"", group, " ", args[i], "\""), group);
    }
    ++i;
  } else {
    command = FindCommand(group, "");
  }
  const std::string help_command = command->FullName();
  bool flags_done = false;
  while (i < args.size()) {
    const std::string& arg = args[i];
    if (!flags_done && arg == "--") {
      flags_done = true;
      ++i;
      continue;
    }
    if (!flags_done && IsHelpFlag(arg)) {
      inv.help = true;
      inv.help_text = CommandUsage(*command);
      return inv;
    }
    if (!flags_done && IsFlag(arg)) {
      absl::Status s = ConsumeFlag(args, &i, command, &raw, &inv, help_command);
      if (!s.ok()) return s;
      continue;
    }
    inv.args.push_back(arg);
    ++i;
  }
  const int n = static_cast<int>(inv.args.size());
  if (n < command->min_args) {
    return UsageError(
        absl::StrCat("ethscan ", help_command, ": missing argument ", command->args_usage),
        help_command);
  }
  if (command->max_args >= 0 && n > command->max_args) {
    return UsageError(absl::StrCat("ethscan ", help_command, ": unexpected argument \"",
                                   inv.args[static_cast<size_t>(command->max_args)], "\""),
                      help_command);
  }
  absl::Status s = ResolveGlobals(raw, env, &inv.globals);
  if (!s.ok()) return s;
  inv.command = command;
  return inv;
}

std::string TopLevelUsage() {
  std::string out =
      "ethscan: Ethereum address intelligence client\n\n"
      "Usage: ethscan [GLOBAL FLAGS] COMMAND [ARGS] [FLAGS]\n\nCommands:\n";
  size_t width = 0;
  for (const CommandSpec& c : Commands()) {
    if (!c.hidden) width = std::max(width, c.FullName().size() + 1 + c.args_usage.size());
  }
  for (const CommandSpec& c : Commands()) {
    if (c.hidden) continue;
    std::string left = c.FullName();
    if (!c.args_usage.empty()) absl::StrAppend(&left, " ", c.args_usage);
    absl::StrAppend(&out, "  ", left, std::string(width + 2 - left.size(), ' '), c.summary, "\n");
  }
  std::vector<FlagSpec> flags = GlobalFlags();
  flags.push_back({"help, -h", "", "show help (also: ethscan help COMMAND)"});
  absl::StrAppend(&out, "\nGlobal flags (anywhere on the line):\n", FlagsUsage(flags),
                  "\nEnvironment: ETHSCAN_API_KEY is sent as metadata x-api-key when set.\n",
                  "Exit status: 0 success, 1 a call or job failed, 2 usage error.\n");
  return out;
}

std::string GroupUsage(absl::string_view group) {
  std::string out = absl::StrCat("Usage: ethscan ", group, " SUBCOMMAND [ARGS] [FLAGS]\n\n");
  size_t width = 0;
  for (const CommandSpec& c : Commands()) {
    if (c.group == group) width = std::max(width, c.name.size() + 1 + c.args_usage.size());
  }
  for (const CommandSpec& c : Commands()) {
    if (c.group != group) continue;
    std::string left = c.name;
    if (!c.args_usage.empty()) absl::StrAppend(&left, " ", c.args_usage);
    absl::StrAppend(&out, "  ", left, std::string(width + 2 - left.size(), ' '), c.summary, "\n");
  }
  absl::StrAppend(&out, "\nRun 'ethscan ", group, " SUBCOMMAND --help' for details.\n");
  return out;
}

std::string CommandUsage(const CommandSpec& command) {
  std::string out = absl::StrCat("Usage: ethscan ", command.FullName());
  if (!command.args_usage.empty()) absl::StrAppend(&out, " ", command.args_usage);
  if (!command.flags.empty()) absl::StrAppend(&out, " [FLAGS]");
  absl::StrAppend(&out, "\n\n", command.summary, "\n");
  if (!command.details.empty()) absl::StrAppend(&out, "\n", Wrap(command.details, 0, 0), "\n");
  if (!command.flags.empty()) absl::StrAppend(&out, "\nFlags:\n", FlagsUsage(command.flags));
  absl::StrAppend(&out, "\nGlobal flags:\n", FlagsUsage(GlobalFlags()));
  return out;
}

}  // namespace ethscan::cli

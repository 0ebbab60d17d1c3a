// The `ethscan models …` commands: the registry's models (ModelRegistryService, served by the
// training service), their cards and results, and a comparison of two models on a test
// dataset through InferenceService.BatchPredict.
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/address.h"
#include "common/eth/hash.h"
#include "common/features/schema.h"
#include "common/features/vector.h"
#include "common/ml/classifier.h"
#include "common/model/evaluation.h"
#include "common/model/package.h"
#include "common/text/quote.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "tools/cli/atomic_file.h"
#include "tools/cli/batch_scorer.h"
#include "tools/cli/command_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/model_output.h"
#include "tools/cli/output.h"

namespace ethscan::cli {
namespace {

namespace trv1 = ::ethscan::training::v1;
namespace dsv1 = ::ethscan::dataset::v1;
namespace infv1 = ::ethscan::inference::v1;
using RegistryStub = trv1::ModelRegistryService::StubInterface;

// The model registry is served by the training service.
std::unique_ptr<RegistryStub> NewRegistryStub(const CommandContext& c) {
  return c.factory.NewModelRegistryStub(c.invocation.globals.training_service);
}
Endpoint Training(const CommandContext& c) { return TrainingEndpoint(c.invocation.globals); }

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

// Disagreements `models compare` lists.
constexpr size_t kListedDisagreements = 10;
// Records per --timeout of the comparison's deadline.
constexpr uint64_t kRecordsPerTimeout = 4096;

// ---------------------------------------------------------------------------------------------
// list, show, alias, delete

int ModelsList(const CommandContext& c) {
  return ListAndPrint(
      c, Training(c), *NewRegistryStub(c), &RegistryStub::ListModels, trv1::ListModelsRequest(),
      [](const trv1::ListModelsResponse& r) -> const auto& { return r.models(); },
      FormatModelTable);
}

int ModelsShow(const CommandContext& c) {
  trv1::GetModelRequest request;
  request.set_name(c.invocation.args[0]);
  return CallAndPrint(
      c, Training(c), *NewRegistryStub(c), &RegistryStub::GetModel, request,
      [&c](const trv1::GetModelResponse& r) { c.out << FormatModelCard(r.model()); });
}

int ModelsAlias(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  const int modes = (inv.Has("rollback") ? 1 : 0) + (inv.Has("delete") ? 1 : 0) +
                    (inv.Has("history") ? 1 : 0) + (inv.args.size() > 1 ? 1 : 0);
  if (modes != 1) {
    return UsageFailure(c,
                        "give ALIAS MODEL, or ALIAS with one of --rollback, --delete, --history");
  }
  if (inv.Has("delete")) {
    trv1::DeleteAliasRequest request;
    request.set_alias(inv.args[0]);
    return CallAndPrint(c, Training(c), *NewRegistryStub(c), &RegistryStub::DeleteAlias, request,
                        [&](const trv1::DeleteAliasResponse&) {
                          c.out << "Deleted alias " << inv.args[0] << "\n";
                        });
  }
  if (inv.Has("history")) {
    trv1::GetAliasRequest request;
    request.set_alias(inv.args[0]);
    return CallAndPrint(c, Training(c), *NewRegistryStub(c), &RegistryStub::GetAlias, request,
                        [&](const trv1::GetAliasResponse& r) {
                          c.out << "Alias " << inv.args[0] << " -> "
                                << (r.model().empty() ? "(not set)" : r.model()) << "\n";
                          for (const std::string& m : r.history())
                            c.out << "  before: " << m << "\n";
                        });
  }
  trv1::SetAliasRequest request;
  request.set_alias(inv.args[0]);
  if (inv.Has("rollback")) {
    request.set_rollback(true);
  } else {
    request.set_model(inv.args[1]);
  }
  return CallAndPrint(c, Training(c), *NewRegistryStub(c), &RegistryStub::SetAlias, request,
                      [&](const trv1::SetAliasResponse& r) {
                        c.out << "Alias " << inv.args[0] << " -> " << r.model().name() << "\n";
                      });
}

int ModelsDelete(const CommandContext& c) {
  trv1::DeleteModelRequest request;
  request.set_name(c.invocation.args[0]);
  return CallAndPrint(c, Training(c), *NewRegistryStub(c), &RegistryStub::DeleteModel, request,
                      [&c](const trv1::DeleteModelResponse&) {
                        c.out << "Deleted model " << c.invocation.args[0] << "\n";
                      });
}

int ModelsPrune(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  trv1::PruneModelsRequest request;
  if (inv.Has("keep")) {
    int keep = 0;
    if (!absl::SimpleAtoi(inv.Get("keep"), &keep) || keep < 1) {
      return UsageFailure(c, absl::StrCat("--keep \"", absl::CEscape(inv.Get("keep")),
                                          "\" must be a number of at least 1"));
    }
    request.set_keep(keep);
  }
  request.set_dry_run(inv.Has("dry-run"));
  return CallAndPrint(c, Training(c), *NewRegistryStub(c), &RegistryStub::PruneModels, request,
                      [&](const trv1::PruneModelsResponse& r) {
                        const bool dry = inv.Has("dry-run");
                        for (const trv1::Model& m : r.models()) {
                          c.out << (dry ? "Would delete " : "Deleted ") << m.name() << " ("
                                << m.size_bytes() << " bytes)\n";
                        }
                        c.out << (dry ? "Would free " : "Freed ") << r.bytes() << " bytes in "
                              << r.models_size() << " model(s)\n";
                      });
}

// ---------------------------------------------------------------------------------------------
// results

// Downloads a model's package: the first message's model into `model`, the chunks into
// `bytes`. A stream that does not start with the model is INTERNAL.
grpc::Status DownloadModel(const CommandContext& c, const std::string& name, trv1::Model* model,
                           std::string* bytes) {
  trv1::DownloadModelRequest request;
  request.set_name(name);
  grpc::ClientContext context;
  PrepareContext(&context, c.invocation.globals, c.invocation.globals.timeout);
  std::unique_ptr<RegistryStub> stub = NewRegistryStub(c);
  auto reader = stub->DownloadModel(&context, request);
  trv1::DownloadModelResponse response;
  bool first = true;
  bool well_formed = true;
  while (reader->Read(&response)) {
    if (first) {
      first = false;
      if (!response.has_model()) {
        well_formed = false;
        context.TryCancel();
        break;
      }
      *model = response.model();
      continue;
    }
    bytes->append(response.chunk());
  }
  grpc::Status status = reader->Finish();
  if (!well_formed) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "the download did not start with the model's metadata");
  }
  return status;
}

int ModelsResults(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  const std::string& name = inv.args[0];
  const std::string output = inv.Get("output") == "-" ? "" : inv.Get("output");
  if (inv.globals.json && output.empty()) {
    return UsageFailure(c,
                        "with --json stdout carries the model as JSON: give -o FILE for the CSV");
  }
  trv1::Model model;
  std::string bytes;
  grpc::Status status = DownloadModel(c, name, &model, &bytes);
  if (!status.ok()) return RpcFailure(c, status, Training(c));
  const std::string what =
      absl::StrCat("model ", text::Quote(model.name().empty() ? name : model.name()));
  if (!model.sha256().empty() && eth::Sha256::HexDigest(bytes) != model.sha256()) {
    return Failure(
        c, absl::StrCat(what, ": the downloaded bytes do not match its SHA-256 ", model.sha256()));
  }
  absl::StatusOr<model::v1::ModelPackage> package = model::ParsePackage(bytes, what);
  if (!package.ok()) return Failure(c, package.status().message());
  const model::v1::Artefact* results = model::FindArtefact(*package, model::kResultsKind);
  if (results == nullptr) {
    std::vector<std::string> kinds;
    for (const model::v1::Artefact& a : package->artefacts()) kinds.push_back(a.kind());
    return Failure(c, absl::StrCat(what, " has no results artefact (it has: ",
                                   kinds.empty() ? "none" : absl::StrJoin(kinds, ", "),
                                   "); a model without a classifier records no training rounds"));
  }
  if (output.empty()) {
    c.out << results->data();
    return kExitOk;
  }
  absl::StatusOr<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(output);
  if (!file.ok()) return Failure(c, file.status().message());
  (*file)->Append(results->data());
  absl::Status committed = (*file)->Commit();
  if (!committed.ok()) return Failure(c, committed.message());
  if (inv.globals.json) {
    PrintJson(c, model);
  } else {
    c.err << "Wrote the training results of " << what << " ("
          << FormatBytes(static_cast<double>(results->data().size())) << ") to " << output << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// compare

// The records of a dataset that can evaluate a classifier, as rows to score, read from
// DatasetService.ReadRecords on the scorer's writer thread. Each address counts once (its
// first record), as the trainer's test side counts it.
class RecordSource {
 public:
  RecordSource(const CommandContext& c, const std::string& id, absl::Duration timeout)
      : stub_(c.factory.NewDatasetStub(c.invocation.globals.dataset_service)) {
    dsv1::ReadRecordsRequest request;
    request.set_id(id);
    PrepareContext(&context_, c.invocation.globals, timeout);
    reader_ = stub_->ReadRecords(&context_, request);
  }

  // The next record with behavioural features and a flagged or not-flagged label.
  absl::StatusOr<std::optional<ScoringRow>> Next() {
    while (true) {
      while (index_ < batch_.records_size()) {
        const common::v1::AddressRecord& record = batch_.records(index_++);
        ++position_;
        std::optional<ScoringRow> row = ToRow(record);
        if (row.has_value()) return row;
      }
      if (finished_) return std::optional<ScoringRow>();
      index_ = 0;
      if (!reader_->Read(&batch_)) {
        batch_.Clear();
        finished_ = true;
        status_ = reader_->Finish();
        if (!status_.ok()) {
          return absl::Status(static_cast<absl::StatusCode>(status_.error_code()),
                              status_.error_message());
        }
      }
    }
  }

  // Ends the stream if it is still open (the comparison stopped early).
  void Close() {
    if (finished_) return;
    context_.TryCancel();
    finished_ = true;
    reader_->Finish();
  }

  // The status of ReadRecords once it finished.
  const grpc::Status& status() const { return status_; }
  // Records passed over: without features or a label that says something about being flagged
  // (or with an address the inference service would refuse), and those repeating an address.
  uint64_t skipped_without_target() const { return skipped_without_target_; }
  uint64_t skipped_repeats() const { return skipped_repeats_; }

 private:
  std::optional<ScoringRow> ToRow(const common::v1::AddressRecord& record) {
    const features::Target target = features::TargetOf(record);
    absl::StatusOr<eth::Address> address = eth::Address::Parse(record.address());
    if (target == features::Target::kNone || !address.ok()) {
      ++skipped_without_target_;
      return std::nullopt;
    }
    if (!seen_.insert(*address).second) {
      ++skipped_repeats_;
      return std::nullopt;
    }
    ScoringRow row;
    row.line = position_;
    row.address = address->ToChecksumHex();
    row.label = target == features::Target::kFlagged ? 1.0f : 0.0f;
    row.request.set_address(address->ToLowerHex());
    for (const common::v1::Feature& f : record.features()) {
      if (f.value_case() != common::v1::Feature::kNumber || !std::isfinite(f.number())) continue;
      std::optional<size_t> index = features::SchemaIndexOfColumn(f.name());
      if (!index.has_value()) continue;
      const features::FeatureDef& def = features::Schema()[*index];
      if (def.kind != features::Kind::kNumber) continue;
      (*row.request.mutable_features())[std::string{def.name}] = f.number();
    }
    return row;
  }

  std::unique_ptr<dsv1::DatasetService::StubInterface> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderInterface<dsv1::ReadRecordsResponse>> reader_;
  dsv1::ReadRecordsResponse batch_;
  int index_ = 0;
  uint64_t position_ = 0;
  uint64_t skipped_without_target_ = 0;
  uint64_t skipped_repeats_ = 0;
  absl::flat_hash_set<eth::Address> seen_;
  bool finished_ = false;
  grpc::Status status_;
};

// One row on which the two models' verdicts differ.
struct Disagreement {
  std::string address;
  float label = 0;
  double score_a = 0;
  double score_b = 0;
};

// What a comparison collects: the labels, each model's scores and threshold.
struct Comparison {
  std::vector<float> labels;
  std::vector<float> scores[2];
  double thresholds[2] = {0, 0};
  std::string feature_sets[2];
  uint64_t disagreement_count = 0;
  std::vector<Disagreement> disagreements;
};

int ModelsCompare(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  const std::vector<std::string> models = {inv.args[0], inv.args[1]};
  if (!inv.Has("dataset")) return UsageFailure(c, "--dataset TEST_DATASET_ID is required");
  const std::string id = inv.Get("dataset");

  dsv1::GetDatasetRequest get;
  get.set_id(id);
  dsv1::GetDatasetResponse dataset;
  auto dataset_stub = c.factory.NewDatasetStub(inv.globals.dataset_service);
  grpc::Status status =
      CallUnary(c, *dataset_stub, &dsv1::DatasetService::StubInterface::GetDataset, get, &dataset);
  if (!status.ok()) return RpcFailure(c, status, DatasetEndpoint(inv.globals));
  const std::string dataset_text =
      absl::StrCat(id, " (", text::Quote(dataset.dataset().name()), ")");

  BatchScorerOptions options;
  options.models = models;
  options.timeout = StreamTimeout(
      inv.globals.timeout,
      (dataset.dataset().record_count() + kRecordsPerTimeout - 1) / kRecordsPerTimeout);
  RecordSource records(c, id, options.timeout);
  Comparison comparison;
  const ScoringSink sink = [&](const ScoringRow& row,
                               const std::vector<infv1::PredictResponse>& responses) {
    for (size_t i = 0; i < 2; ++i) {
      if (!responses[i].has_behaviour()) {
        return absl::FailedPreconditionError(
            absl::StrCat("model ", models[i],
                         comparison.labels.empty()
                             ? " has no behavioural classifier, so it cannot be compared"
                             : absl::StrCat(" returned no behavioural score for ", row.address)));
      }
    }
    const infv1::BehaviouralScore& a = responses[0].behaviour();
    const infv1::BehaviouralScore& b = responses[1].behaviour();
    if (comparison.labels.empty()) {
      comparison.thresholds[0] = a.threshold();
      comparison.thresholds[1] = b.threshold();
      comparison.feature_sets[0] = a.feature_set();
      comparison.feature_sets[1] = b.feature_set();
    }
    comparison.labels.push_back(row.label);
    comparison.scores[0].push_back(static_cast<float>(a.score()));
    comparison.scores[1].push_back(static_cast<float>(b.score()));
    if (a.flagged() != b.flagged()) {
      ++comparison.disagreement_count;
      if (comparison.disagreements.size() < kListedDisagreements) {
        comparison.disagreements.push_back({row.address, row.label, a.score(), b.score()});
      }
    }
    return absl::OkStatus();
  };
  auto stub = c.factory.NewInferenceStub(inv.globals.inference);
  const BatchScorerResult result = ScoreRows(
      *stub, inv.globals, options, [&records] { return records.Next(); }, sink);
  records.Close();
  if (!result.source.ok()) {
    if (!records.status().ok()) {
      return RpcFailure(c, records.status(), DatasetEndpoint(inv.globals), options.timeout);
    }
    return Failure(c, result.source.message());
  }
  if (!result.sink.ok()) return Failure(c, result.sink.message());
  if (!result.rpc.ok()) {
    c.err << "ethscan models compare: scoring with model " << models[result.failed_model]
          << " failed\n";
    return RpcFailure(c, result.rpc, InferenceEndpoint(inv.globals), options.timeout);
  }
  if (comparison.labels.empty()) {
    return Failure(c, absl::StrCat("dataset ", dataset_text,
                                   " has no record with behavioural features and a flagged or "
                                   "not-flagged label (",
                                   records.skipped_without_target(), " records skipped)"));
  }

  size_t positives = 0;
  for (float label : comparison.labels) positives += label > 0.5f ? 1 : 0;
  model::v1::Evaluation evaluations[2];
  for (size_t i = 0; i < 2; ++i) {
    const ml::BinaryMetrics metrics =
        ml::Evaluate(comparison.labels, comparison.scores[i], comparison.thresholds[i]);
    evaluations[i] = model::ToEvaluation(
        metrics, "test", absl::StrCat("dataset ", dataset_text, ", scored by model ", models[i]),
        comparison.feature_sets[i], comparison.labels.size(), positives);
  }
  if (inv.globals.json) {
    for (const model::v1::Evaluation& e : evaluations) PrintJson(c, e);
    return kExitOk;
  }
  c.out << "Test dataset " << dataset_text << ": " << evaluations[0].rows() << " rows, "
        << evaluations[0].positives() << " flagged; skipped " << records.skipped_without_target()
        << " records without features or a flagged/not-flagged label and "
        << records.skipped_repeats() << " repeating an address\n"
        << FormatEvaluationTable(models, {&evaluations[0], &evaluations[1]}, "  ");
  if (comparison.feature_sets[0] == comparison.feature_sets[1]) {
    if (!comparison.feature_sets[0].empty()) {
      c.out << "  Feature set of both: " << comparison.feature_sets[0] << "\n";
    }
  } else {
    for (size_t i = 0; i < 2; ++i) {
      c.out << "  Feature set of " << models[i] << ": " << OrDash(comparison.feature_sets[i])
            << "\n";
    }
  }
  if (comparison.disagreement_count == 0) {
    c.out << "The models' verdicts agree on every row.\n";
    return kExitOk;
  }
  c.out << "Verdicts differ on " << comparison.disagreement_count << " rows";
  if (comparison.disagreement_count > comparison.disagreements.size()) {
    c.out << "; the first " << comparison.disagreements.size();
  }
  c.out << ":\n";
  std::vector<std::vector<std::string>> rows;
  for (const Disagreement& d : comparison.disagreements) {
    rows.push_back({d.address, d.label > 0.5f ? "flagged" : "not flagged", FormatRatio(d.score_a),
                    FormatRatio(d.score_b)});
  }
  c.out << FormatTable({"ADDRESS", "LABEL", "SCORE A", "SCORE B"}, rows);
  return kExitOk;
}

}  // namespace

int RunModels(const CommandContext& c) {
  return RunSubcommand(c, {{"list", ModelsList},
                           {"show", ModelsShow},
                           {"results", ModelsResults},
                           {"compare", ModelsCompare},
                           {"alias", ModelsAlias},
                           {"delete", ModelsDelete},
                           {"prune", ModelsPrune}});
}

}  // namespace ethscan::cli

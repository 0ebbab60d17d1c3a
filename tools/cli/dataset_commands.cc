// The `ethscan datasets …` commands over DatasetService.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/hash.h"
#include "common/report/labels.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "tools/cli/command_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/mapping_file.h"
#include "tools/cli/output.h"
#include "tools/cli/upload_progress.h"

namespace ethscan::cli {
namespace {

namespace dsv1 = ::ethscan::dataset::v1;
using Stub = dsv1::DatasetService::StubInterface;

// Size of each upload chunk.
constexpr size_t kChunkBytes = 1 << 20;
// How the issues of an upload or a validation are printed: grouped by kind, or every one with
// --all-issues.
IssueReportOptions IssueOptions(const CommandContext& c) {
  IssueReportOptions options;
  options.all_issues = c.invocation.Has("all-issues");
  return options;
}
// Conflicts `datasets merge` prints unless --show-conflicts says otherwise.
constexpr uint64_t kShownConflicts = 50;

std::unique_ptr<Stub> NewStub(const CommandContext& c) {
  return c.factory.NewDatasetStub(c.invocation.globals.dataset_service);
}

Endpoint Dataset(const CommandContext& c) { return DatasetEndpoint(c.invocation.globals); }

// ---------------------------------------------------------------------------------------------
// upload and validate

// The dataset name a file gets by default: its base name without extension, with characters
// outside [A-Za-z0-9._-] replaced by '_'.
std::string DefaultDatasetName(const std::string& path) {
  std::string name = std::filesystem::path(path).stem().string();
  for (char& ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    if (!ok) ch = '_';
  }
  if (name.size() > 128) name.resize(128);
  return name.empty() ? "dataset" : name;
}

// The format, column mapping, label and tags of an upload, from --format, --mapping, --label
// and --tag: a mapping implies csv_mapping and a label address_list, and each of those formats
// needs its own. Returns an empty string when they fit together, else the usage error.
std::string ResolveFormat(const CommandContext& c, dsv1::UploadMetadata* metadata) {
  const Invocation& inv = c.invocation;
  dsv1::DatasetFormat format = dsv1::DATASET_FORMAT_UNSPECIFIED;
  if (inv.Has("format")) {
    absl::StatusOr<dsv1::DatasetFormat> parsed = ParseDatasetFormat(inv.Get("format"));
    if (!parsed.ok()) return std::string{parsed.status().message()};
    format = *parsed;
  }
  if (format == dsv1::DATASET_FORMAT_MERGED) {
    return "format merged is made by 'ethscan datasets merge' and cannot be uploaded";
  }
  const bool mapping = inv.Has("mapping");
  const bool label = inv.Has("label");
  if (mapping && label) {
    return "--mapping (a CSV of your own) and --label (a plain address list) do not go together";
  }
  if (!inv.GetAll("tag").empty() && !label) {
    return "--tag goes with --label: both apply to every address of a plain address list";
  }
  if (mapping) {
    if (inv.Has("format") && format != dsv1::DATASET_FORMAT_CSV_MAPPING) {
      return absl::StrCat("--mapping implies --format csv_mapping, not --format ",
                          inv.Get("format"));
    }
    format = dsv1::DATASET_FORMAT_CSV_MAPPING;
  } else if (format == dsv1::DATASET_FORMAT_CSV_MAPPING) {
    return "--format csv_mapping needs --mapping FILE.json (how the columns map onto records)";
  }
  if (label) {
    if (inv.Has("format") && format != dsv1::DATASET_FORMAT_ADDRESS_LIST) {
      return absl::StrCat("--label implies --format address_list, not --format ",
                          inv.Get("format"));
    }
    format = dsv1::DATASET_FORMAT_ADDRESS_LIST;
    if (common::LabelSeverity(inv.Get("label")) < 0) {
      return absl::StrCat("--label \"", inv.Get("label"), "\" is not a report label; use one of: ",
                          absl::StrJoin(common::kReportLabels, ", "));
    }
    metadata->set_label(inv.Get("label"));
    for (const std::string& tag : inv.GetAll("tag")) metadata->add_tags(tag);
  } else if (format == dsv1::DATASET_FORMAT_ADDRESS_LIST) {
    return "--format address_list needs --label L (the report label of every address)";
  }
  metadata->set_format(format);
  return "";
}

// Builds the metadata message of an upload or validation from the command's flags. On a bad
// flag or mapping file prints the error, sets `*exit_code` and returns false.
bool BuildUploadMetadata(const CommandContext& c, dsv1::UploadMetadata* metadata, int* exit_code) {
  const Invocation& inv = c.invocation;
  const std::string& path = inv.args[0];
  metadata->set_name(inv.Has("name") ? inv.Get("name") : DefaultDatasetName(path));
  metadata->set_filename(std::filesystem::path(path).filename().string());
  const std::string format_error = ResolveFormat(c, metadata);
  if (!format_error.empty()) {
    *exit_code = UsageFailure(c, format_error);
    return false;
  }
  if (inv.Has("mapping")) {
    absl::StatusOr<dsv1::ColumnMapping> mapping = ReadColumnMappingFile(inv.Get("mapping"));
    if (!mapping.ok()) {
      *exit_code = Failure(c, mapping.status().message());
      return false;
    }
    *metadata->mutable_column_mapping() = *std::move(mapping);
  }
  uint64_t chain_id = 0;
  if (!ParseUint64Flag(c, "chain-id", 0, &chain_id, exit_code)) return false;
  metadata->set_chain_id(chain_id);
  double max_invalid = -1;
  if (!ParseDoubleFlag(c, "max-invalid-fraction", -1, &max_invalid, exit_code)) return false;
  if (inv.Has("max-invalid-fraction") && (max_invalid < 0 || max_invalid > 1)) {
    *exit_code = UsageFailure(c, "--max-invalid-fraction must be between 0 and 1");
    return false;
  }
  metadata->set_max_invalid_fraction(max_invalid);
  return true;
}

// Whether to draw the progress bar: --progress forces it, --no-progress forbids it, otherwise
// only when stderr is a terminal and the output is for people (not --json, which scripts
// read).
bool WantProgress(const CommandContext& c, bool* want, int* exit_code) {
  const Invocation& inv = c.invocation;
  if (inv.Has("progress") && inv.Has("no-progress")) {
    *exit_code = UsageFailure(c, "--progress and --no-progress contradict each other");
    return false;
  }
  *want =
      inv.Has("progress") || (!inv.Has("no-progress") && c.err_is_terminal && !inv.globals.json);
  return true;
}

// Sets the metadata's size_bytes and sha256 from the file's bytes and rewinds it, when it is a
// regular file (a pipe cannot be read twice and is sent without them). On a read error prints
// it, sets `*exit_code` and returns false.
bool DeclareFile(const CommandContext& c, const std::string& path, std::ifstream* file,
                 dsv1::UploadMetadata* metadata, int* exit_code) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return true;
  eth::Sha256 sha;
  uint64_t size = 0;
  std::string buffer(kChunkBytes, '\0');
  while (*file) {
    file->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = file->gcount();
    if (n <= 0) break;
    sha.Update(absl::string_view(buffer.data(), static_cast<size_t>(n)));
    size += static_cast<uint64_t>(n);
  }
  if (file->bad()) {
    *exit_code = Failure(c, absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    return false;
  }
  file->clear();
  file->seekg(0);
  if (!*file) {
    *exit_code = Failure(c, absl::StrCat("cannot read ", path, " again after hashing it"));
    return false;
  }
  metadata->set_size_bytes(size);
  metadata->set_sha256(sha.FinishHex());
  return true;
}

bool OpenInput(const CommandContext& c, const std::string& path, std::ifstream* file,
               int* exit_code) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    *exit_code = Failure(c, absl::StrCat("cannot read ", path, ": is a directory"));
    return false;
  }
  file->open(path, std::ios::binary);
  if (!file->is_open()) {
    *exit_code = Failure(c, absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    return false;
  }
  return true;
}

// Sends the command's file through the client stream that `open(&context, response)` starts
// (UploadDataset or ValidateDataset): the metadata first, then the file in 1 MiB chunks, with
// the progress bar when wanted. Returns kExitOk when the call succeeded and `*response` holds
// the answer; otherwise prints why and returns the exit status.
template <typename Response, typename Open>
int StreamUpload(const CommandContext& c, Open open, Response* response) {
  const Invocation& inv = c.invocation;
  const std::string& path = inv.args[0];
  int exit_code = kExitOk;
  dsv1::UploadMetadata metadata;
  bool want_progress = false;
  if (!BuildUploadMetadata(c, &metadata, &exit_code) ||
      !WantProgress(c, &want_progress, &exit_code)) {
    return exit_code;
  }
  std::ifstream file;
  if (!OpenInput(c, path, &file, &exit_code)) return exit_code;
  if (!DeclareFile(c, path, &file, &metadata, &exit_code)) return exit_code;
  std::error_code ec;
  const uintmax_t size =
      metadata.has_size_bytes() ? metadata.size_bytes() : std::filesystem::file_size(path, ec);
  std::optional<UploadProgress> progress;
  if (want_progress) progress.emplace(c.err, c.clock, ec ? 0 : static_cast<uint64_t>(size));

  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  auto writer = open(&context, response);
  dsv1::UploadDatasetRequest request;
  *request.mutable_metadata() = std::move(metadata);
  bool writing = writer->Write(request);
  std::string buffer(kChunkBytes, '\0');
  uint64_t sent = 0;
  while (writing && file) {
    file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = file.gcount();
    if (n <= 0) break;
    request.set_chunk(buffer.data(), static_cast<size_t>(n));
    writing = writer->Write(request);
    if (writing) sent += static_cast<uint64_t>(n);
    if (progress) progress->Update(sent);
  }
  std::string read_error;
  if (file.bad()) {
    read_error = std::strerror(errno);
    context.TryCancel();
  } else if (writing) {
    writer->WritesDone();
    if (progress) progress->AllSent();
  }
  grpc::Status status = writer->Finish();
  if (!read_error.empty() || !status.ok()) {
    if (progress) progress->Abort();
    if (!read_error.empty()) {
      return Failure(c, absl::StrCat("cannot read ", path, ": ", read_error));
    }
    return RpcFailure(c, status, Dataset(c));
  }
  if (progress) progress->Finish(response->dataset().record_count());
  return kExitOk;
}

int DatasetsUpload(const CommandContext& c) {
  std::unique_ptr<Stub> stub = NewStub(c);
  dsv1::UploadDatasetResponse response;
  const int exit_code = StreamUpload(
      c,
      [&stub](grpc::ClientContext* context, dsv1::UploadDatasetResponse* r) {
        return stub->UploadDataset(context, r);
      },
      &response);
  if (exit_code != kExitOk) return exit_code;
  if (c.invocation.globals.json) {
    PrintJson(c, response);
    return kExitOk;
  }
  c.out << "Uploaded " << c.invocation.args[0] << " as dataset " << response.dataset().id()
        << (response.already_existed() ? " (already stored; nothing new written)" : " (new)")
        << "\n"
        << FormatValidationReport(response.format_detection(), response.dataset(),
                                  response.issues(), response.issue_counts(), IssueOptions(c));
  return kExitOk;
}

int DatasetsValidate(const CommandContext& c) {
  std::unique_ptr<Stub> stub = NewStub(c);
  dsv1::ValidateDatasetResponse response;
  const int exit_code = StreamUpload(
      c,
      [&stub](grpc::ClientContext* context, dsv1::ValidateDatasetResponse* r) {
        return stub->ValidateDataset(context, r);
      },
      &response);
  if (exit_code != kExitOk) return exit_code;
  if (c.invocation.globals.json) {
    PrintJson(c, response);
  } else {
    const std::string& path = c.invocation.args[0];
    c.out << path
          << (response.valid() ? ": valid" : absl::StrCat(": rejected: ", response.rejection()))
          << "\n"
          << FormatValidationReport(response.format_detection(), response.dataset(),
                                    response.issues(), response.issue_counts(), IssueOptions(c));
  }
  return response.valid() ? kExitOk : kExitFailure;
}

// ---------------------------------------------------------------------------------------------
// list, show, stats, split

int DatasetsList(const CommandContext& c) {
  dsv1::ListDatasetsRequest request;
  request.set_name(c.invocation.Get("name"));
  return ListAndPrint(
      c, Dataset(c), *NewStub(c), &Stub::ListDatasets, request,
      [](const dsv1::ListDatasetsResponse& r) -> const auto& { return r.datasets(); },
      FormatDatasetTable);
}

int DatasetsShow(const CommandContext& c) {
  dsv1::GetDatasetRequest request;
  request.set_id(c.invocation.args[0]);
  return CallAndPrint(c, Dataset(c), *NewStub(c), &Stub::GetDataset, request,
                      [&c](const dsv1::GetDatasetResponse& r) {
                        c.out << "Dataset " << r.dataset().id() << "\n"
                              << FormatDataset(r.dataset());
                      });
}

int DatasetsStats(const CommandContext& c) {
  int exit_code = kExitOk;
  dsv1::GetDatasetStatsRequest request;
  request.set_id(c.invocation.args[0]);
  double price = 0;
  uint32_t max_tokens = 0;
  if (!ParseDoubleFlag(c, "price-per-million-tokens", 0, &price, &exit_code) ||
      !ParseUint32Flag(c, "max-example-tokens", 0, &max_tokens, &exit_code)) {
    return exit_code;
  }
  if (price < 0) return UsageFailure(c, "--price-per-million-tokens must not be negative");
  request.set_price_per_million_tokens(price);
  request.set_max_example_tokens(max_tokens);
  return CallAndPrint(
      c, Dataset(c), *NewStub(c), &Stub::GetDatasetStats, request,
      [&c](const dsv1::GetDatasetStatsResponse& r) { c.out << FormatDatasetStats(r); });
}

int DatasetsSplit(const CommandContext& c) {
  int exit_code = kExitOk;
  dsv1::SplitDatasetRequest request;
  request.set_id(c.invocation.args[0]);
  double train = 0, validation = 0, test = 0;
  uint64_t seed = 0;
  if (!ParseDoubleFlag(c, "train", 0.8, &train, &exit_code) ||
      !ParseDoubleFlag(c, "validation", 0.1, &validation, &exit_code) ||
      !ParseDoubleFlag(c, "test", 0.1, &test, &exit_code) ||
      !ParseUint64Flag(c, "seed", 42, &seed, &exit_code)) {
    return exit_code;
  }
  request.set_train_fraction(train);
  request.set_validation_fraction(validation);
  request.set_test_fraction(test);
  request.set_seed(seed);
  return CallAndPrint(c, Dataset(c), *NewStub(c), &Stub::SplitDataset, request,
                      [&c](const dsv1::SplitDatasetResponse& r) {
                        std::vector<std::vector<std::string>> rows;
                        for (const auto& [part, d] :
                             {std::pair<const char*, const dsv1::Dataset*>{"train", &r.train()},
                              {"validation", &r.validation()},
                              {"test", &r.test()}}) {
                          if (d->id().empty()) continue;  // a side with fraction 0 is not created
                          rows.push_back({part, d->id(), absl::StrCat(d->record_count()),
                                          absl::StrCat(d->address_count())});
                        }
                        c.out << FormatTable({"PART", "ID", "RECORDS", "ADDRESSES"}, rows);
                        if (r.already_existed())
                          c.out << "(the same split existed; nothing new written)\n";
                      });
}

// ---------------------------------------------------------------------------------------------
// merge, delete

int DatasetsMerge(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  int exit_code = kExitOk;
  if (!inv.Has("name")) return UsageFailure(c, "--name N is required (the merged dataset's name)");
  uint64_t shown = 0;
  if (!ParseUint64Flag(c, "show-conflicts", kShownConflicts, &shown, &exit_code)) {
    return exit_code;
  }
  dsv1::MergeDatasetsRequest request;
  for (const std::string& id : inv.args) request.add_ids(id);
  request.set_name(inv.Get("name"));
  return CallAndPrint(
      c, Dataset(c), *NewStub(c), &Stub::MergeDatasets, request,
      [&](const dsv1::MergeDatasetsResponse& r) {
        c.out << "Merged " << inv.args.size() << " datasets into " << r.dataset().id()
              << (r.already_existed() ? " (the same merge existed; nothing new written)" : " (new)")
              << "\n"
              << FormatDataset(r.dataset())
              << FormatMergeConflicts(r, static_cast<int>(std::min<uint64_t>(shown, 1 << 30)));
      });
}

int DatasetsDelete(const CommandContext& c) {
  const std::string& id = c.invocation.args[0];
  std::unique_ptr<Stub> stub = NewStub(c);
  dsv1::DeleteDatasetRequest request;
  request.set_id(id);
  dsv1::DeleteDatasetResponse response;
  grpc::Status status = CallUnary(c, *stub, &Stub::DeleteDataset, request, &response);
  if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    // The service names the holders in one line; list them one per line instead when the
    // dataset can be read, and fall back on the service's words otherwise.
    dsv1::GetDatasetRequest get;
    get.set_id(id);
    dsv1::GetDatasetResponse got;
    if (!CallUnary(c, *stub, &Stub::GetDataset, get, &got).ok() ||
        got.dataset().referenced_by().empty()) {
      return RpcFailure(c, status, Dataset(c));
    }
    c.err << "ethscan " << c.invocation.command->FullName() << ": FAILED_PRECONDITION: dataset "
          << id << " is still referenced by:\n";
    for (const std::string& holder : got.dataset().referenced_by()) {
      c.err << "  " << holder << "\n";
    }
    c.err << "It can be deleted once no job or model references it and the datasets split or "
             "merged from it (dataset/ID) are deleted.\n";
    return kExitFailure;
  }
  if (!status.ok()) return RpcFailure(c, status, Dataset(c));
  if (c.invocation.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << "Deleted dataset " << id << " and its records.\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// export

// Writes the export to stdout or, through "<FILE>.partial" renamed at the end, to --output.
int DatasetsExport(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  int exit_code = kExitOk;
  dsv1::ExportDatasetRequest request;
  request.set_id(inv.args[0]);
  const std::string format = inv.Get("format", "chat");
  if (format == "chat" || format == "chat_jsonl") {
    request.set_format(dsv1::EXPORT_FORMAT_CHAT_JSONL);
  } else if (format == "csv") {
    request.set_format(dsv1::EXPORT_FORMAT_CSV);
  } else {
    return UsageFailure(c, absl::StrCat("--format \"", format, "\" must be chat or csv"));
  }
  uint32_t max_tokens = 0;
  if (!ParseUint32Flag(c, "max-example-tokens", 0, &max_tokens, &exit_code)) return exit_code;
  request.set_max_example_tokens(max_tokens);

  const std::string output = inv.Get("output") == "-" ? "" : inv.Get("output");
  const std::string partial = output.empty() ? "" : absl::StrCat(output, ".partial");
  std::ofstream file;
  if (!output.empty()) {
    file.open(partial, std::ios::binary | std::ios::trunc);
    if (!file.is_open()) {
      return Failure(c, absl::StrCat("cannot write ", partial, ": ", std::strerror(errno)));
    }
  }
  std::ostream& sink = output.empty() ? c.out : file;
  std::unique_ptr<Stub> stub = NewStub(c);
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  auto reader = stub->ExportDataset(&context, request);
  dsv1::ExportDatasetResponse response;
  uint64_t bytes = 0;
  while (reader->Read(&response) && sink) {
    sink.write(response.chunk().data(), static_cast<std::streamsize>(response.chunk().size()));
    bytes += response.chunk().size();
  }
  if (!sink) context.TryCancel();
  grpc::Status status = reader->Finish();
  sink.flush();
  bool written = static_cast<bool>(sink);
  if (!output.empty()) {
    file.close();
    written = written && !file.fail();
  }
  std::error_code ec;
  if (status.ok() && written && !output.empty()) std::filesystem::rename(partial, output, ec);
  if (!status.ok() || !written || ec) {
    std::error_code ignored;
    if (!output.empty()) std::filesystem::remove(partial, ignored);
    if (!status.ok()) return RpcFailure(c, status, Dataset(c));
    if (!written) {
      return Failure(c, absl::StrCat("cannot write ", output.empty() ? "stdout" : partial));
    }
    return Failure(c, absl::StrCat("cannot rename ", partial, " to ", output, ": ", ec.message()));
  }
  if (!output.empty()) {
    c.err << "Wrote " << FormatBytes(static_cast<double>(bytes)) << " to " << output << "\n";
  }
  return kExitOk;
}

}  // namespace

int RunDatasets(const CommandContext& c) {
  return RunSubcommand(c, {{"upload", DatasetsUpload},
                           {"validate", DatasetsValidate},
                           {"list", DatasetsList},
                           {"show", DatasetsShow},
                           {"stats", DatasetsStats},
                           {"split", DatasetsSplit},
                           {"merge", DatasetsMerge},
                           {"export", DatasetsExport},
                           {"delete", DatasetsDelete}});
}

}  // namespace ethscan::cli

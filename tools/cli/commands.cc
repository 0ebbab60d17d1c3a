#include "tools/cli/commands.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/grpc/channel.h"
#include "tools/cli/output.h"

namespace ethscan::cli {
namespace {

namespace dsv1 = ::ethscan::dataset::v1;
namespace trv1 = ::ethscan::training::v1;

// Size of each upload chunk.
constexpr size_t kChunkBytes = 1 << 20;
// Issues shown after an upload or a validation.
constexpr int kShownIssues = 20;
// Safety stop for paging loops against a misbehaving server.
constexpr int kMaxPages = 10000;
// Default deadline of a watch stream.
constexpr absl::Duration kDefaultWatchTimeout = absl::Hours(2);

// The service a command talks to, for error hints.
struct Endpoint {
  const char* what;  // "gateway", "dataset service", …
  const char* flag;  // "--gateway"
  const char* env;   // "ETHSCAN_GATEWAY_ADDR"
  std::string target;
};

Endpoint GatewayEndpoint(const GlobalOptions& g) {
  return {"gateway", "--gateway", "ETHSCAN_GATEWAY_ADDR", g.gateway};
}
Endpoint DatasetEndpoint(const GlobalOptions& g) {
  return {"dataset service", "--dataset-service", "ETHSCAN_DATASET_ADDR", g.dataset_service};
}
Endpoint TrainingEndpoint(const GlobalOptions& g) {
  return {"training service", "--training-service", "ETHSCAN_TRAINING_ADDR", g.training_service};
}

std::string CodeName(const grpc::Status& status) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
}

void PrintReachabilityHint(const CommandContext& c, const Endpoint& endpoint) {
  c.err << "ethscan: is the " << endpoint.what << " running at " << endpoint.target << "? (set "
        << endpoint.flag << " or " << endpoint.env << ")\n";
}

// Prints a failed call as "ethscan <command>: CODE: message" and returns kExitFailure.
int RpcFailure(const CommandContext& c, const grpc::Status& status, const Endpoint& endpoint) {
  c.err << "ethscan " << c.invocation.command->FullName() << ": " << CodeName(status) << ": "
        << status.error_message() << "\n";
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) PrintReachabilityHint(c, endpoint);
  return kExitFailure;
}

int UsageFailure(const CommandContext& c, absl::string_view message) {
  const std::string name = c.invocation.command->FullName();
  c.err << "ethscan " << name << ": " << message << "\nRun 'ethscan " << name
        << " --help' for usage.\n";
  return kExitUsage;
}

int Failure(const CommandContext& c, absl::string_view message) {
  c.err << "ethscan " << c.invocation.command->FullName() << ": " << message << "\n";
  return kExitFailure;
}

void PrintJson(const CommandContext& c, const google::protobuf::Message& message) {
  c.out << ToJsonLine(message) << "\n";
}

// Flag value parsers; on failure they print a usage error and return false.
bool ParseUint64Flag(const CommandContext& c, absl::string_view flag, uint64_t default_value,
                     uint64_t* out, int* exit_code) {
  *out = default_value;
  if (!c.invocation.Has(flag)) return true;
  const std::string text = c.invocation.Get(flag);
  if (!absl::SimpleAtoi(text, out)) {
    *exit_code =
        UsageFailure(c, absl::StrCat("--", flag, " \"", text, "\" is not a non-negative integer"));
    return false;
  }
  return true;
}

bool ParseDoubleFlag(const CommandContext& c, absl::string_view flag, double default_value,
                     double* out, int* exit_code) {
  *out = default_value;
  if (!c.invocation.Has(flag)) return true;
  const std::string text = c.invocation.Get(flag);
  if (!absl::SimpleAtod(text, out)) {
    *exit_code = UsageFailure(c, absl::StrCat("--", flag, " \"", text, "\" is not a number"));
    return false;
  }
  return true;
}

bool ParseWatchTimeout(const CommandContext& c, absl::Duration* out, int* exit_code) {
  *out = kDefaultWatchTimeout;
  if (!c.invocation.Has("watch-timeout")) return true;
  absl::StatusOr<absl::Duration> d =
      config::ParseDurationFlag(c.invocation.Get("watch-timeout"), "--watch-timeout");
  if (!d.ok() || *d <= absl::ZeroDuration()) {
    *exit_code = UsageFailure(
        c, d.ok() ? "--watch-timeout must be positive" : std::string{d.status().message()});
    return false;
  }
  *out = *d;
  return true;
}

// Calls `fetch(page_token, &next_page_token)` until the server returns no further token.
grpc::Status ForEachPage(
    const std::function<grpc::Status(const std::string&, std::string*)>& fetch) {
  std::string token;
  for (int page = 0; page < kMaxPages; ++page) {
    std::string next;
    grpc::Status status = fetch(token, &next);
    if (!status.ok() || next.empty() || next == token) return status;
    token = std::move(next);
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------------------------
// scan

int Scan(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  int exit_code = kExitOk;
  uint64_t chain_id = 0;
  if (!ParseUint64Flag(c, "chain-id", 0, &chain_id, &exit_code)) return exit_code;
  std::unique_ptr<gateway::v1::ScanService::StubInterface> stub =
      c.factory.NewScanStub(inv.globals.gateway);
  bool unreachable = false;
  bool printed = false;
  for (const std::string& address : inv.args) {
    gateway::v1::ScanAddressRequest request;
    request.set_address(address);
    request.set_chain_id(chain_id);
    request.set_model(inv.Get("model"));
    gateway::v1::AddressReport report;
    grpc::ClientContext context;
    PrepareContext(&context, inv.globals, inv.globals.timeout);
    grpc::Status status = stub->ScanAddress(&context, request, &report);
    if (!status.ok()) {
      c.err << address << ": " << CodeName(status) << ": " << status.error_message() << "\n";
      unreachable = unreachable || status.error_code() == grpc::StatusCode::UNAVAILABLE;
      exit_code = kExitFailure;
      continue;
    }
    if (inv.globals.json) {
      PrintJson(c, report);
    } else {
      if (printed) c.out << "\n";
      c.out << FormatReport(report);
    }
    c.out.flush();
    printed = true;
  }
  if (unreachable) PrintReachabilityHint(c, GatewayEndpoint(inv.globals));
  return exit_code;
}

// ---------------------------------------------------------------------------------------------
// datasets

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

// Builds the metadata message of an upload or validation from the command's flags.
bool BuildUploadMetadata(const CommandContext& c, dsv1::UploadMetadata* metadata, int* exit_code) {
  const Invocation& inv = c.invocation;
  const std::string& path = inv.args[0];
  metadata->set_name(inv.Has("name") ? inv.Get("name") : DefaultDatasetName(path));
  metadata->set_filename(std::filesystem::path(path).filename().string());
  if (inv.Has("format")) {
    absl::StatusOr<dsv1::DatasetFormat> format = ParseDatasetFormat(inv.Get("format"));
    if (!format.ok()) {
      *exit_code = UsageFailure(c, format.status().message());
      return false;
    }
    metadata->set_format(*format);
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

// Streams the metadata and then the file in 1 MiB chunks. Returns the call's status, or
// sets `read_error` when the file could not be read (the call is then cancelled).
grpc::Status StreamFile(grpc::ClientContext* context,
                        grpc::ClientWriterInterface<dsv1::UploadDatasetRequest>* writer,
                        const dsv1::UploadMetadata& metadata, std::ifstream& file,
                        std::string* read_error) {
  dsv1::UploadDatasetRequest request;
  *request.mutable_metadata() = metadata;
  bool open = writer->Write(request);
  std::string buffer(kChunkBytes, '\0');
  while (open && file) {
    file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = file.gcount();
    if (n <= 0) break;
    request.set_chunk(buffer.data(), static_cast<size_t>(n));
    open = writer->Write(request);
  }
  if (file.bad()) {
    *read_error = std::strerror(errno);
    context->TryCancel();
  }
  if (open) writer->WritesDone();
  return writer->Finish();
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

int DatasetsUpload(const CommandContext& c, const std::string& path, bool dry_run) {
  const Invocation& inv = c.invocation;
  int exit_code = kExitOk;
  dsv1::UploadMetadata metadata;
  if (!BuildUploadMetadata(c, &metadata, &exit_code)) return exit_code;
  std::ifstream file;
  if (!OpenInput(c, path, &file, &exit_code)) return exit_code;
  std::unique_ptr<dsv1::DatasetService::StubInterface> stub =
      c.factory.NewDatasetStub(inv.globals.dataset_service);
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  std::string read_error;
  if (!dry_run) {
    dsv1::UploadDatasetResponse response;
    auto writer = stub->UploadDataset(&context, &response);
    grpc::Status status = StreamFile(&context, writer.get(), metadata, file, &read_error);
    if (!read_error.empty()) {
      return Failure(c, absl::StrCat("cannot read ", path, ": ", read_error));
    }
    if (!status.ok()) return RpcFailure(c, status, DatasetEndpoint(inv.globals));
    if (inv.globals.json) {
      PrintJson(c, response);
      return kExitOk;
    }
    c.out << "Uploaded " << path << " as dataset " << response.dataset().id()
          << (response.already_existed() ? " (already stored; nothing new written)" : " (new)")
          << "\n";
    if (!response.format_detection().empty()) {
      c.out << "Format detection: " << response.format_detection() << "\n";
    }
    c.out << FormatDataset(response.dataset());
    if (!response.issues().empty()) {
      c.out << "Issues (" << response.issues_size() << " reported):\n"
            << FormatIssues(response.issues(), kShownIssues);
    }
    return kExitOk;
  }
  dsv1::ValidateDatasetResponse response;
  auto writer = stub->ValidateDataset(&context, &response);
  grpc::Status status = StreamFile(&context, writer.get(), metadata, file, &read_error);
  if (!read_error.empty()) return Failure(c, absl::StrCat("cannot read ", path, ": ", read_error));
  if (!status.ok()) return RpcFailure(c, status, DatasetEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    if (response.valid()) {
      c.out << path << ": valid\n";
    } else {
      c.out << path << ": rejected: " << response.rejection() << "\n";
    }
    if (!response.format_detection().empty()) {
      c.out << "Format detection: " << response.format_detection() << "\n";
    }
    c.out << FormatDataset(response.dataset());
    if (!response.issues().empty()) {
      c.out << "Issues (" << response.issues_size() << " reported):\n"
            << FormatIssues(response.issues(), kShownIssues);
    }
  }
  return response.valid() ? kExitOk : kExitFailure;
}

int DatasetsList(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewDatasetStub(inv.globals.dataset_service);
  std::vector<dsv1::Dataset> datasets;
  grpc::Status status = ForEachPage([&](const std::string& token, std::string* next) {
    dsv1::ListDatasetsRequest request;
    request.set_page_token(token);
    request.set_name(inv.Get("name"));
    dsv1::ListDatasetsResponse response;
    grpc::ClientContext context;
    PrepareContext(&context, inv.globals, inv.globals.timeout);
    grpc::Status s = stub->ListDatasets(&context, request, &response);
    if (!s.ok()) return s;
    if (inv.globals.json) PrintJson(c, response);
    datasets.insert(datasets.end(), response.datasets().begin(), response.datasets().end());
    *next = response.next_page_token();
    return s;
  });
  if (!status.ok()) return RpcFailure(c, status, DatasetEndpoint(inv.globals));
  if (!inv.globals.json) c.out << FormatDatasetTable(datasets);
  return kExitOk;
}

int DatasetsShow(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewDatasetStub(inv.globals.dataset_service);
  dsv1::GetDatasetRequest request;
  request.set_id(inv.args[0]);
  dsv1::GetDatasetResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->GetDataset(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, DatasetEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << "Dataset " << response.dataset().id() << "\n" << FormatDataset(response.dataset());
  }
  return kExitOk;
}

int DatasetsStats(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewDatasetStub(inv.globals.dataset_service);
  dsv1::GetDatasetStatsRequest request;
  request.set_id(inv.args[0]);
  dsv1::GetDatasetStatsResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->GetDatasetStats(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, DatasetEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << FormatDatasetStats(response);
  }
  return kExitOk;
}

int DatasetsSplit(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  int exit_code = kExitOk;
  dsv1::SplitDatasetRequest request;
  request.set_id(inv.args[0]);
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
  auto stub = c.factory.NewDatasetStub(inv.globals.dataset_service);
  dsv1::SplitDatasetResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->SplitDataset(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, DatasetEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
    return kExitOk;
  }
  c.out << FormatTable(
      {"PART", "ID", "RECORDS", "ADDRESSES"},
      {{"train", response.train().id(), absl::StrCat(response.train().record_count()),
        absl::StrCat(response.train().address_count())},
       {"validation", response.validation().id(),
        absl::StrCat(response.validation().record_count()),
        absl::StrCat(response.validation().address_count())},
       {"test", response.test().id(), absl::StrCat(response.test().record_count()),
        absl::StrCat(response.test().address_count())}});
  return kExitOk;
}

int DatasetsExport(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  const std::string output = inv.Get("output");
  std::ofstream file;
  if (!output.empty()) {
    file.open(output, std::ios::binary | std::ios::trunc);
    if (!file.is_open()) {
      return Failure(c, absl::StrCat("cannot write ", output, ": ", std::strerror(errno)));
    }
  }
  std::ostream& sink = output.empty() ? c.out : file;
  auto stub = c.factory.NewDatasetStub(inv.globals.dataset_service);
  dsv1::ExportDatasetRequest request;
  request.set_id(inv.args[0]);
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  auto reader = stub->ExportDataset(&context, request);
  dsv1::ExportDatasetResponse response;
  uint64_t bytes = 0;
  while (reader->Read(&response)) {
    sink.write(response.chunk().data(), static_cast<std::streamsize>(response.chunk().size()));
    bytes += response.chunk().size();
  }
  grpc::Status status = reader->Finish();
  sink.flush();
  if (!status.ok() || !sink) {
    if (!output.empty()) {
      file.close();
      std::remove(output.c_str());
    }
    if (!status.ok()) return RpcFailure(c, status, DatasetEndpoint(inv.globals));
    return Failure(c, absl::StrCat("cannot write ", output.empty() ? "stdout" : output));
  }
  if (!output.empty()) c.err << "Wrote " << bytes << " bytes to " << output << "\n";
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// jobs

bool IsFinished(trv1::JobStatus status) {
  return status == trv1::JOB_STATUS_SUCCEEDED || status == trv1::JOB_STATUS_FAILED ||
         status == trv1::JOB_STATUS_CANCELLED;
}

grpc::Status GetJob(const CommandContext& c, trv1::TrainingService::StubInterface* stub,
                    const std::string& id, trv1::Job* job) {
  trv1::GetJobRequest request;
  request.set_id(id);
  trv1::GetJobResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, c.invocation.globals, c.invocation.globals.timeout);
  grpc::Status status = stub->GetJob(&context, request, &response);
  if (status.ok()) *job = response.job();
  return status;
}

// Follows a job's events until it finishes. Exit status 0 only when it succeeded.
int WatchJob(const CommandContext& c, trv1::TrainingService::StubInterface* stub,
             const std::string& id, absl::Duration timeout) {
  const GlobalOptions& g = c.invocation.globals;
  trv1::WatchJobRequest request;
  request.set_id(id);
  grpc::ClientContext context;
  PrepareContext(&context, g, timeout);
  auto reader = stub->WatchJob(&context, request);
  trv1::WatchJobResponse response;
  trv1::Job job;
  bool have_job = false;
  while (reader->Read(&response)) {
    if (g.json) {
      PrintJson(c, response);
    } else if (response.has_event()) {
      c.out << FormatJobEvent(response.event()) << "\n";
    }
    c.out.flush();
    if (response.has_job()) {
      job = response.job();
      have_job = true;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(g));
  if (!have_job || !IsFinished(job.status())) {
    status = GetJob(c, stub, id, &job);
    if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(g));
  }
  switch (job.status()) {
    case trv1::JOB_STATUS_SUCCEEDED:
      if (!g.json) {
        c.out << "Job " << id << " succeeded.\nFine-tuned model: " << job.fine_tuned_model()
              << "\n";
      }
      return kExitOk;
    case trv1::JOB_STATUS_FAILED:
      return Failure(c, absl::StrCat("job ", id, " failed: ", job.error()));
    case trv1::JOB_STATUS_CANCELLED:
      return Failure(c, absl::StrCat("job ", id, " was cancelled"));
    default:
      return Failure(c, absl::StrCat("job ", id, " has not finished (", JobStatusName(job.status()),
                                     ") but its event stream ended"));
  }
}

int JobsCreate(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  int exit_code = kExitOk;
  if (!inv.Has("training-dataset")) return UsageFailure(c, "--training-dataset ID is required");
  trv1::CreateJobRequest request;
  request.set_training_dataset(inv.Get("training-dataset"));
  for (const std::string& id : inv.GetAll("extra-dataset")) request.add_extra_training_datasets(id);
  request.set_validation_dataset(inv.Get("validation-dataset"));
  request.set_base_model(inv.Get("base"));
  request.set_suffix(inv.Get("suffix"));
  const std::string backend = inv.Get("backend");
  if (!backend.empty() && backend != "local" && backend != "openai") {
    return UsageFailure(c, absl::StrCat("--backend \"", backend, "\" must be local or openai"));
  }
  request.set_backend(backend);
  uint64_t epochs = 0, seed = 0;
  double lr = 0;
  absl::Duration watch_timeout;
  if (!ParseUint64Flag(c, "epochs", 0, &epochs, &exit_code) ||
      !ParseDoubleFlag(c, "learning-rate-multiplier", 0, &lr, &exit_code) ||
      !ParseUint64Flag(c, "seed", 0, &seed, &exit_code) ||
      !ParseWatchTimeout(c, &watch_timeout, &exit_code)) {
    return exit_code;
  }
  if (epochs > 1000000) return UsageFailure(c, "--epochs is too large");
  request.mutable_hyperparameters()->set_n_epochs(static_cast<int32_t>(epochs));
  request.mutable_hyperparameters()->set_learning_rate_multiplier(lr);
  request.mutable_hyperparameters()->set_seed(seed);
  auto stub = c.factory.NewTrainingStub(inv.globals.training_service);
  trv1::CreateJobResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->CreateJob(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else if (inv.Has("watch")) {
    c.out << "Created job " << response.job().id() << " (" << JobStatusName(response.job().status())
          << ")\n";
  } else {
    c.out << FormatJob(response.job());
  }
  c.out.flush();
  if (!inv.Has("watch")) return kExitOk;
  return WatchJob(c, stub.get(), response.job().id(), watch_timeout);
}

int JobsList(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewTrainingStub(inv.globals.training_service);
  std::vector<trv1::Job> jobs;
  grpc::Status status = ForEachPage([&](const std::string& token, std::string* next) {
    trv1::ListJobsRequest request;
    request.set_page_token(token);
    trv1::ListJobsResponse response;
    grpc::ClientContext context;
    PrepareContext(&context, inv.globals, inv.globals.timeout);
    grpc::Status s = stub->ListJobs(&context, request, &response);
    if (!s.ok()) return s;
    if (inv.globals.json) PrintJson(c, response);
    jobs.insert(jobs.end(), response.jobs().begin(), response.jobs().end());
    *next = response.next_page_token();
    return s;
  });
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (!inv.globals.json) c.out << FormatJobTable(jobs);
  return kExitOk;
}

int JobsShow(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewTrainingStub(inv.globals.training_service);
  trv1::GetJobRequest request;
  request.set_id(inv.args[0]);
  trv1::GetJobResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->GetJob(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << FormatJob(response.job());
  }
  return kExitOk;
}

int JobsEvents(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewTrainingStub(inv.globals.training_service);
  trv1::ListJobEventsRequest request;
  request.set_id(inv.args[0]);
  trv1::ListJobEventsResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->ListJobEvents(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
    return kExitOk;
  }
  if (response.events().empty()) c.out << "(no events)\n";
  for (const trv1::JobEvent& event : response.events()) c.out << FormatJobEvent(event) << "\n";
  return kExitOk;
}

int JobsCheckpoints(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewTrainingStub(inv.globals.training_service);
  trv1::ListCheckpointsRequest request;
  request.set_id(inv.args[0]);
  trv1::ListCheckpointsResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->ListCheckpoints(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << FormatCheckpointTable({response.checkpoints().begin(), response.checkpoints().end()});
  }
  return kExitOk;
}

int JobsCancel(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewTrainingStub(inv.globals.training_service);
  trv1::CancelJobRequest request;
  request.set_id(inv.args[0]);
  trv1::CancelJobResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->CancelJob(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << FormatJob(response.job());
  }
  return kExitOk;
}

int JobsWatch(const CommandContext& c) {
  int exit_code = kExitOk;
  absl::Duration timeout;
  if (!ParseWatchTimeout(c, &timeout, &exit_code)) return exit_code;
  auto stub = c.factory.NewTrainingStub(c.invocation.globals.training_service);
  return WatchJob(c, stub.get(), c.invocation.args[0], timeout);
}

// ---------------------------------------------------------------------------------------------
// models

int ModelsList(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewModelRegistryStub(inv.globals.training_service);
  std::vector<trv1::Model> models;
  grpc::Status status = ForEachPage([&](const std::string& token, std::string* next) {
    trv1::ListModelsRequest request;
    request.set_page_token(token);
    trv1::ListModelsResponse response;
    grpc::ClientContext context;
    PrepareContext(&context, inv.globals, inv.globals.timeout);
    grpc::Status s = stub->ListModels(&context, request, &response);
    if (!s.ok()) return s;
    if (inv.globals.json) PrintJson(c, response);
    models.insert(models.end(), response.models().begin(), response.models().end());
    *next = response.next_page_token();
    return s;
  });
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (!inv.globals.json) c.out << FormatModelTable(models);
  return kExitOk;
}

int ModelsShow(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewModelRegistryStub(inv.globals.training_service);
  trv1::GetModelRequest request;
  request.set_name(inv.args[0]);
  trv1::GetModelResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->GetModel(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << FormatModel(response.model());
  }
  return kExitOk;
}

int ModelsAlias(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewModelRegistryStub(inv.globals.training_service);
  trv1::SetAliasRequest request;
  request.set_alias(inv.args[0]);
  request.set_model(inv.args[1]);
  trv1::SetAliasResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->SetAlias(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << "Alias " << inv.args[0] << " -> "
          << (response.model().name().empty() ? inv.args[1] : response.model().name()) << "\n";
  }
  return kExitOk;
}

int ModelsDelete(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  auto stub = c.factory.NewModelRegistryStub(inv.globals.training_service);
  trv1::DeleteModelRequest request;
  request.set_name(inv.args[0]);
  trv1::DeleteModelResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->DeleteModel(&context, request, &response);
  if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << "Deleted model " << inv.args[0] << "\n";
  }
  return kExitOk;
}

}  // namespace

void PrepareContext(grpc::ClientContext* context, const GlobalOptions& globals,
                    absl::Duration timeout) {
  common::SetDeadline(context, timeout);
  if (!globals.api_key.empty()) context->AddMetadata("x-api-key", globals.api_key);
}

int RunScan(const CommandContext& context) { return Scan(context); }

int RunDatasets(const CommandContext& c) {
  const std::string& name = c.invocation.command->name;
  if (name == "upload") return DatasetsUpload(c, c.invocation.args[0], /*dry_run=*/false);
  if (name == "validate") return DatasetsUpload(c, c.invocation.args[0], /*dry_run=*/true);
  if (name == "list") return DatasetsList(c);
  if (name == "show") return DatasetsShow(c);
  if (name == "stats") return DatasetsStats(c);
  if (name == "split") return DatasetsSplit(c);
  if (name == "export") return DatasetsExport(c);
  return UsageFailure(c, "unknown datasets command");
}

int RunJobs(const CommandContext& c) {
  const std::string& name = c.invocation.command->name;
  if (name == "create") return JobsCreate(c);
  if (name == "list") return JobsList(c);
  if (name == "show") return JobsShow(c);
  if (name == "events") return JobsEvents(c);
  if (name == "watch") return JobsWatch(c);
  if (name == "checkpoints") return JobsCheckpoints(c);
  if (name == "cancel") return JobsCancel(c);
  return UsageFailure(c, "unknown jobs command");
}

int RunModels(const CommandContext& c) {
  const std::string& name = c.invocation.command->name;
  if (name == "list") return ModelsList(c);
  if (name == "show") return ModelsShow(c);
  if (name == "alias") return ModelsAlias(c);
  if (name == "delete") return ModelsDelete(c);
  return UsageFailure(c, "unknown models command");
}

int RunHealth(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  const std::string& target = inv.args[0];
  absl::Status valid = config::ValidateHostPort(target, "health target");
  if (!valid.ok()) return UsageFailure(c, valid.message());
  auto stub = c.factory.NewHealthStub(target);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(inv.Get("service"));
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, inv.globals, inv.globals.timeout);
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    c.err << "ethscan health: " << target << ": " << CodeName(status) << ": "
          << status.error_message() << "\n";
    return kExitFailure;
  }
  if (inv.globals.json) {
    PrintJson(c, response);
  } else {
    c.out << target << ": "
          << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk
                                                                             : kExitFailure;
}

int RunPredict(const CommandContext& c) {
  c.err << "ethscan predict: batch scoring is not available yet\n";
  return kExitUsage;
}

int RunCommand(const CommandContext& c) {
  const std::string& group = c.invocation.command->group;
  if (group == "scan") return RunScan(c);
  if (group == "datasets") return RunDatasets(c);
  if (group == "jobs") return RunJobs(c);
  if (group == "models") return RunModels(c);
  if (group == "health") return RunHealth(c);
  if (group == "predict") return RunPredict(c);
  c.err << "ethscan: unknown command \"" << group << "\"\n";
  return kExitUsage;
}

}  // namespace ethscan::cli

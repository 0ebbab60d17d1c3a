#include "tools/cli/commands.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/grpc/channel.h"
#include "tools/cli/command_util.h"
#include "tools/cli/output.h"

namespace ethscan::cli {
namespace {

namespace trv1 = ::ethscan::training::v1;
using TrainingStub = trv1::TrainingService::StubInterface;

std::unique_ptr<TrainingStub> NewTrainingStub(const CommandContext& c) {
  return c.factory.NewTrainingStub(c.invocation.globals.training_service);
}
Endpoint Training(const CommandContext& c) { return TrainingEndpoint(c.invocation.globals); }

// Default deadline of a watch stream.
constexpr absl::Duration kDefaultWatchTimeout = absl::Hours(2);

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
    grpc::Status status = CallUnary(c, *stub, &gateway::v1::ScanService::StubInterface::ScanAddress,
                                    request, &report);
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
// jobs

bool IsFinished(trv1::JobStatus status) {
  return status == trv1::JOB_STATUS_SUCCEEDED || status == trv1::JOB_STATUS_FAILED ||
         status == trv1::JOB_STATUS_CANCELLED;
}

grpc::Status GetJob(const CommandContext& c, TrainingStub* stub, const std::string& id,
                    trv1::Job* job) {
  trv1::GetJobRequest request;
  request.set_id(id);
  trv1::GetJobResponse response;
  grpc::Status status = CallUnary(c, *stub, &TrainingStub::GetJob, request, &response);
  if (status.ok()) *job = response.job();
  return status;
}

// Follows a job's events until it finishes. Exit status 0 only when it succeeded.
int WatchJob(const CommandContext& c, TrainingStub* stub, const std::string& id,
             absl::Duration timeout, const std::string& after = "") {
  const GlobalOptions& g = c.invocation.globals;
  trv1::WatchJobRequest request;
  request.set_id(id);
  request.set_after(after);
  grpc::ClientContext context;
  PrepareContext(&context, g, timeout);
  auto reader = stub->WatchJob(&context, request);
  trv1::WatchJobResponse response;
  trv1::Job job;
  bool have_job = false;
  // One step line per epoch (50 rounds) or so: training reports every boosting round.
  WatchEventFilter filter;
  // On a terminal, a progress bar on stderr follows every step; it is erased before a line
  // is printed and redrawn after it.
  const bool bar = c.err_is_terminal && !g.json;
  std::string bar_line;
  absl::Time last_draw = absl::InfinitePast();
  auto erase_bar = [&] {
    if (!bar_line.empty()) c.err << "\r\x1b[K" << std::flush;
  };
  while (reader->Read(&response)) {
    if (g.json) {
      PrintJson(c, response);
    } else if (response.has_event()) {
      std::vector<std::string> lines = filter.Add(response.event());
      if (!lines.empty()) erase_bar();
      for (const std::string& line : lines) {
        c.out << WithEstimatedFinish(line, response.job()) << "\n";
      }
      c.out.flush();
      const auto& m = response.event().metrics();
      if (bar && m.count("step") > 0 && m.count("total_steps") > 0) {
        bar_line = TrainingBar(static_cast<int64_t>(m.at("step")),
                               static_cast<int64_t>(m.at("total_steps")), response.job());
        const absl::Time now = c.clock.Now();
        if (!lines.empty() || now - last_draw >= absl::Milliseconds(100)) {
          c.err << "\r" << bar_line << "\x1b[K" << std::flush;
          last_draw = now;
        }
      } else if (!lines.empty() && !bar_line.empty()) {
        c.err << "\r" << bar_line << "\x1b[K" << std::flush;
      }
    }
    c.out.flush();
    if (response.has_job()) {
      job = response.job();
      have_job = true;
    }
  }
  if (!g.json) {
    erase_bar();
    for (const std::string& line : filter.Finish()) c.out << line << "\n";
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

// Sets a proto3 optional integer field from an integer flag when the flag is given; a usage
// error above `max`.
template <typename T, typename Setter>
bool ParseIntegerField(const CommandContext& c, absl::string_view flag, uint64_t max, Setter set,
                       int* exit_code) {
  uint64_t value = 0;
  if (!ParseUint64Flag(c, flag, 0, &value, exit_code)) return false;
  if (!c.invocation.Has(flag)) return true;
  if (value > max) {
    *exit_code = UsageFailure(c, absl::StrCat("--", flag, " ", value, " is too large"));
    return false;
  }
  set(static_cast<T>(value));
  return true;
}

// Sets a proto3 optional double field from a number flag when the flag is given.
template <typename Setter>
bool ParseDoubleField(const CommandContext& c, absl::string_view flag, Setter set, int* exit_code) {
  double value = 0;
  if (!ParseDoubleFlag(c, flag, 0, &value, exit_code)) return false;
  if (c.invocation.Has(flag)) set(value);
  return true;
}

// The hyperparameters of `jobs create`: each field is set only when its flag is given, so the
// trainer chooses the others ("auto"). The service checks the ranges.
bool ParseHyperparameters(const CommandContext& c, trv1::Hyperparameters* h, int* exit_code) {
  constexpr uint64_t kInt32Max = std::numeric_limits<int32_t>::max();
  constexpr uint64_t kInt64Max = std::numeric_limits<int64_t>::max();
  const bool ok =
      ParseIntegerField<int32_t>(
          c, "epochs", kInt32Max, [h](int32_t v) { h->set_n_epochs(v); }, exit_code) &&
      ParseDoubleField(
          c, "learning-rate-multiplier", [h](double v) { h->set_learning_rate_multiplier(v); },
          exit_code) &&
      ParseIntegerField<uint64_t>(
          c, "seed", std::numeric_limits<uint64_t>::max(), [h](uint64_t v) { h->set_seed(v); },
          exit_code) &&
      ParseDoubleField(
          c, "learning-rate", [h](double v) { h->set_learning_rate(v); }, exit_code) &&
      ParseIntegerField<int64_t>(
          c, "batch-size", kInt64Max, [h](int64_t v) { h->set_batch_size(v); }, exit_code) &&
      ParseIntegerField<int32_t>(
          c, "max-depth", kInt32Max, [h](int32_t v) { h->set_max_depth(v); }, exit_code) &&
      ParseDoubleField(
          c, "min-child-weight", [h](double v) { h->set_min_child_weight(v); }, exit_code) &&
      ParseDoubleField(
          c, "colsample", [h](double v) { h->set_colsample(v); }, exit_code) &&
      ParseDoubleField(
          c, "scale-pos-weight", [h](double v) { h->set_scale_pos_weight(v); }, exit_code) &&
      ParseIntegerField<int32_t>(
          c, "early-stopping-patience", kInt32Max,
          [h](int32_t v) { h->set_early_stopping_patience(v); }, exit_code);
  if (!ok) return false;
  if (c.invocation.Has("feature-set")) {
    const std::string set = c.invocation.Get("feature-set");
    if (set != "all" && set != "transaction") {
      *exit_code =
          UsageFailure(c, absl::StrCat("--feature-set \"", set, "\" must be all or transaction"));
      return false;
    }
    h->set_feature_set(set);
  }
  if (c.invocation.Has("evaluate-other-feature-set")) h->set_evaluate_other_feature_set(true);
  return true;
}

// KEY=VALUE pairs of a repeatable flag into `out`; false (and the usage error) for one
// without '='.
bool ParseMetadata(const CommandContext& c, absl::string_view flag,
                   google::protobuf::Map<std::string, std::string>* out, int* exit_code) {
  for (const std::string& pair : c.invocation.GetAll(flag)) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      *exit_code = UsageFailure(
          c, absl::StrCat("--", flag, " \"", absl::CEscape(pair), "\" must be KEY=VALUE"));
      return false;
    }
    (*out)[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return true;
}

// --limit N of the listing commands, 1 to 1000 as the service takes it; 0 when not given.
bool ParseLimit(const CommandContext& c, int* limit, int* exit_code) {
  *limit = 0;
  if (!c.invocation.Has("limit")) return true;
  if (!absl::SimpleAtoi(c.invocation.Get("limit"), limit) || *limit < 1 || *limit > 1000) {
    *exit_code =
        UsageFailure(c, absl::StrCat("--limit \"", absl::CEscape(c.invocation.Get("limit")),
                                     "\" must be a number from 1 to 1000"));
    return false;
  }
  return true;
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
  request.set_test_dataset(inv.Get("test-dataset"));
  request.set_idempotency_key(inv.Get("idempotency-key"));
  absl::Duration watch_timeout;
  if (!ParseMetadata(c, "metadata", request.mutable_metadata(), &exit_code) ||
      !ParseHyperparameters(c, request.mutable_hyperparameters(), &exit_code) ||
      !ParseWatchTimeout(c, &watch_timeout, &exit_code)) {
    return exit_code;
  }
  auto stub = c.factory.NewTrainingStub(inv.globals.training_service);
  trv1::CreateJobResponse response;
  grpc::Status status = CallUnary(c, *stub, &TrainingStub::CreateJob, request, &response);
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
  if (!inv.Has("status") && !inv.Has("metadata") && !inv.Has("after") && !inv.Has("limit")) {
    return ListAndPrint(
        c, Training(c), *NewTrainingStub(c), &TrainingStub::ListJobs, trv1::ListJobsRequest(),
        [](const trv1::ListJobsResponse& r) -> const auto& { return r.jobs(); }, FormatJobTable);
  }
  int exit_code = kExitOk;
  trv1::ListJobsRequest request;
  if (inv.Has("status")) {
    trv1::JobStatus status = trv1::JOB_STATUS_UNSPECIFIED;
    const std::string name = absl::StrCat("JOB_STATUS_", absl::AsciiStrToUpper(inv.Get("status")));
    if (!trv1::JobStatus_Parse(name, &status) || status == trv1::JOB_STATUS_UNSPECIFIED) {
      return UsageFailure(c, absl::StrCat("--status \"", absl::CEscape(inv.Get("status")),
                                          "\" must be validating_files, queued, running, "
                                          "succeeded, failed or cancelled"));
    }
    request.set_status(status);
  }
  if (!ParseMetadata(c, "metadata", request.mutable_metadata(), &exit_code)) return exit_code;
  request.set_after(inv.Get("after"));
  int limit = 0;
  if (!ParseLimit(c, &limit, &exit_code)) return exit_code;
  // Without --limit every matching job, page by page.
  request.set_limit(limit == 0 ? 1000 : limit);
  auto stub = NewTrainingStub(c);
  std::vector<trv1::Job> jobs;
  while (true) {
    trv1::ListJobsResponse response;
    grpc::Status status = CallUnary(c, *stub, &TrainingStub::ListJobs, request, &response);
    if (!status.ok()) return RpcFailure(c, status, TrainingEndpoint(inv.globals));
    if (inv.globals.json) PrintJson(c, response);
    jobs.insert(jobs.end(), response.jobs().begin(), response.jobs().end());
    if (limit != 0 || !response.has_more() || response.jobs().empty()) break;
    request.set_after(response.jobs(response.jobs_size() - 1).id());
  }
  if (!inv.globals.json) c.out << FormatJobTable(jobs);
  c.out.flush();
  return kExitOk;
}

int JobsShow(const CommandContext& c) {
  trv1::GetJobRequest request;
  request.set_id(c.invocation.args[0]);
  return CallAndPrint(c, Training(c), *NewTrainingStub(c), &TrainingStub::GetJob, request,
                      [&c](const trv1::GetJobResponse& r) { c.out << FormatJob(r.job()); });
}

int JobsEvents(const CommandContext& c) {
  trv1::ListJobEventsRequest request;
  request.set_id(c.invocation.args[0]);
  return CallAndPrint(c, Training(c), *NewTrainingStub(c), &TrainingStub::ListJobEvents, request,
                      [&c](const trv1::ListJobEventsResponse& r) {
                        if (r.events().empty()) c.out << "(no events)\n";
                        for (const trv1::JobEvent& event : r.events()) {
                          c.out << FormatJobEvent(event) << "\n";
                        }
                      });
}

int JobsCheckpoints(const CommandContext& c) {
  trv1::ListCheckpointsRequest request;
  request.set_id(c.invocation.args[0]);
  return CallAndPrint(
      c, Training(c), *NewTrainingStub(c), &TrainingStub::ListCheckpoints, request,
      [&c](const trv1::ListCheckpointsResponse& r) {
        c.out << FormatCheckpointTable({r.checkpoints().begin(), r.checkpoints().end()});
      });
}

int JobsCancel(const CommandContext& c) {
  trv1::CancelJobRequest request;
  request.set_id(c.invocation.args[0]);
  return CallAndPrint(c, Training(c), *NewTrainingStub(c), &TrainingStub::CancelJob, request,
                      [&c](const trv1::CancelJobResponse& r) { c.out << FormatJob(r.job()); });
}

int JobsDeadLetters(const CommandContext& c) {
  trv1::ListDeadLettersRequest request;
  int limit = 0;
  int exit_code = kExitOk;
  if (!ParseLimit(c, &limit, &exit_code)) return exit_code;
  request.set_limit(limit);
  return CallAndPrint(
      c, Training(c), *NewTrainingStub(c), &TrainingStub::ListDeadLetters, request,
      [&c](const trv1::ListDeadLettersResponse& r) {
        c.out << FormatDeadLetterTable({r.dead_letters().begin(), r.dead_letters().end()});
        if (r.has_more()) c.out << "(more: raise --limit)\n";
      });
}

int JobsWatch(const CommandContext& c) {
  int exit_code = kExitOk;
  absl::Duration timeout;
  if (!ParseWatchTimeout(c, &timeout, &exit_code)) return exit_code;
  auto stub = c.factory.NewTrainingStub(c.invocation.globals.training_service);
  return WatchJob(c, stub.get(), c.invocation.args[0], timeout, c.invocation.Get("after"));
}

}  // namespace

void PrepareContext(grpc::ClientContext* context, const GlobalOptions& globals,
                    absl::Duration timeout) {
  common::SetDeadline(context, timeout);
  if (!globals.api_key.empty()) context->AddMetadata("x-api-key", globals.api_key);
}

int RunScan(const CommandContext& context) { return Scan(context); }

int RunJobs(const CommandContext& c) {
  return RunSubcommand(c, {{"create", JobsCreate},
                           {"list", JobsList},
                           {"show", JobsShow},
                           {"events", JobsEvents},
                           {"watch", JobsWatch},
                           {"checkpoints", JobsCheckpoints},
                           {"cancel", JobsCancel},
                           {"dead-letters", JobsDeadLetters}});
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
  grpc::Status status =
      CallUnary(c, *stub, &grpc::health::v1::Health::StubInterface::Check, request, &response);
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

// What the job integration tests share: a real redis-server, the dataset service, the
// training server and training workers as processes on free loopback ports, driven over real
// gRPC, with each process's log in the test's folder (kept when a test fails).
#ifndef ETHSCAN_TESTS_INTEGRATION_JOB_STACK_H_
#define ETHSCAN_TESTS_INTEGRATION_JOB_STACK_H_

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/channel.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "ethscan/training/v1/model_registry_service.grpc.pb.h"
#include "ethscan/training/v1/training_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/free_port.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::testing {

using training::v1::Job;
using training::v1::JobEvent;

// Entries of a crashed worker are claimed by another once pending this long (and a failed
// attempt whose retry could not be scheduled is retried after it).
constexpr int kClaimIdleSeconds = 3;

constexpr char kDatasetReadiness[] = "ethscan.dataset.v1.DatasetService";
constexpr char kTrainingReadiness[] = "ethscan.training.v1.TrainingService";
constexpr char kWorkerReadiness[] = "ethscan.training.v1.TrainingWorker";

// The Kaggle feature file (the behavioural classifier trains on it) and a small labelled list
// (the knowledge index only, so its jobs are quick), under the shared data folder.
constexpr char kKaggleFile[] = "kaggle_fraud/transaction_dataset.csv";
constexpr char kSmallFile[] = "mew_darklist/addresses_darklist.csv";

inline bool Finished(training::v1::JobStatus status) {
  return status == training::v1::JOB_STATUS_SUCCEEDED ||
         status == training::v1::JOB_STATUS_FAILED || status == training::v1::JOB_STATUS_CANCELLED;
}

// Polls `done` every 100 ms until it returns true or `timeout` passes; returns the last answer.
inline bool PollUntil(absl::Duration timeout, const std::function<bool()>& done) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

inline absl::Status FromGrpc(const grpc::Status& status, absl::string_view context) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(context, ": ", status.error_message()));
}

// The message events of a job, one a line (per-round metrics events left out), for failure
// messages.
inline std::string Describe(const std::vector<JobEvent>& events) {
  std::vector<std::string> lines;
  for (const JobEvent& e : events) {
    if (e.type() != "metrics") lines.push_back(absl::StrCat("  [", e.level(), "] ", e.message()));
  }
  return absl::StrJoin(lines, "\n");
}

inline std::string Describe(const Job& job) {
  return absl::StrCat("job ", job.id(), ": ", training::v1::JobStatus_Name(job.status()),
                      ", attempts ", job.attempts(), ", step ", job.step(), " of ",
                      job.total_steps(), job.error().empty() ? "" : ", error: ", job.error());
}

// The "attempt <n> of <m> started by worker <consumer>" events.
inline std::vector<std::string> AttemptStarts(const std::vector<JobEvent>& events) {
  std::vector<std::string> out;
  for (const JobEvent& e : events) {
    if (absl::StartsWith(e.message(), "attempt ") &&
        absl::StrContains(e.message(), " started by worker ")) {
      out.push_back(e.message());
    }
  }
  return out;
}

class JobStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    started_ = absl::Now();
    data_ = SharedDataDir();
    if (data_.empty()) {
      GTEST_SKIP() << "../shared/data not found beside the checkout (set ETHSCAN_SHARED_DATA): "
                      "these tests train on its Kaggle and MEW files";
    }
    dir_ = MakeTempDir("ethscan-jobs");
  }

  void TearDown() override {
    processes_.clear();  // SIGTERM, then SIGKILL after a grace period.
    redis_.reset();
    if (dir_.empty()) return;
    // A failed test keeps its processes' logs for a look; models and datasets always go.
    std::string cmd = HasFailure() ? absl::StrCat("rm -rf '", dir_, "/models' '", dir_, "/dataset'")
                                   : absl::StrCat("rm -rf '", dir_, "'");
    if (std::system(cmd.c_str()) != 0) {
    }
    if (HasFailure()) std::cerr << "logs of the failed test kept in " << dir_ << "\n";
  }

  // Redis, the dataset service and the training server; the workers each test starts itself.
  void StartStack(bool append_only, const std::map<std::string, std::string>& env = {}) {
    RedisServer::Options options;
    options.append_only = append_only;
    absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    ASSERT_OK(Start("dataset", {"ethscan_dataset", absl::StrCat("--data_dir=", dir_, "/dataset")}));
    ASSERT_OK(
        Start("training", {"ethscan_training", "--role=server", ModelsDir(), DatasetAddr()}, env));
  }

  absl::Status StartWorker(const std::string& name,
                           const std::map<std::string, std::string>& env = {}) {
    return Start(name,
                 {"ethscan_training", "--role=worker", ModelsDir(), DatasetAddr(),
                  absl::StrCat("--claim_idle=", kClaimIdleSeconds, "s")},
                 env);
  }

  // Starts `args` (a binary of the build tree and its flags) listening on a free port, with
  // its log in the test's folder, and waits until it answers health checks.
  absl::Status Start(const std::string& name, std::vector<std::string> args) {
    return Start(name, std::move(args), {});
  }
  // The same with `env` added to the process's environment.
  absl::Status Start(const std::string& name, std::vector<std::string> args,
                     const std::map<std::string, std::string>& env) {
    ports_[name] = PickFreePort();
    args.front() = absl::StrCat(BinaryDir(), "/", args.front());
    args.push_back(absl::StrCat("--listen=", Target(name)));
    std::map<std::string, std::string> all = {
        {"REDIS_URL", redis_->url()}, {"ETHERSCAN_API_KEY", ""}, {"ETH_RPC_URL", ""}};
    for (const auto& [k, v] : env) all[k] = v;
    absl::StatusOr<std::unique_ptr<ChildProcess>> process =
        ChildProcess::Start(args, all, absl::StrCat(dir_, "/", name, ".log"));
    if (!process.ok()) return process.status();
    processes_[name] = *std::move(process);
    absl::Status healthy = WaitForHealthy(Target(name), absl::Seconds(20));
    if (!healthy.ok()) {
      return absl::Status(healthy.code(), absl::StrCat(healthy.message(), "\n", Tail(name)));
    }
    return absl::OkStatus();
  }

  std::string Target(const std::string& name) const {
    return absl::StrCat("127.0.0.1:", ports_.at(name));
  }
  std::string ModelsDir() const { return absl::StrCat("--models_dir=", dir_, "/models"); }
  std::string DatasetAddr() const { return absl::StrCat("--dataset_addr=", Target("dataset")); }

  // The end of process `name`'s log, headed by its name, for failure messages.
  std::string Tail(const std::string& name) const {
    auto it = processes_.find(name);
    if (it == processes_.end()) return absl::StrCat("(no process ", name, ")");
    return absl::StrCat("--- ", name, " log (end) ---\n", it->second->LogTail(3000));
  }
  std::string Tails(const std::vector<std::string>& names) const {
    std::string out;
    for (const std::string& name : names) absl::StrAppend(&out, Tail(name), "\n");
    return out;
  }

  // Uploads the shared data file `relative`; returns the dataset id.
  absl::StatusOr<std::string> Upload(const std::string& relative) {
    const std::string path = absl::StrCat(data_, "/", relative);
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
    auto stub = dataset::v1::DatasetService::NewStub(common::CreateChannel(Target("dataset")));
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(60));
    dataset::v1::UploadDatasetResponse response;
    auto writer = stub->UploadDataset(&context, &response);
    dataset::v1::UploadDatasetRequest request;
    request.mutable_metadata()->set_name(relative.substr(0, relative.find('/')));
    request.mutable_metadata()->set_filename(path);
    if (!writer->Write(request)) return absl::UnavailableError("upload stream closed");
    std::string chunk(size_t{64} * 1024, '\0');
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
      request.set_chunk(chunk.data(), in.gcount());
      if (!writer->Write(request)) break;
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!status.ok()) return FromGrpc(status, absl::StrCat("upload ", path));
    return response.dataset().id();
  }

  // Creates a job on `dataset`; returns its id.
  absl::StatusOr<std::string> CreateJob(
      const std::string& dataset, const std::string& suffix,
      const training::v1::Hyperparameters& hyperparameters = training::v1::Hyperparameters()) {
    training::v1::CreateJobRequest request;
    request.set_training_dataset(dataset);
    request.set_suffix(suffix);
    *request.mutable_hyperparameters() = hyperparameters;
    return CreateJob(request);
  }
  absl::StatusOr<std::string> CreateJob(const training::v1::CreateJobRequest& request) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    training::v1::CreateJobResponse response;
    grpc::Status status = Training()->CreateJob(&context, request, &response);
    if (!status.ok()) return FromGrpc(status, "CreateJob");
    return response.job().id();
  }

  absl::StatusOr<Job> GetJob(const std::string& id) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    training::v1::GetJobRequest request;
    request.set_id(id);
    training::v1::GetJobResponse response;
    grpc::Status status = Training()->GetJob(&context, request, &response);
    if (!status.ok()) return FromGrpc(status, "GetJob");
    return response.job();
  }

  absl::StatusOr<std::vector<JobEvent>> Events(const std::string& id) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    training::v1::ListJobEventsRequest request;
    request.set_id(id);
    training::v1::ListJobEventsResponse response;
    grpc::Status status = Training()->ListJobEvents(&context, request, &response);
    if (!status.ok()) return FromGrpc(status, "ListJobEvents");
    return std::vector<JobEvent>(response.events().begin(), response.events().end());
  }

  absl::StatusOr<std::vector<training::v1::Checkpoint>> Checkpoints(const std::string& id) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    training::v1::ListCheckpointsRequest request;
    request.set_id(id);
    training::v1::ListCheckpointsResponse response;
    grpc::Status status = Training()->ListCheckpoints(&context, request, &response);
    if (!status.ok()) return FromGrpc(status, "ListCheckpoints");
    return std::vector<training::v1::Checkpoint>(response.checkpoints().begin(),
                                                 response.checkpoints().end());
  }

  // The registry's models that job `job_id` produced (every page of ListModels).
  absl::StatusOr<std::vector<training::v1::Model>> ModelsOf(const std::string& job_id) {
    auto registry =
        training::v1::ModelRegistryService::NewStub(common::CreateChannel(Target("training")));
    std::vector<training::v1::Model> out;
    std::string token;
    do {
      grpc::ClientContext context;
      common::SetDeadline(&context, absl::Seconds(10));
      training::v1::ListModelsRequest request;
      request.set_page_size(1000);
      request.set_page_token(token);
      training::v1::ListModelsResponse response;
      grpc::Status status = registry->ListModels(&context, request, &response);
      if (!status.ok()) return FromGrpc(status, "ListModels");
      for (const training::v1::Model& m : response.models()) {
        if (m.job_id() == job_id) out.push_back(m);
      }
      token = response.next_page_token();
    } while (!token.empty());
    return out;
  }

  // Polls job `id` until it has finished (succeeded, failed or cancelled). Calls that fail
  // meanwhile (Redis away) are retried.
  absl::StatusOr<Job> WaitForFinished(const std::string& id, absl::Duration timeout,
                                      const std::vector<std::string>& logs) {
    absl::StatusOr<Job> job;
    if (PollUntil(timeout, [&] {
          job = GetJob(id);
          return job.ok() && Finished(job->status());
        })) {
      return job;
    }
    absl::StatusOr<std::vector<JobEvent>> events = Events(id);
    return absl::DeadlineExceededError(absl::StrCat(
        "job ", id, " not finished within ", absl::FormatDuration(timeout),
        "; last seen: ", job.ok() ? Describe(*job) : job.status().ToString(), "\nevents:\n",
        events.ok() ? Describe(*events) : events.status().ToString(), "\n", Tails(logs)));
  }

  // Checks that `job` succeeded and that the registry lists one model of it, its own.
  void ExpectSucceededWithOneModel(const Job& job, const std::vector<std::string>& logs) {
    EXPECT_EQ(job.status(), training::v1::JOB_STATUS_SUCCEEDED) << Describe(job) << "\n"
                                                                << Tails(logs);
    absl::StatusOr<std::vector<training::v1::Model>> models = ModelsOf(job.id());
    ASSERT_TRUE(models.ok()) << models.status();
    ASSERT_EQ(models->size(), 1u) << "models listed for job " << job.id();
    EXPECT_EQ(models->front().name(), job.fine_tuned_model());
  }

  std::unique_ptr<training::v1::TrainingService::Stub> Training() {
    return training::v1::TrainingService::NewStub(common::CreateChannel(Target("training")));
  }

  // The consumer name of worker `name` in the queue's group ends with "-<pid>".
  std::string ConsumerSuffix(const std::string& name) const {
    return absl::StrCat("-", processes_.at(name)->pid());
  }

  absl::Time started_;
  std::string data_;
  std::string dir_;
  std::unique_ptr<RedisServer> redis_;
  std::map<std::string, int> ports_;
  std::map<std::string, std::unique_ptr<ChildProcess>> processes_;
};

}  // namespace ethscan::testing

#endif  // ETHSCAN_TESTS_INTEGRATION_JOB_STACK_H_

// Fine-tuning jobs under crashes, for real: a redis-server, the dataset service, the training
// server and one or two training workers as processes on free loopback ports, driven over
// real gRPC. A worker is killed (SIGKILL) mid-training and another takes its job over; Redis
// is killed with jobs queued and running and comes back from its append-only file; two
// workers share one queue; and the dataset service is killed under a queued job. Every job
// ends in a state the caller can see, exactly once.
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
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using training::v1::Job;
using training::v1::JobEvent;

// Entries of a crashed worker are claimed by another once pending this long (and a failed
// attempt whose retry could not be scheduled is retried after it).
constexpr int kClaimIdleSeconds = 3;
// The attempts a job gets (Worker::Options::max_attempts; no flag sets it).
constexpr int kMaxAttempts = 3;

constexpr char kDatasetReadiness[] = "ethscan.dataset.v1.DatasetService";
constexpr char kTrainingReadiness[] = "ethscan.training.v1.TrainingService";
constexpr char kWorkerReadiness[] = "ethscan.training.v1.TrainingWorker";

// The Kaggle feature file (the behavioural classifier trains on it) and a small labelled list
// (the knowledge index only, so its jobs are quick), under the shared data folder.
constexpr char kKaggleFile[] = "kaggle_fraud/transaction_dataset.csv";
constexpr char kSmallFile[] = "mew_darklist/addresses_darklist.csv";

bool Finished(training::v1::JobStatus status) {
  return status == training::v1::JOB_STATUS_SUCCEEDED ||
         status == training::v1::JOB_STATUS_FAILED || status == training::v1::JOB_STATUS_CANCELLED;
}

// Polls `done` every 100 ms until it returns true or `timeout` passes; returns the last answer.
bool PollUntil(absl::Duration timeout, const std::function<bool()>& done) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view context) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(context, ": ", status.error_message()));
}

// The message events of a job, one a line (per-round metrics events left out), for failure
// messages.
std::string Describe(const std::vector<JobEvent>& events) {
  std::vector<std::string> lines;
  for (const JobEvent& e : events) {
    if (e.type() != "metrics") lines.push_back(absl::StrCat("  [", e.level(), "] ", e.message()));
  }
  return absl::StrJoin(lines, "\n");
}

std::string Describe(const Job& job) {
  return absl::StrCat("job ", job.id(), ": ", training::v1::JobStatus_Name(job.status()),
                      ", attempts ", job.attempts(), ", step ", job.step(), " of ",
                      job.total_steps(), job.error().empty() ? "" : ", error: ", job.error());
}

// The "attempt <n> of <m> started by worker <consumer>" events.
std::vector<std::string> AttemptStarts(const std::vector<JobEvent>& events) {
  std::vector<std::string> out;
  for (const JobEvent& e : events) {
    if (absl::StartsWith(e.message(), "attempt ") &&
        absl::StrContains(e.message(), " started by worker ")) {
      out.push_back(e.message());
    }
  }
  return out;
}

class JobsCrashIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    started_ = absl::Now();
    data_ = SharedDataDir();
    if (data_.empty()) {
      GTEST_SKIP() << "../shared/data not found beside the checkout (set ETHSCAN_SHARED_DATA): "
                      "these tests train on its Kaggle and MEW files";
    }
    dir_ = MakeTempDir("ethscan-crash");
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
  void StartStack(bool append_only) {
    RedisServer::Options options;
    options.append_only = append_only;
    absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    ASSERT_OK(Start("dataset", {"ethscan_dataset", absl::StrCat("--data_dir=", dir_, "/dataset")}));
    ASSERT_OK(Start("training", {"ethscan_training", "--role=server", ModelsDir(), DatasetAddr()}));
  }

  absl::Status StartWorker(const std::string& name) {
    return Start(name, {"ethscan_training", "--role=worker", ModelsDir(), DatasetAddr(),
                        absl::StrCat("--claim_idle=", kClaimIdleSeconds, "s")});
  }

  // Starts `args` (a binary of the build tree and its flags) listening on a free port, with
  // its log in the test's folder, and waits until it answers health checks.
  absl::Status Start(const std::string& name, std::vector<std::string> args) {
    ports_[name] = PickFreePort();
    args.front() = absl::StrCat(BinaryDir(), "/", args.front());
    args.push_back(absl::StrCat("--listen=", Target(name)));
    absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(
        args, {{"REDIS_URL", redis_->url()}, {"ETHERSCAN_API_KEY", ""}, {"ETH_RPC_URL", ""}},
        absl::StrCat(dir_, "/", name, ".log"));
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
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    training::v1::CreateJobResponse response;
    grpc::Status status = Training()->CreateJob(&context, request, &response);
    if (!status.ok()) return FromGrpc(status, "CreateJob");
    return response.job().id();
  }

  // A classifier job that lasts a few seconds: 20 epochs of 50 rounds, a checkpoint after
  // each, and no early stop.
  static training::v1::Hyperparameters LongTraining() {
    training::v1::Hyperparameters hp;
    hp.set_n_epochs(20);
    hp.set_early_stopping_patience(1000);
    return hp;
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

// A worker killed (SIGKILL) mid-training, a checkpoint written, leaves its queue entry pending;
// a second worker claims it once idle for --claim_idle and resumes from the checkpoint. The
// job succeeds with one model.
TEST_F(JobsCrashIntegrationTest, AWorkerKilledMidTrainingIsTakenOverAndResumedFromACheckpoint) {
  ASSERT_NO_FATAL_FAILURE(StartStack(/*append_only=*/false));
  ASSERT_OK(StartWorker("worker-a"));
  ASSERT_OK_AND_ASSIGN(std::string dataset, Upload(kKaggleFile));
  ASSERT_OK_AND_ASSIGN(std::string id, CreateJob(dataset, "crash", LongTraining()));

  // Worker A (the only one yet) takes the job; then worker B starts, idle.
  std::vector<JobEvent> events;
  ASSERT_TRUE(PollUntil(absl::Seconds(30),
                        [&] {
                          absl::StatusOr<std::vector<JobEvent>> now = Events(id);
                          if (now.ok()) events = *now;
                          return !AttemptStarts(events).empty();
                        }))
      << "job " << id << " not started within 30s\n"
      << Describe(events) << "\n"
      << Tail("worker-a");
  ASSERT_THAT(AttemptStarts(events).front(), ::testing::EndsWith(ConsumerSuffix("worker-a")));
  ASSERT_OK(StartWorker("worker-b"));

  // Worker A has saved a checkpoint and is still training when it is killed.
  std::vector<training::v1::Checkpoint> checkpoints;
  ASSERT_TRUE(PollUntil(absl::Seconds(90),
                        [&] {
                          absl::StatusOr<std::vector<training::v1::Checkpoint>> listed =
                              Checkpoints(id);
                          if (listed.ok()) checkpoints = *listed;
                          return !checkpoints.empty();
                        }))
      << "job " << id << " saved no checkpoint within 90s\n"
      << Tail("worker-a");
  processes_["worker-a"]->Kill();
  const absl::Time killed = absl::Now();
  const int checkpoint_step = checkpoints.front().step();
  ASSERT_OK_AND_ASSIGN(Job before, GetJob(id));
  ASSERT_EQ(before.status(), training::v1::JOB_STATUS_RUNNING)
      << "the job must still be training when its worker is killed: " << Describe(before);
  ASSERT_EQ(before.attempts(), 1) << Describe(before);

  // Worker B starts attempt 2 once the entry has been idle for claim_idle (plus one queue
  // read, 2 s, at most).
  ASSERT_TRUE(PollUntil(absl::Seconds(kClaimIdleSeconds + 20),
                        [&] {
                          absl::StatusOr<std::vector<JobEvent>> now = Events(id);
                          if (now.ok()) events = *now;
                          return AttemptStarts(events).size() >= 2;
                        }))
      << "no second attempt within " << kClaimIdleSeconds + 20 << "s of the kill\n"
      << Describe(events) << "\n"
      << Tail("worker-b");
  std::cerr << "taken over " << absl::FormatDuration(absl::Now() - killed) << " after the kill\n";

  ASSERT_OK_AND_ASSIGN(Job done, WaitForFinished(id, absl::Seconds(120), {"worker-b"}));
  ASSERT_NO_FATAL_FAILURE(ExpectSucceededWithOneModel(done, {"worker-b"}));
  EXPECT_EQ(done.attempts(), 2) << Describe(done);
  ASSERT_OK_AND_ASSIGN(events, Events(id));
  std::vector<std::string> starts = AttemptStarts(events);
  ASSERT_EQ(starts.size(), 2u) << Describe(events);
  EXPECT_THAT(starts[1], StartsWith(absl::StrCat("attempt 2 of ", kMaxAttempts, " started")));
  EXPECT_THAT(starts[1], ::testing::EndsWith(ConsumerSuffix("worker-b")));

  // "resuming from checkpoint <model>:ckpt-step-<N> (step <N> of <M>)", from a checkpoint at
  // least as late as the one seen before the kill.
  std::vector<std::string> resumed;
  for (const JobEvent& e : events) {
    if (absl::StartsWith(e.message(), "resuming from checkpoint ")) resumed.push_back(e.message());
  }
  ASSERT_EQ(resumed.size(), 1u) << "expected one \"resuming from checkpoint \" event:\n"
                                << Describe(events);
  std::smatch match;
  const std::regex format(
      R"(resuming from checkpoint (\S+):ckpt-step-(\d+) \(step (\d+) of (\d+)\))");
  ASSERT_TRUE(std::regex_match(resumed[0], match, format)) << resumed[0];
  EXPECT_EQ(match[1].str(), done.fine_tuned_model());
  EXPECT_EQ(match[2].str(), match[3].str());
  int step = 0;
  ASSERT_TRUE(absl::SimpleAtoi(match[2].str(), &step));
  EXPECT_GE(step, checkpoint_step) << resumed[0];
  EXPECT_EQ(match[4].str(), absl::StrCat(done.total_steps())) << resumed[0];
}

// Redis killed (SIGKILL) with one job training and two queued, then restarted on its port from
// its append-only file: the services reconnect by themselves, no job is lost, every job
// succeeds, and none is run to a second model.
TEST_F(JobsCrashIntegrationTest, RedisKilledAndRestartedFromItsAppendOnlyFileLosesNoJob) {
  ASSERT_NO_FATAL_FAILURE(StartStack(/*append_only=*/true));
  ASSERT_OK(StartWorker("worker"));
  ASSERT_OK_AND_ASSIGN(std::string kaggle, Upload(kKaggleFile));
  ASSERT_OK_AND_ASSIGN(std::string small, Upload(kSmallFile));
  ASSERT_OK_AND_ASSIGN(std::string running, CreateJob(kaggle, "running", LongTraining()));
  // The job trains (a step reached) before the others are queued behind it.
  absl::StatusOr<Job> job;
  ASSERT_TRUE(PollUntil(absl::Seconds(60),
                        [&] {
                          job = GetJob(running);
                          return job.ok() && job->status() == training::v1::JOB_STATUS_RUNNING &&
                                 job->step() > 0;
                        }))
      << (job.ok() ? Describe(*job) : job.status().ToString()) << "\n"
      << Tail("worker");
  std::vector<std::string> ids = {running};
  for (const char* suffix : {"queued-1", "queued-2"}) {
    ASSERT_OK_AND_ASSIGN(std::string id, CreateJob(small, suffix));
    ASSERT_OK_AND_ASSIGN(Job queued, GetJob(id));
    EXPECT_EQ(queued.status(), training::v1::JOB_STATUS_QUEUED) << Describe(queued);
    ids.push_back(id);
  }
  ASSERT_OK_AND_ASSIGN(Job before, GetJob(running));
  ASSERT_EQ(before.status(), training::v1::JOB_STATUS_RUNNING)
      << "the job must still be training when Redis is killed: " << Describe(before);

  redis_->Kill();
  // Every service notices (readiness NOT_SERVING) and stays up.
  const std::map<std::string, std::string> readiness = {{"dataset", kDatasetReadiness},
                                                        {"training", kTrainingReadiness},
                                                        {"worker", kWorkerReadiness}};
  for (const auto& [name, service] : readiness) {
    EXPECT_OK(WaitForHealth(Target(name), service, /*serving=*/false, absl::Seconds(15)));
  }
  ASSERT_OK(redis_->Launch());
  for (const auto& [name, service] : readiness) {
    EXPECT_OK(WaitForHealth(Target(name), service, /*serving=*/true, absl::Seconds(20)))
        << Tail(name);
  }
  for (const auto& [name, process] : processes_) {
    EXPECT_TRUE(process->Running()) << name << " died\n" << Tail(name);
  }

  // The three jobs survived, and each succeeds once.
  for (const std::string& id : ids) {
    absl::StatusOr<Job> after = GetJob(id);
    ASSERT_TRUE(after.ok()) << "job " << id << " lost with the restart: " << after.status();
  }
  for (const std::string& id : ids) {
    ASSERT_OK_AND_ASSIGN(Job done, WaitForFinished(id, absl::Seconds(120), {"worker"}));
    ASSERT_NO_FATAL_FAILURE(ExpectSucceededWithOneModel(done, {"worker"}));
    std::cerr << Describe(done) << "\n";
  }
}

// Two workers on one queue share five jobs: each job is started once (one attempt, one
// "attempt 1 of" event) and succeeds.
TEST_F(JobsCrashIntegrationTest, TwoWorkersOnOneQueueRunEachJobOnce) {
  ASSERT_NO_FATAL_FAILURE(StartStack(/*append_only=*/false));
  ASSERT_OK(StartWorker("worker-a"));
  ASSERT_OK(StartWorker("worker-b"));
  ASSERT_OK_AND_ASSIGN(std::string dataset, Upload(kSmallFile));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string id, CreateJob(dataset, absl::StrCat("shared-", i)));
    ids.push_back(id);
  }
  std::map<std::string, int> ran_by;
  for (const std::string& id : ids) {
    ASSERT_OK_AND_ASSIGN(Job done,
                         WaitForFinished(id, absl::Seconds(60), {"worker-a", "worker-b"}));
    ASSERT_NO_FATAL_FAILURE(ExpectSucceededWithOneModel(done, {"worker-a", "worker-b"}));
    EXPECT_EQ(done.attempts(), 1) << Describe(done);
    ASSERT_OK_AND_ASSIGN(std::vector<JobEvent> events, Events(id));
    std::vector<std::string> starts = AttemptStarts(events);
    ASSERT_EQ(starts.size(), 1u) << "job " << id << "\n" << Describe(events);
    EXPECT_THAT(starts[0], StartsWith(absl::StrCat("attempt 1 of ", kMaxAttempts, " started")));
    for (const char* worker : {"worker-a", "worker-b"}) {
      if (absl::EndsWith(starts[0], ConsumerSuffix(worker))) ++ran_by[worker];
    }
  }
  std::cerr << "jobs run by worker-a: " << ran_by["worker-a"]
            << ", by worker-b: " << ran_by["worker-b"] << "\n";
  EXPECT_EQ(ran_by["worker-a"] + ran_by["worker-b"], 5);
}

// The dataset service killed (SIGKILL) while a job is queued: each attempt fails to reach it
// and is retried after a backoff, and with the service still away the job fails for good
// after the last attempt, its error naming the dataset service.
TEST_F(JobsCrashIntegrationTest, DatasetServiceKilledUnderAQueuedJobFailsItNamingTheService) {
  ASSERT_NO_FATAL_FAILURE(StartStack(/*append_only=*/false));
  ASSERT_OK_AND_ASSIGN(std::string dataset, Upload(kSmallFile));
  ASSERT_OK_AND_ASSIGN(std::string id, CreateJob(dataset, "orphan"));
  processes_["dataset"]->Kill();
  ASSERT_OK(StartWorker("worker"));

  // kMaxAttempts attempts and kMaxAttempts - 1 waits between them, each at most claim_idle
  // (the retry backoff, 2 s then 4 s at most, is shorter) plus a queue read (2 s).
  const absl::Duration expected = absl::Seconds((kMaxAttempts - 1) * (kClaimIdleSeconds + 2));
  ASSERT_OK_AND_ASSIGN(Job done, WaitForFinished(id, expected + absl::Seconds(30), {"worker"}));
  ASSERT_EQ(done.status(), training::v1::JOB_STATUS_FAILED) << Describe(done) << "\n"
                                                            << Tail("worker");
  EXPECT_EQ(done.attempts(), kMaxAttempts) << Describe(done);
  EXPECT_THAT(done.error(), HasSubstr("dataset service")) << Describe(done);
  EXPECT_THAT(done.error(), HasSubstr(absl::StrCat("gave up after ", kMaxAttempts, " attempts")));
  EXPECT_EQ(done.failure().code(), "retries_exhausted");
  ASSERT_OK_AND_ASSIGN(std::vector<JobEvent> events, Events(id));
  EXPECT_EQ(AttemptStarts(events).size(), static_cast<size_t>(kMaxAttempts)) << Describe(events);
  ASSERT_OK_AND_ASSIGN(std::vector<training::v1::Model> models, ModelsOf(id));
  EXPECT_TRUE(models.empty());
  // It is on the dead-letter stream, once, with its error and attempts.
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    training::v1::ListDeadLettersRequest request;
    training::v1::ListDeadLettersResponse response;
    grpc::Status status = Training()->ListDeadLetters(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.dead_letters_size(), 1) << response.DebugString();
    EXPECT_EQ(response.dead_letters(0).job_id(), id);
    EXPECT_EQ(response.dead_letters(0).error(), done.error());
    EXPECT_EQ(response.dead_letters(0).attempts(), kMaxAttempts);
  }
  EXPECT_TRUE(processes_["worker"]->Running()) << Tail("worker");
  const absl::Duration took = absl::Now() - started_;
  std::cerr << "failed for good " << absl::FormatDuration(took) << " into the test\n";
  EXPECT_LT(took, absl::Seconds(90)) << "well under the 300 s TIMEOUT";
}

}  // namespace
}  // namespace ethscan::testing

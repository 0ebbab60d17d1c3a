// Fine-tuning jobs under crashes, for real: a redis-server, the dataset service, the training
// server and one or two training workers as processes on free loopback ports, driven over
// real gRPC. A worker is killed (SIGKILL) mid-training and another takes its job over; Redis
// is killed with jobs queued and running and comes back from its append-only file; two
// workers share one queue; and the dataset service is killed under a queued job. Every job
// ends in a state the caller can see, exactly once.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/job_stack.h"

namespace ethscan::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The attempts a job gets (Worker::Options::max_attempts; no flag sets it).
constexpr int kMaxAttempts = 3;

// A classifier job that lasts a few seconds: 20 epochs of 50 rounds, a checkpoint after
// each, and no early stop.
training::v1::Hyperparameters LongTraining() {
  training::v1::Hyperparameters hp;
  hp.set_n_epochs(20);
  hp.set_early_stopping_patience(1000);
  return hp;
}

class JobsCrashIntegrationTest : public JobStackTest {};

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

// Backend "openai" end to end, for real: Redis, the dataset service, the training server and
// workers as processes, pointed at the fake OpenAI fine-tuning API (tests/fakes/fake_openai.py)
// on loopback. A job runs from the chat export to a registered chat model through a rate
// limit; a remote job that fails fails the job with the API's error; a cancelled job cancels
// its remote job; a worker killed mid-run leaves the remote job running and the next worker
// attaches to it instead of creating another. No log line, event or job field of any of it
// holds the API key.
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/job_stack.h"
#include "tests/testing/fake_openai.h"

namespace ethscan::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A second small list, the validation side.
constexpr char kValidationFile[] = "forta/malicious_smart_contracts.csv";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class OpenAiBackendIntegrationTest : public JobStackTest {
 protected:
  // The fake API, then the stack with OPENAI_BASE_URL and OPENAI_API_KEY pointing at it.
  void StartWithFake(const FakeOpenAi::Options& options) {
    ASSERT_OK_AND_ASSIGN(fake_, FakeOpenAi::Start(options, dir_));
    env_ = {{"OPENAI_BASE_URL", fake_->base_url()}, {"OPENAI_API_KEY", fake_->api_key()}};
    ASSERT_NO_FATAL_FAILURE(StartStack(/*append_only=*/false, env_));
  }

  absl::StatusOr<std::string> CreateRemoteJob(const std::string& training,
                                              const std::string& validation,
                                              const std::string& suffix) {
    training::v1::CreateJobRequest request;
    request.set_training_dataset(training);
    request.set_validation_dataset(validation);
    request.set_suffix(suffix);
    request.set_backend("openai");
    request.mutable_hyperparameters()->set_n_epochs(3);
    (*request.mutable_metadata())["team"] = "risk";
    return CreateJob(request);
  }

  absl::StatusOr<training::v1::Model> GetModel(const std::string& name) {
    auto registry =
        training::v1::ModelRegistryService::NewStub(common::CreateChannel(Target("training")));
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    training::v1::GetModelRequest request;
    request.set_name(name);
    training::v1::GetModelResponse response;
    grpc::Status status = registry->GetModel(&context, request, &response);
    if (!status.ok()) return FromGrpc(status, "GetModel");
    return response.model();
  }

  // The fake's view of the remote job that ethscan job `id` made.
  nlohmann::json RemoteJob(const std::string& id) {
    absl::StatusOr<nlohmann::json> state = fake_->State();
    EXPECT_TRUE(state.ok()) << state.status();
    if (!state.ok()) return nlohmann::json::object();
    for (const nlohmann::json& job : (*state)["jobs"]) {
      if (job.contains("metadata") && job["metadata"].is_object() &&
          job["metadata"].value("ethscan_job_id", "") == id) {
        return job;
      }
    }
    return nlohmann::json::object();
  }

  // Nothing the run left behind holds the key: every service log, every event, the job
  // and its model.
  void ExpectNoKeyAnywhere(const std::string& id) {
    const std::string& key = fake_->api_key();
    for (const auto& [name, process] : processes_) {
      EXPECT_THAT(ReadAll(process->log_path()), Not(HasSubstr(key))) << name << "'s log";
    }
    ASSERT_OK_AND_ASSIGN(std::vector<JobEvent> events, Events(id));
    for (const JobEvent& e : events) EXPECT_THAT(e.DebugString(), Not(HasSubstr(key)));
    ASSERT_OK_AND_ASSIGN(Job job, GetJob(id));
    EXPECT_THAT(job.DebugString(), Not(HasSubstr(key)));
    if (!job.fine_tuned_model().empty()) {
      ASSERT_OK_AND_ASSIGN(training::v1::Model model, GetModel(job.fine_tuned_model()));
      EXPECT_THAT(model.DebugString(), Not(HasSubstr(key)));
    }
  }

  std::unique_ptr<FakeOpenAi> fake_;
  std::map<std::string, std::string> env_;
};

// Upload, create (through two rate-limited answers), poll, mirror, register: the job
// succeeds with a chat model whose card names its datasets, base and hyperparameters, and
// every remote metrics step and checkpoint appears once.
TEST_F(OpenAiBackendIntegrationTest, RunsAJobToARegisteredChatModel) {
  FakeOpenAi::Options options;
  options.rate_limit = 2;
  ASSERT_NO_FATAL_FAILURE(StartWithFake(options));
  ASSERT_OK(StartWorker("worker", env_));
  ASSERT_OK_AND_ASSIGN(std::string training, Upload(kSmallFile));
  ASSERT_OK_AND_ASSIGN(std::string validation, Upload(kValidationFile));
  ASSERT_OK_AND_ASSIGN(std::string id, CreateRemoteJob(training, validation, "scan"));
  ASSERT_OK_AND_ASSIGN(Job job, WaitForFinished(id, absl::Seconds(90), {"worker", "training"}));
  ASSERT_EQ(job.status(), training::v1::JOB_STATUS_SUCCEEDED) << Describe(job) << "\n"
                                                              << Tails({"worker"});

  EXPECT_THAT(job.fine_tuned_model(), StartsWith("ft:gpt-4o-mini-2024-07-18:fake-org:scan:"));
  EXPECT_THAT(job.remote().id(), StartsWith("ftjob-"));
  EXPECT_EQ(job.remote().status(), "succeeded");
  EXPECT_THAT(job.remote().training_file(), StartsWith("file-"));
  EXPECT_THAT(job.remote().validation_file(), StartsWith("file-"));
  EXPECT_THAT(job.remote().endpoint(), StartsWith("http://127.0.0.1:"));
  EXPECT_GT(job.remote().trained_tokens(), 0);
  EXPECT_GE(job.remote().training_examples(), 10u);
  EXPECT_EQ(job.hyperparameters_used().at("n_epochs"), 3);
  EXPECT_EQ(job.step(), 12);
  EXPECT_EQ(job.total_steps(), 12);
  EXPECT_EQ(job.trained_examples(), job.remote().training_examples());

  ASSERT_OK_AND_ASSIGN(training::v1::Model model, GetModel(job.fine_tuned_model()));
  EXPECT_EQ(model.kind(), "chat");
  EXPECT_EQ(model.job_id(), id);
  EXPECT_EQ(model.base_model(), "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(model.manifest().datasets_size(), 2);
  EXPECT_EQ(model.manifest().hyperparameters().at("n_epochs"), 3);
  EXPECT_GT(model.manifest().metrics().at("trained_tokens"), 0);
  EXPECT_EQ(model.manifest().metrics().count("full_valid_loss"), 1u);
  bool has_results = false;
  for (const auto& a : model.manifest().artefacts()) has_results |= a.kind() == "results";
  EXPECT_TRUE(has_results);

  // The remote's checkpoints, the last three, loadable by name.
  ASSERT_OK_AND_ASSIGN(std::vector<training::v1::Checkpoint> checkpoints, Checkpoints(id));
  ASSERT_EQ(checkpoints.size(), 3u);
  EXPECT_EQ(checkpoints.back().model(), absl::StrCat(job.fine_tuned_model(), ":ckpt-step-12"));

  // Every remote step mirrored once, and the remote's own words kept.
  ASSERT_OK_AND_ASSIGN(std::vector<JobEvent> events, Events(id));
  std::multiset<int> steps;
  std::set<std::string> remote_ids;
  bool created = false;
  bool uploaded = false;
  for (const JobEvent& e : events) {
    if (!e.remote_id().empty()) {
      EXPECT_TRUE(remote_ids.insert(e.remote_id()).second);
    }
    if (e.type() == "metrics" && !e.remote_id().empty()) {
      steps.insert(static_cast<int>(e.metrics().at("step")));
      EXPECT_EQ(e.metrics().count("train_accuracy"), 1u);
    }
    created |= absl::StartsWith(e.message(), "openai: Created fine-tuning job: ftjob-");
    uploaded |= absl::StartsWith(e.message(), "uploaded the training file file-");
  }
  EXPECT_EQ(steps.size(), 12u);
  EXPECT_EQ(std::set<int>(steps.begin(), steps.end()).size(), 12u);
  EXPECT_TRUE(created) << Describe(events);
  EXPECT_TRUE(uploaded) << Describe(events);

  // One remote job, made with the documented request, through the rate limit.
  ASSERT_OK_AND_ASSIGN(nlohmann::json state, fake_->State());
  EXPECT_EQ(state["create_job_requests"], 1);
  EXPECT_EQ(state["rate_limited"], 2);
  nlohmann::json remote = RemoteJob(id);
  EXPECT_EQ(remote["metadata"]["team"], "risk");
  EXPECT_EQ(remote["method"]["type"], "supervised");
  ExpectNoKeyAnywhere(id);
}

// A remote job that fails fails the ethscan job for good, with the API's code and message.
TEST_F(OpenAiBackendIntegrationTest, ARemoteFailureFailsTheJobWithTheApisError) {
  FakeOpenAi::Options options;
  options.fail_at_step = 3;
  ASSERT_NO_FATAL_FAILURE(StartWithFake(options));
  ASSERT_OK(StartWorker("worker", env_));
  ASSERT_OK_AND_ASSIGN(std::string training, Upload(kSmallFile));
  ASSERT_OK_AND_ASSIGN(std::string validation, Upload(kValidationFile));
  ASSERT_OK_AND_ASSIGN(std::string id, CreateRemoteJob(training, validation, "doomed"));
  ASSERT_OK_AND_ASSIGN(Job job, WaitForFinished(id, absl::Seconds(90), {"worker"}));
  EXPECT_EQ(job.status(), training::v1::JOB_STATUS_FAILED) << Describe(job);
  EXPECT_EQ(job.failure().code(), "internal_error");
  EXPECT_THAT(job.error(), HasSubstr("Fine-tuning job failed due to an internal error"));
  EXPECT_THAT(job.error(), HasSubstr(job.remote().id()));
  EXPECT_EQ(job.attempts(), 1);
  EXPECT_EQ(job.remote().status(), "failed");
  ASSERT_OK_AND_ASSIGN(std::vector<training::v1::Model> models, ModelsOf(id));
  EXPECT_TRUE(models.empty());
  ExpectNoKeyAnywhere(id);
}

// Cancelling the job cancels the remote job and frees the worker for the next one.
TEST_F(OpenAiBackendIntegrationTest, CancellingTheJobCancelsTheRemoteJob) {
  FakeOpenAi::Options options;
  options.steps = 5000;
  ASSERT_NO_FATAL_FAILURE(StartWithFake(options));
  ASSERT_OK(StartWorker("worker", env_));
  ASSERT_OK_AND_ASSIGN(std::string training, Upload(kSmallFile));
  ASSERT_OK_AND_ASSIGN(std::string validation, Upload(kValidationFile));
  ASSERT_OK_AND_ASSIGN(std::string id, CreateRemoteJob(training, validation, "stop"));
  ASSERT_TRUE(PollUntil(absl::Seconds(60), [&] {
    absl::StatusOr<Job> job = GetJob(id);
    return job.ok() && job->remote().status() == "running" && job->step() > 0;
  })) << Tails({"worker"});

  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(10));
  training::v1::CancelJobRequest cancel;
  cancel.set_id(id);
  training::v1::CancelJobResponse cancelled;
  ASSERT_TRUE(Training()->CancelJob(&context, cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.job().status(), training::v1::JOB_STATUS_CANCELLED);
  EXPECT_TRUE(PollUntil(absl::Seconds(30), [&] { return RemoteJob(id)["status"] == "cancelled"; }))
      << RemoteJob(id).dump() << "\n"
      << Tails({"worker"});
  ASSERT_TRUE(PollUntil(absl::Seconds(30), [&] {
    absl::StatusOr<std::vector<JobEvent>> events = Events(id);
    if (!events.ok()) return false;
    for (const JobEvent& e : *events) {
      if (absl::StrContains(e.message(), " cancelled") &&
          absl::StartsWith(e.message(), "remote job"))
        return true;
    }
    return false;
  })) << Tails({"worker"});
  ExpectNoKeyAnywhere(id);
}

// A worker killed mid-run leaves the remote job running; the next worker attaches to it
// (found by the job's id in its metadata), mirrors the rest without repeating an event, and
// the job succeeds with one remote job and one model.
TEST_F(OpenAiBackendIntegrationTest, AWorkerKilledMidRunIsFollowedByOneThatAttaches) {
  FakeOpenAi::Options options;
  options.steps = 60;
  options.step_seconds = 0.1;
  ASSERT_NO_FATAL_FAILURE(StartWithFake(options));
  ASSERT_OK(StartWorker("worker-a", env_));
  ASSERT_OK_AND_ASSIGN(std::string training, Upload(kSmallFile));
  ASSERT_OK_AND_ASSIGN(std::string validation, Upload(kValidationFile));
  ASSERT_OK_AND_ASSIGN(std::string id, CreateRemoteJob(training, validation, "relay"));
  ASSERT_TRUE(PollUntil(absl::Seconds(60), [&] {
    absl::StatusOr<Job> job = GetJob(id);
    return job.ok() && job->step() >= 5;
  })) << Tails({"worker-a"});
  processes_.at("worker-a")->Kill();
  ASSERT_OK(StartWorker("worker-b", env_));
  ASSERT_OK_AND_ASSIGN(Job job, WaitForFinished(id, absl::Seconds(120), {"worker-b"}));
  ASSERT_EQ(job.status(), training::v1::JOB_STATUS_SUCCEEDED) << Describe(job);
  EXPECT_EQ(job.attempts(), 2);
  ASSERT_OK_AND_ASSIGN(nlohmann::json state, fake_->State());
  EXPECT_EQ(state["create_job_requests"], 1);
  ASSERT_OK_AND_ASSIGN(std::vector<JobEvent> events, Events(id));
  std::set<std::string> remote_ids;
  int steps = 0;
  for (const JobEvent& e : events) {
    if (e.remote_id().empty()) continue;
    EXPECT_TRUE(remote_ids.insert(e.remote_id()).second) << e.message();
    steps += e.type() == "metrics" ? 1 : 0;
  }
  EXPECT_EQ(steps, 60) << Describe(events);
  ExpectSucceededWithOneModel(job, {"worker-b"});
  ExpectNoKeyAnywhere(id);
}

}  // namespace
}  // namespace ethscan::testing

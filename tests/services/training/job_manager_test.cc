#include "services/training/job_manager.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/training/test_env.h"
#include "tests/testing/model_packages.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::training {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::MakeDataset;
using testing::MakeRecord;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

constexpr char kAddress[] = "0x00000000000000000000000000000000000000aa";

class JobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.datasets.Add(MakeDataset("ds-train", "mew", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 100),
                      {MakeRecord(kAddress, "Scam")});
    env_.datasets.Add(
        MakeDataset("ds-valid", "valid", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 100),
        {MakeRecord(kAddress, "Scam")});
    manager_ = env_.Manager();
  }

  v1::CreateJobRequest Request() {
    v1::CreateJobRequest request;
    request.set_training_dataset("ds-train");
    return request;
  }

  testing::TestEnv env_;
  std::unique_ptr<JobManager> manager_;
};

TEST_F(JobManagerTest, CreateJobRequiresTrainingDataset) {
  v1::CreateJobRequest request;
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, "training_dataset is required"));
  request = Request();
  request.add_extra_training_datasets("");
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                     HasSubstr("extra_training_datasets[0]")));
  ASSERT_OK_AND_ASSIGN(JobPage page, env_.store.List(0, 10));
  EXPECT_THAT(page.jobs, IsEmpty());
}

TEST_F(JobManagerTest, ValidationAndTestSidesMayNotBeTrainingDatasets) {
  v1::CreateJobRequest request = Request();
  request.add_extra_training_datasets("ds-extra");
  request.set_validation_dataset("ds-train");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("validation_dataset \"ds-train\" is also a training dataset")));
  request.set_validation_dataset("ds-extra");
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request.clear_validation_dataset();
  request.set_test_dataset("ds-extra");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test_dataset \"ds-extra\"")));
  ASSERT_OK_AND_ASSIGN(v1::ListJobsResponse jobs, manager_->ListJobs(v1::ListJobsRequest()));
  EXPECT_EQ(jobs.jobs_size(), 0);
}

TEST_F(JobManagerTest, CreateJobValidatesSuffix) {
  v1::CreateJobRequest request = Request();
  request.set_suffix(std::string(65, 'a'));
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 to 64 characters")));
  request.set_suffix("has space");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("letters, digits")));
  request.set_suffix("a:b");
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_suffix(std::string(64, 'Z'));
  EXPECT_THAT(manager_->CreateJob(request), IsOk());
  request.set_suffix("");
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(request));
  EXPECT_EQ(job.suffix(), "custom");
}

TEST_F(JobManagerTest, CreateJobChecksBackend) {
  v1::CreateJobRequest request = Request();
  request.set_backend("openai");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("set OPENAI_BASE_URL and OPENAI_API_KEY")));
  std::unique_ptr<JobManager> configured = env_.Manager(/*openai_configured=*/true);
  ASSERT_OK_AND_ASSIGN(v1::Job remote, configured->CreateJob(request));
  EXPECT_EQ(remote.backend(), "openai");
  EXPECT_EQ(remote.base_model(), kDefaultOpenAiBaseModel);
  request.set_backend("azure");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"azure\"")));
  request.set_backend("local");
  EXPECT_THAT(manager_->CreateJob(request), IsOk());
}

TEST_F(JobManagerTest, CreateJobRefusesWhatTheOpenAiBackendCannotDo) {
  std::unique_ptr<JobManager> manager = env_.Manager(/*openai_configured=*/true);
  v1::CreateJobRequest request = Request();
  request.set_backend("openai");
  request.set_base_model("gpt-4.1-mini-2025-04-14");
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager->CreateJob(request));
  EXPECT_EQ(job.base_model(), "gpt-4.1-mini-2025-04-14");

  v1::CreateJobRequest with_test = request;
  with_test.set_test_dataset("ds-test");
  EXPECT_THAT(manager->CreateJob(with_test),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test_dataset")));
  v1::CreateJobRequest local_only = request;
  local_only.mutable_hyperparameters()->set_max_depth(4);
  local_only.mutable_hyperparameters()->set_feature_set("transaction");
  EXPECT_THAT(manager->CreateJob(local_only),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("hyperparameters.max_depth, hyperparameters.feature_set apply to "
                                 "the local backend only")));
  v1::CreateJobRequest big_batch = request;
  big_batch.mutable_hyperparameters()->set_batch_size(1000);
  EXPECT_THAT(manager->CreateJob(big_batch),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("batch_size 1000")));
  v1::CreateJobRequest bad_name = request;
  bad_name.set_base_model("gpt 4o");
  EXPECT_THAT(manager->CreateJob(bad_name),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a remote model name")));
  // A local model is no base for a remote chat model.
  ASSERT_THAT(
      env_.registry->Publish(::ethscan::testing::KnowledgePackage("ft:ethscan-base:x:1", {})),
      IsOk());
  v1::CreateJobRequest local_base = request;
  local_base.set_base_model("ft:ethscan-base:x:1");
  EXPECT_THAT(manager->CreateJob(local_base),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is a knowledge model of the local backend")));
  v1::CreateJobRequest unknown = request;
  unknown.set_base_model("ft:gpt-4o-mini:org:x:gone");
  EXPECT_THAT(manager->CreateJob(unknown), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(JobManagerTest, CreateJobValidatesHyperparameters) {
  v1::CreateJobRequest request = Request();
  request.mutable_hyperparameters()->set_n_epochs(51);
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("n_epochs")));
  request.mutable_hyperparameters()->set_n_epochs(3);
  request.mutable_hyperparameters()->set_learning_rate_multiplier(-1);
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("learning_rate_multiplier")));
}

TEST_F(JobManagerTest, CreateJobValidatesDatasetsThenQueues) {
  v1::CreateJobRequest request = Request();
  request.set_validation_dataset("ds-valid");
  request.add_extra_training_datasets("ds-train");  // Named twice: referenced once.
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(request));
  EXPECT_THAT(job.id(), MatchesRegex("ftjob-[0-9a-f]{16}"));
  EXPECT_EQ(job.status(), v1::JOB_STATUS_QUEUED);
  EXPECT_EQ(job.base_model(), "ethscan-base");
  EXPECT_EQ(job.backend(), "local");
  EXPECT_EQ(job.hyperparameters().seed(), 42u);
  EXPECT_THAT(job.extra_training_datasets(), ElementsAre("ds-train"));
  EXPECT_EQ(job.create_time().seconds(), absl::ToUnixSeconds(env_.clock.Now()));
  ASSERT_OK_AND_ASSIGN(v1::Job stored, env_.store.Get(job.id()));
  EXPECT_EQ(stored.status(), v1::JOB_STATUS_QUEUED);
  EXPECT_EQ(env_.queue.Undelivered(), 1u);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> events, env_.store.ListEvents(job.id(), "", 0));
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0].status(), v1::JOB_STATUS_VALIDATING_FILES);
  EXPECT_EQ(events[1].status(), v1::JOB_STATUS_QUEUED);
  EXPECT_THAT(events[1].message(), HasSubstr("2 datasets, 1 training records"));
  EXPECT_THAT(NewJobId(), MatchesRegex("ftjob-[0-9a-f]{16}"));
  // The job references its datasets, so they cannot be deleted while it runs.
  EXPECT_THAT(env_.datasets.Holders("ds-train"), ElementsAre(absl::StrCat("job/", job.id())));
  EXPECT_THAT(env_.datasets.Holders("ds-valid"), ElementsAre(absl::StrCat("job/", job.id())));
  EXPECT_THAT(env_.datasets.Remove("ds-train"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(job.id())));
  EXPECT_THAT(JobDatasetIds(job), ElementsAre("ds-train", "ds-valid"));
}

TEST_F(JobManagerTest, CancelledJobDropsItsReferences) {
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
  EXPECT_THAT(env_.datasets.Holders("ds-train"), SizeIs(1));
  ASSERT_THAT(manager_->CancelJob(job.id()), IsOk());
  EXPECT_THAT(env_.datasets.Holders("ds-train"), IsEmpty());
  EXPECT_THAT(env_.datasets.Remove("ds-train"), IsOk());
}

TEST_F(JobManagerTest, DeletedDatasetCannotBeReferenced) {
  ASSERT_THAT(env_.datasets.Remove("ds-valid"), IsOk());
  v1::CreateJobRequest request = Request();
  request.set_validation_dataset("ds-valid");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kNotFound, "validation dataset \"ds-valid\" not found"));
  // The reference taken on the training dataset before the failure is dropped again.
  EXPECT_THAT(env_.datasets.Holders("ds-train"), IsEmpty());
}

TEST_F(JobManagerTest, RefusedCreateJobStoresNothing) {
  auto expect_nothing_created = [this](const std::string& why) {
    SCOPED_TRACE(why);
    ASSERT_OK_AND_ASSIGN(JobPage page, env_.store.List(0, 10));
    EXPECT_THAT(page.jobs, IsEmpty());
    EXPECT_EQ(page.total, 0);
    EXPECT_EQ(env_.queue.Undelivered(), 0u);
    EXPECT_THAT(env_.datasets.Holders("ds-train"), IsEmpty());
    EXPECT_THAT(env_.datasets.Holders("ds-valid"), IsEmpty());
  };
  v1::CreateJobRequest request = Request();
  request.set_validation_dataset("ds-missing");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kNotFound, "validation dataset \"ds-missing\" not found"));
  expect_nothing_created("unknown validation dataset");

  request = Request();
  request.set_training_dataset("ds-missing");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kNotFound, "training dataset \"ds-missing\" not found"));
  expect_nothing_created("unknown training dataset");

  request = Request();
  request.add_extra_training_datasets("ds-valid");
  request.add_extra_training_datasets("ds-missing");
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kNotFound));
  expect_nothing_created("unknown extra training dataset");

  request = Request();
  request.set_training_dataset("../../etc/passwd");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("training_dataset \"../../etc/passwd\" is not a dataset id")));
  expect_nothing_created("path as a dataset id");

  request = Request();
  request.add_extra_training_datasets("ds-valid");
  request.add_extra_training_datasets("ds-Bad\nId");
  EXPECT_THAT(
      manager_->CreateJob(request),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("extra_training_datasets[1] \"ds-Bad\\nId\" is not a dataset id")));
  request = Request();
  request.set_validation_dataset("valid");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("validation_dataset")));
  request = Request();
  request.set_validation_dataset(absl::StrCat("ds-", std::string(65, 'a')));
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kInvalidArgument));
  expect_nothing_created("malformed dataset ids");

  request = Request();
  request.set_base_model("ft:ethscan-base:x:ftjob-missing");
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kNotFound));
  request = Request();
  request.set_backend("azure");
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request = Request();
  request.set_suffix("a b");
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request = Request();
  request.mutable_hyperparameters()->set_n_epochs(-1);
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kInvalidArgument));
  expect_nothing_created("bad base model, backend, suffix or hyperparameters");

  env_.datasets.FailGets(grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(manager_->CreateJob(Request()),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("cannot look up training dataset \"ds-train\""),
                             HasSubstr("dataset service"))));
  env_.datasets.FailGets(grpc::StatusCode::OK);
  expect_nothing_created("dataset service down");
}

TEST_F(JobManagerTest, CreateJobUndoesWhatItDidWhenALaterStepFails) {
  auto expect_nothing_created = [this](const std::string& why) {
    SCOPED_TRACE(why);
    ASSERT_OK_AND_ASSIGN(JobPage page, env_.store.List(0, 10));
    EXPECT_THAT(page.jobs, IsEmpty());
    EXPECT_EQ(page.total, 0);
    EXPECT_EQ(env_.queue.Undelivered(), 0u);
    EXPECT_THAT(env_.datasets.Holders("ds-train"), IsEmpty());
    EXPECT_THAT(env_.datasets.Holders("ds-valid"), IsEmpty());
  };
  v1::CreateJobRequest request = Request();
  request.set_validation_dataset("ds-valid");

  // The dataset is deleted between the check and the reference: the reference already taken
  // on the training dataset is dropped and the job removed.
  env_.datasets.FailAddReferencesFor("ds-valid", grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kNotFound, "validation dataset \"ds-valid\" not found"));
  expect_nothing_created("dataset deleted meanwhile");
  EXPECT_THAT(env_.store.Get("ftjob-0000000000000001"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(env_.store.EventMessages("ftjob-0000000000000001"), IsEmpty());

  env_.datasets.FailAddReferencesFor("ds-valid", grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot reference validation dataset \"ds-valid\"")));
  expect_nothing_created("dataset service down while referencing");
  env_.datasets.FailAddReferencesFor("ds-valid", grpc::StatusCode::OK);

  env_.queue.FailEnqueues(absl::UnavailableError("redis: connection refused"));
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot queue the job")));
  expect_nothing_created("queue down");
  env_.queue.FailEnqueues(absl::OkStatus());

  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(request));
  EXPECT_EQ(job.status(), v1::JOB_STATUS_QUEUED);
  EXPECT_EQ(env_.queue.Undelivered(), 1u);
}

TEST_F(JobManagerTest, CreateJobWhenDatasetServiceIsDownFailsUnavailable) {
  env_.datasets.FailAddReferences(grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(manager_->CreateJob(Request()),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("cannot reference training dataset \"ds-train\""),
                             HasSubstr("dataset service"))));
  ASSERT_OK_AND_ASSIGN(JobPage page, env_.store.List(0, 10));
  EXPECT_THAT(page.jobs, IsEmpty());
}

TEST_F(JobManagerTest, CreateJobResolvesBaseModel) {
  v1::CreateJobRequest request = Request();
  request.set_base_model("production");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kNotFound, "base model \"production\" not found"));
  const std::string name = "ft:ethscan-base:first:ftjob-00000000000000aa";
  ASSERT_THAT(env_.registry->Publish(::ethscan::testing::KnowledgePackage(name, {})), IsOk());
  ASSERT_THAT(env_.registry->SetAlias("production", name), IsOk());
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(request));
  EXPECT_EQ(job.base_model(), name);
  EXPECT_EQ(FineTunedModelName(job), absl::StrCat("ft:ethscan-base:custom:", job.id()));
  request.set_base_model("ethscan-base");
  ASSERT_OK_AND_ASSIGN(job, manager_->CreateJob(request));
  EXPECT_EQ(job.base_model(), "ethscan-base");
}

TEST_F(JobManagerTest, CancelJobOnlyBeforeItFinishes) {
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
  ASSERT_OK_AND_ASSIGN(v1::Job cancelled, manager_->CancelJob(job.id()));
  EXPECT_EQ(cancelled.status(), v1::JOB_STATUS_CANCELLED);
  EXPECT_TRUE(cancelled.has_finish_time());
  EXPECT_THAT(manager_->CancelJob(job.id()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already cancelled")));
  EXPECT_THAT(manager_->CancelJob("ftjob-unknown"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_->CancelJob(""), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> events, env_.store.ListEvents(job.id(), "", 0));
  EXPECT_EQ(events.back().status(), v1::JOB_STATUS_CANCELLED);
  EXPECT_EQ(events.back().message(), "job cancelled while queued");
}

TEST_F(JobManagerTest, ListJobsNewestFirstWithPaging) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
    ids.push_back(job.id());
  }
  v1::ListJobsRequest request;
  request.set_page_size(2);
  ASSERT_OK_AND_ASSIGN(v1::ListJobsResponse first, manager_->ListJobs(request));
  ASSERT_EQ(first.jobs_size(), 2);
  EXPECT_EQ(first.jobs(0).id(), ids[2]);
  EXPECT_EQ(first.jobs(1).id(), ids[1]);
  request.set_page_token(first.next_page_token());
  ASSERT_OK_AND_ASSIGN(v1::ListJobsResponse second, manager_->ListJobs(request));
  ASSERT_EQ(second.jobs_size(), 1);
  EXPECT_EQ(second.jobs(0).id(), ids[0]);
  EXPECT_EQ(second.next_page_token(), "");
  request.set_page_token("-4");
  EXPECT_THAT(manager_->ListJobs(request), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(JobManagerTest, IdempotencyKeyReturnsTheSameJobForTheSameRequest) {
  v1::CreateJobRequest request = Request();
  request.set_idempotency_key("retry-7f3a");
  ASSERT_OK_AND_ASSIGN(v1::Job first, manager_->CreateJob(request));
  EXPECT_EQ(first.idempotency_key(), "retry-7f3a");
  ASSERT_OK_AND_ASSIGN(v1::Job again, manager_->CreateJob(request));
  EXPECT_EQ(again.id(), first.id());
  ASSERT_OK_AND_ASSIGN(JobPage page, env_.store.List(0, 10));
  EXPECT_THAT(page.jobs, SizeIs(1));

  // The same key with another body is refused and creates nothing.
  request.set_suffix("other");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       AllOf(HasSubstr("idempotency_key \"retry-7f3a\" was used for job"),
                             HasSubstr(first.id()))));
  ASSERT_OK_AND_ASSIGN(page, env_.store.List(0, 10));
  EXPECT_THAT(page.jobs, SizeIs(1));

  // Another key is another job.
  request.set_idempotency_key("retry-8000");
  ASSERT_OK_AND_ASSIGN(v1::Job other, manager_->CreateJob(request));
  EXPECT_NE(other.id(), first.id());

  request.set_idempotency_key("has space");
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("printable ASCII")));
  request.set_idempotency_key(std::string(256, 'k'));
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 255")));
}

// A refused request leaves its key free, so the corrected retry goes through.
TEST_F(JobManagerTest, ARefusedRequestDoesNotHoldItsIdempotencyKey) {
  v1::CreateJobRequest request = Request();
  request.set_training_dataset("ds-later");
  request.set_idempotency_key("k-1");
  EXPECT_THAT(manager_->CreateJob(request), StatusIs(absl::StatusCode::kNotFound));
  env_.datasets.Add(MakeDataset("ds-later", "later", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 100),
                    {MakeRecord(kAddress, "Scam")});
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(request));
  EXPECT_EQ(job.training_dataset(), "ds-later");
}

TEST_F(JobManagerTest, MetadataAndSeedAsOpenAiTakesThem) {
  v1::CreateJobRequest request = Request();
  (*request.mutable_metadata())["team"] = "risk";
  (*request.mutable_metadata())["ticket"] = "RISK-12";
  request.set_seed(7);
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(request));
  EXPECT_EQ(job.metadata().at("team"), "risk");
  EXPECT_EQ(job.seed(), 7u);
  EXPECT_EQ(job.hyperparameters().seed(), 7u);
  ASSERT_OK_AND_ASSIGN(v1::Job stored, manager_->GetJob(job.id()));
  EXPECT_EQ(stored.metadata().at("ticket"), "RISK-12");

  request.mutable_hyperparameters()->set_seed(8);
  EXPECT_THAT(manager_->CreateJob(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("differ")));
  request.mutable_hyperparameters()->clear_seed();
  request.clear_seed();
  ASSERT_OK_AND_ASSIGN(v1::Job defaulted, manager_->CreateJob(request));
  EXPECT_EQ(defaulted.seed(), 42u);

  v1::CreateJobRequest bad = Request();
  for (int i = 0; i < 17; ++i) (*bad.mutable_metadata())[absl::StrCat("k", i)] = "v";
  EXPECT_THAT(manager_->CreateJob(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 16")));
  bad = Request();
  (*bad.mutable_metadata())[std::string(65, 'k')] = "v";
  EXPECT_THAT(manager_->CreateJob(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 to 64 characters")));
  bad = Request();
  (*bad.mutable_metadata())["note"] = std::string(513, 'v');
  EXPECT_THAT(manager_->CreateJob(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 512")));
  // Characters, not bytes: 512 two-byte characters fit.
  bad = Request();
  std::string umlauts;
  for (int i = 0; i < 512; ++i) umlauts += "\xc3\xa4";
  (*bad.mutable_metadata())["note"] = umlauts;
  EXPECT_THAT(manager_->CreateJob(bad), IsOk());
}

TEST_F(JobManagerTest, ListJobsPagesByIdAndFiltersOnStatusAndMetadata) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    v1::CreateJobRequest request = Request();
    (*request.mutable_metadata())["batch"] = i % 2 == 0 ? "even" : "odd";
    ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(request));
    ids.push_back(job.id());
  }
  ASSERT_THAT(manager_->CancelJob(ids[3]), IsOk());

  v1::ListJobsRequest request;
  request.set_limit(2);
  ASSERT_OK_AND_ASSIGN(v1::ListJobsResponse page, manager_->ListJobs(request));
  ASSERT_EQ(page.jobs_size(), 2);
  EXPECT_EQ(page.jobs(0).id(), ids[4]);
  EXPECT_EQ(page.jobs(1).id(), ids[3]);
  EXPECT_TRUE(page.has_more());
  request.set_after(page.jobs(1).id());
  ASSERT_OK_AND_ASSIGN(page, manager_->ListJobs(request));
  ASSERT_EQ(page.jobs_size(), 2);
  EXPECT_EQ(page.jobs(0).id(), ids[2]);
  request.set_after(page.jobs(1).id());
  ASSERT_OK_AND_ASSIGN(page, manager_->ListJobs(request));
  ASSERT_EQ(page.jobs_size(), 1);
  EXPECT_EQ(page.jobs(0).id(), ids[0]);
  EXPECT_FALSE(page.has_more());

  v1::ListJobsRequest filtered;
  (*filtered.mutable_metadata())["batch"] = "odd";
  filtered.set_status(v1::JOB_STATUS_QUEUED);
  ASSERT_OK_AND_ASSIGN(page, manager_->ListJobs(filtered));
  ASSERT_EQ(page.jobs_size(), 1);
  EXPECT_EQ(page.jobs(0).id(), ids[1]);
  filtered.set_status(v1::JOB_STATUS_CANCELLED);
  ASSERT_OK_AND_ASSIGN(page, manager_->ListJobs(filtered));
  ASSERT_EQ(page.jobs_size(), 1);
  EXPECT_EQ(page.jobs(0).id(), ids[3]);

  v1::ListJobsRequest bad;
  bad.set_after("ftjob-unknown");
  EXPECT_THAT(manager_->ListJobs(bad),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("after: job \"ftjob-unknown\"")));
  bad.set_after(ids[0]);
  bad.set_page_size(3);
  EXPECT_THAT(manager_->ListJobs(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("one or the other")));
  bad = v1::ListJobsRequest();
  bad.set_limit(1001);
  EXPECT_THAT(manager_->ListJobs(bad), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(JobManagerTest, QueuedJobsShowTheirPlaceInLine) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
    ids.push_back(job.id());
  }
  ASSERT_OK_AND_ASSIGN(v1::Job third, manager_->GetJob(ids[2]));
  EXPECT_EQ(third.queue_position(), 3);
  ASSERT_THAT(manager_->CancelJob(ids[0]), IsOk());
  ASSERT_OK_AND_ASSIGN(third, manager_->GetJob(ids[2]));
  EXPECT_EQ(third.queue_position(), 2);
  ASSERT_OK_AND_ASSIGN(v1::Job first, manager_->GetJob(ids[0]));
  EXPECT_EQ(first.queue_position(), 0);
  ASSERT_OK_AND_ASSIGN(v1::ListJobsResponse all, manager_->ListJobs(v1::ListJobsRequest()));
  ASSERT_EQ(all.jobs_size(), 3);
  EXPECT_EQ(all.jobs(1).queue_position(), 1);
}

TEST_F(JobManagerTest, ListDeadLettersPagesNewestFirst) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_THAT(env_.queue.DeadLetter(absl::StrCat("ftjob-", i), absl::StrCat("error ", i), i),
                IsOk());
  }
  v1::ListDeadLettersRequest request;
  request.set_limit(2);
  ASSERT_OK_AND_ASSIGN(v1::ListDeadLettersResponse page, manager_->ListDeadLetters(request));
  ASSERT_EQ(page.dead_letters_size(), 2);
  EXPECT_EQ(page.dead_letters(0).job_id(), "ftjob-3");
  EXPECT_EQ(page.dead_letters(0).error(), "error 3");
  EXPECT_EQ(page.dead_letters(0).attempts(), 3);
  EXPECT_TRUE(page.has_more());
  request.set_before(page.dead_letters(1).id());
  ASSERT_OK_AND_ASSIGN(page, manager_->ListDeadLetters(request));
  ASSERT_EQ(page.dead_letters_size(), 1);
  EXPECT_EQ(page.dead_letters(0).job_id(), "ftjob-1");
  EXPECT_FALSE(page.has_more());
  request.set_before("yesterday");
  EXPECT_THAT(manager_->ListDeadLetters(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request.clear_before();
  request.set_limit(-1);
  EXPECT_THAT(manager_->ListDeadLetters(request), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(JobManagerTest, WatchJobResumesAfterTheLastEventReceived) {
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> events, manager_->ListJobEvents([&] {
    v1::ListJobEventsRequest r;
    r.set_id(job.id());
    return r;
  }()));
  ASSERT_THAT(events, SizeIs(2));
  ASSERT_THAT(manager_->CancelJob(job.id()), IsOk());
  std::vector<std::string> received;
  EXPECT_THAT(manager_->WatchJob(
                  job.id(), events[0].id(),
                  [&](const v1::WatchJobResponse& r) {
                    received.push_back(r.event().id());
                    return true;
                  },
                  [] { return false; }),
              IsOk());
  ASSERT_THAT(received, SizeIs(2));
  EXPECT_EQ(received[0], events[1].id());
  EXPECT_THAT(manager_->WatchJob(
                  job.id(), "not-an-id", [](const v1::WatchJobResponse&) { return true; },
                  [] { return false; }),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(JobManagerTest, ListJobEventsHonoursAfterAndLimit) {
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
  ASSERT_THAT(manager_->CancelJob(job.id()), IsOk());
  v1::ListJobEventsRequest request;
  request.set_id(job.id());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> all, manager_->ListJobEvents(request));
  ASSERT_THAT(all, SizeIs(3));
  request.set_after(all[0].id());
  request.set_limit(1);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> page, manager_->ListJobEvents(request));
  ASSERT_THAT(page, SizeIs(1));
  EXPECT_EQ(page[0].id(), all[1].id());
  request.set_after("not-an-id");
  EXPECT_THAT(manager_->ListJobEvents(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_after("18446744073709551615-18446744073709551615");  // The largest event id.
  request.set_limit(0);
  EXPECT_THAT(manager_->ListJobEvents(request), IsOk());
  request.set_after("");
  request.set_limit(-1);
  EXPECT_THAT(manager_->ListJobEvents(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_limit(0);
  request.set_id("ftjob-unknown");
  EXPECT_THAT(manager_->ListJobEvents(request), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(JobManagerTest, ListJobEventsRejectsCursorsThatAreNotEventIds) {
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
  v1::ListJobEventsRequest request;
  request.set_id(job.id());
  request.set_after("99999999999999999999-0");
  EXPECT_THAT(manager_->ListJobEvents(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("after \"99999999999999999999-0\" is not an event id")));
  for (const char* bad :
       {"1-99999999999999999999", "18446744073709551616-0", "1700000000000", "1-2-3", "+1-0",
        " 1-0", "1-0 ", "-1-0", "1--1", "0x1-0", "1-", "-", "01-0", "1-00", "1-0\n"}) {
    request.set_after(bad);
    EXPECT_THAT(manager_->ListJobEvents(request),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("after \"")))
        << bad;
  }
  // Checked before the job is looked up, so the store is never asked with it.
  request.set_id("ftjob-unknown");
  request.set_after("99999999999999999999-0");
  EXPECT_THAT(manager_->ListJobEvents(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_after(std::string(5 << 20, '9'));
  absl::StatusOr<std::vector<v1::JobEvent>> huge = manager_->ListJobEvents(request);
  EXPECT_THAT(huge, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_LT(huge.status().message().size(), 250u);
}

TEST_F(JobManagerTest, ListJobsRejectsPageTokensThatAreNotOffsets) {
  v1::ListJobsRequest request;
  for (const char* bad : {"99999999999999999999", "9223372036854775807", "-1", "+1", " 1", "1 ",
                          "0x10", "1e3", "abc"}) {
    request.set_page_token(bad);
    EXPECT_THAT(manager_->ListJobs(request),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("page_token \"", bad, "\" is not a token"))))
        << bad;
  }
  request.set_page_token("5");
  ASSERT_OK_AND_ASSIGN(v1::ListJobsResponse empty, manager_->ListJobs(request));
  EXPECT_EQ(empty.jobs_size(), 0);
  EXPECT_EQ(empty.next_page_token(), "");
}

TEST_F(JobManagerTest, JobIdsAreCheckedAndQuoted) {
  for (const char* bad : {"../../etc/passwd", "job-1", "ftjob-", "ftjob-A", "ftjob-1\n"}) {
    EXPECT_THAT(manager_->GetJob(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a job id")))
        << bad;
    EXPECT_THAT(manager_->CancelJob(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(manager_->ListCheckpoints(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(manager_->GetJob("ftjob-1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id \"ftjob-1\\n\"")));
  absl::StatusOr<v1::Job> huge =
      manager_->GetJob(absl::StrCat("ftjob-", std::string(5 << 20, 'a')));
  EXPECT_THAT(huge, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_LT(huge.status().message().size(), 250u);
}

TEST_F(JobManagerTest, ListCheckpointsIsEmptyForKnownJobs) {
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Checkpoint> checkpoints,
                       manager_->ListCheckpoints(job.id()));
  EXPECT_THAT(checkpoints, IsEmpty());
  EXPECT_THAT(manager_->ListCheckpoints("ftjob-unknown"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_->GetJob("ftjob-unknown"),
              StatusIs(absl::StatusCode::kNotFound, "job \"ftjob-unknown\" not found"));
}

TEST_F(JobManagerTest, WatchJobStreamsEventsUntilTheJobFinishes) {
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
  std::vector<v1::WatchJobResponse> received;
  absl::Status status = manager_->WatchJob(
      job.id(),
      [&](const v1::WatchJobResponse& r) {
        received.push_back(r);
        // Once the history is streamed, the job finishes while being watched.
        if (received.size() == 2) {
          EXPECT_THAT(manager_->CancelJob(job.id()), IsOk());
        }
        return true;
      },
      [] { return false; });
  EXPECT_THAT(status, IsOk());
  ASSERT_THAT(received, SizeIs(3));
  EXPECT_EQ(received[0].event().status(), v1::JOB_STATUS_VALIDATING_FILES);
  EXPECT_EQ(received[2].event().status(), v1::JOB_STATUS_CANCELLED);
  EXPECT_EQ(received[2].job().status(), v1::JOB_STATUS_CANCELLED);
}

TEST_F(JobManagerTest, WatchJobStopsWhenTheClientGoes) {
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(Request()));
  int sent = 0;
  EXPECT_THAT(
      manager_->WatchJob(
          job.id(), [&](const v1::WatchJobResponse&) { return ++sent < 1; }, [] { return false; }),
      StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(sent, 1);
  EXPECT_THAT(manager_->WatchJob(
                  job.id(), [](const v1::WatchJobResponse&) { return true; }, [] { return true; }),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(
      manager_->WatchJob(
          "ftjob-unknown", [](const v1::WatchJobResponse&) { return true; }, [] { return false; }),
      StatusIs(absl::StatusCode::kNotFound));
}

TEST(FineTunedModelNameTest, UsesRootBaseModel) {
  v1::Job job;
  job.set_id("ftjob-0123456789abcdef");
  job.set_suffix("labels");
  job.set_base_model("ethscan-base");
  EXPECT_EQ(FineTunedModelName(job), "ft:ethscan-base:labels:ftjob-0123456789abcdef");
  job.set_base_model("ft:ethscan-base:first:ftjob-aaaaaaaaaaaaaaaa");
  EXPECT_EQ(FineTunedModelName(job), "ft:ethscan-base:labels:ftjob-0123456789abcdef");
}

}  // namespace
}  // namespace ethscan::training

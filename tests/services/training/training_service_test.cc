#include "services/training/training_service.h"

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/eth/hash.h"
#include "common/grpc/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/training/test_env.h"
#include "tests/testing/model_packages.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::training {
namespace {

using ::ethscan::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::MakeDataset;
using testing::MakeRecord;

constexpr char kAddress[] = "0x00000000000000000000000000000000000000aa";

class TrainingServiceTest : public ::testing::Test {
 protected:
  TrainingServiceTest()
      : manager_(env_.Manager()),
        training_(manager_.get()),
        registry_(env_.registry.get(), /*chunk_bytes=*/64),
        server_({&training_, &registry_}),
        jobs_(v1::TrainingService::NewStub(server_.channel())),
        models_(v1::ModelRegistryService::NewStub(server_.channel())) {
    env_.datasets.Add(MakeDataset("ds-train", "mew", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 1),
                      {MakeRecord(kAddress, "Scam", "Fake giveaway")});
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    common::SetDeadline(context.get(), absl::Seconds(30));
    return context;
  }

  model::v1::ModelPackage Model(const std::string& name, int entries) {
    model::v1::KnowledgeIndex index;
    for (int i = 0; i < entries; ++i) {
      model::v1::KnowledgeEntry* e = index.add_entries();
      e->mutable_merged()->set_address(kAddress);
      e->mutable_merged()->set_name(std::string(40, 'n'));
    }
    return ::ethscan::testing::KnowledgePackage(name, index);
  }

  testing::TestEnv env_;
  std::unique_ptr<JobManager> manager_;
  TrainingServiceImpl training_;
  ModelRegistryServiceImpl registry_;
  testing::InProcessServer server_;
  std::unique_ptr<v1::TrainingService::Stub> jobs_;
  std::unique_ptr<v1::ModelRegistryService::Stub> models_;
};

TEST_F(TrainingServiceTest, CreateGetAndListJobs) {
  v1::CreateJobRequest request;
  v1::CreateJobResponse created;
  grpc::Status status = jobs_->CreateJob(Context().get(), request, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "training_dataset is required");

  request.set_training_dataset("ds-nope");
  status = jobs_->CreateJob(Context().get(), request, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("\"ds-nope\""));

  request.set_training_dataset("ds-train");
  ASSERT_TRUE(jobs_->CreateJob(Context().get(), request, &created).ok());
  EXPECT_EQ(created.job().status(), v1::JOB_STATUS_QUEUED);

  v1::GetJobRequest get;
  get.set_id(created.job().id());
  v1::GetJobResponse got;
  ASSERT_TRUE(jobs_->GetJob(Context().get(), get, &got).ok());
  EXPECT_EQ(got.job().id(), created.job().id());
  get.set_id("ftjob-unknown");
  EXPECT_EQ(jobs_->GetJob(Context().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::ListJobsResponse list;
  ASSERT_TRUE(jobs_->ListJobs(Context().get(), v1::ListJobsRequest(), &list).ok());
  ASSERT_EQ(list.jobs_size(), 1);  // The refused request stored nothing.
  EXPECT_EQ(list.jobs(0).id(), created.job().id());

  v1::ListCheckpointsRequest checkpoints_request;
  checkpoints_request.set_id(created.job().id());
  v1::ListCheckpointsResponse checkpoints;
  ASSERT_TRUE(jobs_->ListCheckpoints(Context().get(), checkpoints_request, &checkpoints).ok());
  EXPECT_THAT(checkpoints.checkpoints(), IsEmpty());
}

TEST_F(TrainingServiceTest, HugeIdGivesAShortError) {
  // A 5 MiB id is quoted in a few dozen characters, whatever the RPC. The handlers are called
  // directly: a 5 MiB request is above gRPC's default receive limit.
  const std::string huge(5 << 20, 'a');
  grpc::ServerContext context;
  v1::GetJobRequest get;
  get.set_id(absl::StrCat("ftjob-", huge));
  v1::GetJobResponse got;
  grpc::Status status = training_.GetJob(&context, &get, &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(status.error_message().size(), 250u) << status.error_message().substr(0, 300);
  EXPECT_THAT(status.error_message(), HasSubstr("id \"ftjob-aaa"));
  EXPECT_THAT(status.error_message(), HasSubstr("…\" (5242886 bytes)"));

  v1::CreateJobRequest create;
  create.set_training_dataset(absl::StrCat("ds-", huge));
  v1::CreateJobResponse created;
  status = training_.CreateJob(&context, &create, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(status.error_message().size(), 250u) << status.error_message().substr(0, 300);
  EXPECT_THAT(status.error_message(), HasSubstr("training_dataset \"ds-aaa"));

  v1::GetModelRequest model;
  model.set_name(huge);
  v1::GetModelResponse found;
  status = registry_.GetModel(&context, &model, &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LT(status.error_message().size(), 250u) << status.error_message().substr(0, 300);
  EXPECT_THAT(status.error_message(), HasSubstr("…\" (5242880 bytes) not found"));
}

TEST_F(TrainingServiceTest, CancelAndWatchJob) {
  v1::CreateJobRequest request;
  request.set_training_dataset("ds-train");
  v1::CreateJobResponse created;
  ASSERT_TRUE(jobs_->CreateJob(Context().get(), request, &created).ok());
  v1::CancelJobRequest cancel;
  cancel.set_id(created.job().id());
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Context().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.job().status(), v1::JOB_STATUS_CANCELLED);
  EXPECT_EQ(jobs_->CancelJob(Context().get(), cancel, &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::ListJobEventsRequest events_request;
  events_request.set_id(created.job().id());
  v1::ListJobEventsResponse events;
  ASSERT_TRUE(jobs_->ListJobEvents(Context().get(), events_request, &events).ok());
  EXPECT_EQ(events.events_size(), 3);

  v1::WatchJobRequest watch;
  watch.set_id(created.job().id());
  auto context = Context();
  auto reader = jobs_->WatchJob(context.get(), watch);
  v1::WatchJobResponse message;
  std::vector<v1::JobStatus> statuses;
  while (reader->Read(&message)) statuses.push_back(message.event().status());
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(statuses,
            (std::vector<v1::JobStatus>{v1::JOB_STATUS_VALIDATING_FILES, v1::JOB_STATUS_QUEUED,
                                        v1::JOB_STATUS_CANCELLED}));
  EXPECT_EQ(message.job().status(), v1::JOB_STATUS_CANCELLED);
}

TEST_F(TrainingServiceTest, RegistryResolvesAliasesAndDownloadsInChunks) {
  v1::GetModelResponse got;
  grpc::Status status = models_->GetModel(Context().get(), v1::GetModelRequest(), &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no model published yet");

  model::v1::ModelPackage package = Model("ft:ethscan-base:custom:ftjob-1", 5);
  const model::v1::Manifest& model = package.manifest();
  ASSERT_THAT(env_.registry->Publish(package), IsOk());
  v1::SetAliasRequest alias;
  alias.set_alias("production");
  alias.set_model(model.name());
  v1::SetAliasResponse aliased;
  ASSERT_TRUE(models_->SetAlias(Context().get(), alias, &aliased).ok());
  EXPECT_EQ(aliased.model().aliases(0), "production");
  alias.set_alias("Bad Alias");
  EXPECT_EQ(models_->SetAlias(Context().get(), alias, &aliased).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  ASSERT_TRUE(models_->GetModel(Context().get(), v1::GetModelRequest(), &got).ok());
  EXPECT_EQ(got.model().name(), model.name());

  v1::DownloadModelRequest download;
  download.set_name("production");
  auto context = Context();
  auto reader = models_->DownloadModel(context.get(), download);
  v1::DownloadModelResponse message;
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_TRUE(message.has_model());
  v1::Model meta = message.model();
  std::string bytes;
  int chunks = 0;
  while (reader->Read(&message)) {
    ASSERT_FALSE(message.has_model());
    EXPECT_LE(message.chunk().size(), 64u);
    bytes += message.chunk();
    ++chunks;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_GT(chunks, 1);
  EXPECT_EQ(bytes.size(), meta.size_bytes());
  EXPECT_EQ(eth::Sha256::HexDigest(bytes), meta.sha256());
  model::v1::ModelPackage parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(::ethscan::testing::IndexOf(parsed).entries_size(), 5);

  v1::ListModelsResponse list;
  ASSERT_TRUE(models_->ListModels(Context().get(), v1::ListModelsRequest(), &list).ok());
  ASSERT_EQ(list.models_size(), 1);
  EXPECT_EQ(list.models(0).aliases(0), "production");

  v1::DeleteModelRequest del;
  del.set_name(model.name());
  v1::DeleteModelResponse deleted;
  EXPECT_EQ(models_->DeleteModel(Context().get(), del, &deleted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // "production" points at it.
  v1::DeleteAliasRequest unalias;
  unalias.set_alias("production");
  v1::DeleteAliasResponse unaliased;
  ASSERT_TRUE(models_->DeleteAlias(Context().get(), unalias, &unaliased).ok());
  ASSERT_TRUE(models_->DeleteModel(Context().get(), del, &deleted).ok());
  EXPECT_EQ(models_->DeleteModel(Context().get(), del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
  download.set_name("production");
  auto context2 = Context();
  auto gone = models_->DownloadModel(context2.get(), download);
  EXPECT_FALSE(gone->Read(&message));
  EXPECT_EQ(gone->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TrainingServiceTest, DownloadOfCorruptModelIsDataLossBeforeAnyMessage) {
  ASSERT_OK_AND_ASSIGN(v1::Model meta,
                       env_.registry->Publish(Model("ft:ethscan-base:custom:ftjob-2", 2)));
  {
    std::ofstream out(env_.registry->ModelPath(meta.name()), std::ios::binary | std::ios::app);
    out << "trailing garbage";
  }
  v1::DownloadModelRequest download;
  download.set_name(meta.name());
  auto context = Context();
  auto reader = models_->DownloadModel(context.get(), download);
  v1::DownloadModelResponse message;
  EXPECT_FALSE(reader->Read(&message));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(status.error_message(), HasSubstr("SHA-256"));
}

}  // namespace
}  // namespace ethscan::training

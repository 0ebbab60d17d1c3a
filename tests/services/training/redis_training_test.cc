// The Redis-backed job store, queue and model store against a real redis-server, and the
// whole flow: CreateJob → worker → registry → DownloadModel, with a fake DatasetService
// served on a loopback port. Label `redis`.
#include <grpcpp/client_context.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/eth/hash.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "common/redis/redis_client.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/training/job_manager.h"
#include "services/training/redis_job_queue.h"
#include "services/training/redis_job_store.h"
#include "services/training/redis_model_store.h"
#include "services/training/training_service.h"
#include "services/training/worker.h"
#include "tests/services/training/fakes.h"
#include "tests/testing/model_packages.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::training {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::MakeDataset;
using testing::MakeRecord;
using ::testing::MatchesRegex;
using ::testing::Optional;
using ::testing::SizeIs;

constexpr char kA[] = "0x00000000000000000000000000000000000000aa";
constexpr char kB[] = "0x00000000000000000000000000000000000000bb";

class RedisTrainingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(redis_server_, ethscan::testing::RedisServer::Start());
    redis_options_.url = redis_server_->url();
    ASSERT_OK_AND_ASSIGN(redis_, Connect());
    ASSERT_OK_AND_ASSIGN(blocking_, Connect());
    jobs_ = std::make_unique<RedisJobStore>(redis_.get(), [this] { return Connect(); });
    queue_ = std::make_unique<RedisJobQueue>(redis_.get(), blocking_.get());
    ASSERT_THAT(queue_->EnsureGroup(), IsOk());
    models_ = std::make_unique<RedisModelStore>(redis_.get());
    dir_ = ethscan::testing::MakeTempDir("redis-training");
    common::ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.shutdown_deadline = absl::Seconds(1);
    ASSERT_OK_AND_ASSIGN(dataset_server_, common::Server::Start(options, {&datasets_}));
    dataset_client_ = std::make_unique<DatasetClient>(dataset::v1::DatasetService::NewStub(
        common::CreateChannel(absl::StrCat("127.0.0.1:", dataset_server_->port()))));
    ModelRegistry::Options registry_options;
    registry_options.models_dir = dir_ + "/models";
    ASSERT_OK_AND_ASSIGN(
        registry_, ModelRegistry::Create(registry_options, models_.get(), dataset_client_.get()));
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  absl::StatusOr<std::unique_ptr<redis::Client>> Connect() {
    absl::StatusOr<std::unique_ptr<redis::HiredisClient>> client =
        redis::HiredisClient::Create(redis_options_);
    if (!client.ok()) return client.status();
    return std::unique_ptr<redis::Client>(*std::move(client));
  }

  // Fills the fake dataset service (served on a loopback port since SetUp).
  void StartDatasetService() {
    datasets_.Add(MakeDataset("ds-ofac", "ofac", dataset::v1::DATASET_FORMAT_OFAC_SDN, 100),
                  {MakeRecord(kA, "Sanctioned", "LAZARUS GROUP")});
    datasets_.Add(
        MakeDataset("ds-forta", "forta", dataset::v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS, 200),
        {MakeRecord(kA, "Phish / Hack", "Fake_Phishing1"),
         MakeRecord(kB, "Phish / Hack", "Fake_Phishing2")});
  }

  std::unique_ptr<Worker> MakeWorker(const std::string& consumer, absl::Duration claim_idle) {
    Worker::Options options;
    options.consumer = consumer;
    options.claim_idle = claim_idle;
    options.block = absl::Milliseconds(100);
    return std::make_unique<Worker>(options, jobs_.get(), queue_.get(), registry_.get(),
                                    dataset_client_.get(), &common::SystemClock::Get());
  }

  int64_t Integer(const std::vector<std::string>& command) {
    absl::StatusOr<redis::Reply> reply = redis_->Command(command);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->integer : -1;
  }

  std::unique_ptr<ethscan::testing::RedisServer> redis_server_;
  redis::Options redis_options_;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<redis::Client> blocking_;
  std::unique_ptr<RedisJobStore> jobs_;
  std::unique_ptr<RedisJobQueue> queue_;
  std::unique_ptr<RedisModelStore> models_;
  std::string dir_;
  testing::FakeDatasetService datasets_;
  std::unique_ptr<common::Server> dataset_server_;
  std::unique_ptr<DatasetClient> dataset_client_;
  std::unique_ptr<ModelRegistry> registry_;
};

v1::Job MakeJob(const std::string& id, int64_t create_seconds) {
  v1::Job job;
  job.set_id(id);
  job.set_status(v1::JOB_STATUS_VALIDATING_FILES);
  job.mutable_create_time()->set_seconds(create_seconds);
  return job;
}

TEST_F(RedisTrainingTest, JobStoreCreatesUpdatesAndListsJobsWithEvents) {
  absl::Time t = absl::FromUnixSeconds(1700000000);
  v1::Job job = MakeJob("ftjob-1", 100);
  ASSERT_THAT(jobs_->Create(job, MessageEvent(t, "info", "created", job.status())), IsOk());
  EXPECT_THAT(jobs_->Create(job, MessageEvent(t, "info", "again")),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT(jobs_->Create(MakeJob("ftjob-2", 200), MessageEvent(t, "info", "created")), IsOk());
  EXPECT_EQ(Integer({"ZCARD", "ethscan:training:jobs"}), 2);
  EXPECT_EQ(Integer({"HEXISTS", "ethscan:training:job:ftjob-1", "job"}), 1);

  v1::Job queued = job;
  queued.set_status(v1::JOB_STATUS_QUEUED);
  v1::JobEvent metrics = MessageEvent(t + absl::Seconds(1), "info", "queued", queued.status());
  metrics.set_type("metrics");
  (*metrics.mutable_metrics())["train_loss"] = 0.125;
  (*metrics.mutable_metrics())["step"] = 3;
  ASSERT_THAT(jobs_->Update(job, queued, &metrics), IsOk());
  EXPECT_THAT(jobs_->Update(job, queued, nullptr), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(jobs_->Update(MakeJob("ftjob-9", 1), MakeJob("ftjob-9", 1), nullptr),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(v1::Job stored, jobs_->Get("ftjob-1"));
  EXPECT_EQ(stored.status(), v1::JOB_STATUS_QUEUED);
  EXPECT_THAT(jobs_->Get("ftjob-9"), StatusIs(absl::StatusCode::kNotFound));

  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> events, jobs_->ListEvents("ftjob-1", "", 0));
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0].message(), "created");
  EXPECT_EQ(events[0].status(), v1::JOB_STATUS_VALIDATING_FILES);
  EXPECT_EQ(events[0].create_time().seconds(), 1700000000);
  EXPECT_EQ(events[1].type(), "metrics");
  EXPECT_EQ(events[1].metrics().at("train_loss"), 0.125);
  EXPECT_EQ(events[1].metrics().at("step"), 3);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> after,
                       jobs_->ListEvents("ftjob-1", events[0].id(), 1));
  ASSERT_THAT(after, SizeIs(1));
  EXPECT_EQ(after[0].id(), events[1].id());
  EXPECT_THAT(jobs_->ListEvents("ftjob-1", "bad", 0), StatusIs(absl::StatusCode::kInvalidArgument));

  ASSERT_OK_AND_ASSIGN(JobPage page, jobs_->List(0, 1));
  EXPECT_EQ(page.total, 2);
  ASSERT_THAT(page.jobs, SizeIs(1));
  EXPECT_EQ(page.jobs[0].id(), "ftjob-2");

  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> none,
                       jobs_->WaitForEvents("ftjob-1", events[1].id(), absl::Milliseconds(50)));
  EXPECT_THAT(none, IsEmpty());
  ASSERT_THAT(jobs_->AppendEvent("ftjob-1", MessageEvent(t, "warning", "late")), IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> late,
                       jobs_->WaitForEvents("ftjob-1", events[1].id(), absl::Seconds(5)));
  ASSERT_THAT(late, SizeIs(1));
  EXPECT_EQ(late[0].level(), "warning");

  // A batch arrives in order, each event with an id of its own.
  std::vector<v1::JobEvent> batch;
  for (int step = 1; step <= 3; ++step) {
    v1::JobEvent e = MessageEvent(t, "info", absl::StrCat("Step ", step, "/3"));
    e.set_type("metrics");
    (*e.mutable_metrics())["step"] = step;
    batch.push_back(e);
  }
  ASSERT_THAT(jobs_->AppendEvents("ftjob-1", batch), IsOk());
  ASSERT_THAT(jobs_->AppendEvents("ftjob-1", {}), IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::JobEvent> appended,
                       jobs_->ListEvents("ftjob-1", late[0].id(), 0));
  ASSERT_THAT(appended, SizeIs(3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(appended[i].message(), absl::StrCat("Step ", i + 1, "/3"));
    EXPECT_EQ(appended[i].type(), "metrics");
    EXPECT_EQ(appended[i].metrics().at("step"), i + 1);
  }
  EXPECT_NE(appended[0].id(), appended[1].id());
}

TEST_F(RedisTrainingTest, CursorsThatAreNotIdsNeverReachRedis) {
  absl::Time t = absl::FromUnixSeconds(1700000000);
  ASSERT_THAT(jobs_->Create(MakeJob("ftjob-1", 100), MessageEvent(t, "info", "created")), IsOk());
  // 2^64 and more: Redis itself would answer "Invalid stream ID".
  for (const char* bad :
       {"99999999999999999999-0", "1-18446744073709551616", "1700000000000", "1-2-3", "+1-0"}) {
    EXPECT_THAT(jobs_->ListEvents("ftjob-1", bad, 0),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("after \"", bad, "\" is not an event id"))))
        << bad;
    EXPECT_THAT(jobs_->WaitForEvents("ftjob-1", bad, absl::Milliseconds(10)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  ASSERT_OK_AND_ASSIGN(
      std::vector<v1::JobEvent> none,
      jobs_->ListEvents("ftjob-1", "18446744073709551615-18446744073709551615", 0));
  EXPECT_THAT(none, IsEmpty());

  JobManager manager(JobManager::Options(), jobs_.get(), queue_.get(), registry_.get(),
                     dataset_client_.get(), &common::SystemClock::Get());
  v1::ListJobEventsRequest events;
  events.set_id("ftjob-1");
  events.set_after("99999999999999999999-0");
  EXPECT_THAT(
      manager.ListJobEvents(events),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("after \"99999999999999999999-0\"")));
  v1::ListJobsRequest list;
  list.set_page_token("9223372036854775807");
  EXPECT_THAT(manager.ListJobs(list), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("page_token \"9223372036854775807\"")));
  EXPECT_THAT(registry_->List(0, "9223372036854775807"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(registry_->List(0, "99999999999999999999"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  list.set_page_token("1000000");
  ASSERT_OK_AND_ASSIGN(v1::ListJobsResponse far, manager.ListJobs(list));
  EXPECT_EQ(far.jobs_size(), 0);
}

TEST_F(RedisTrainingTest, RefusedOrUndoneCreateJobLeavesNoKeys) {
  StartDatasetService();
  JobManager manager(JobManager::Options(), jobs_.get(), queue_.get(), registry_.get(),
                     dataset_client_.get(), &common::SystemClock::Get());
  auto expect_no_job = [this](const std::string& why) {
    SCOPED_TRACE(why);
    EXPECT_EQ(Integer({"ZCARD", "ethscan:training:jobs"}), 0);
    ASSERT_OK_AND_ASSIGN(redis::Reply keys, redis_->Command({"KEYS", "ethscan:training:job:*"}));
    EXPECT_THAT(keys.elements, IsEmpty());
    EXPECT_EQ(Integer({"XLEN", "ethscan:training:queue"}), 0);
    EXPECT_THAT(datasets_.Holders("ds-forta"), IsEmpty());
    EXPECT_THAT(datasets_.Holders("ds-ofac"), IsEmpty());
  };
  v1::CreateJobRequest request;
  request.set_training_dataset("ds-forta");
  request.add_extra_training_datasets("ds-unknown");
  EXPECT_THAT(manager.CreateJob(request),
              StatusIs(absl::StatusCode::kNotFound, "training dataset \"ds-unknown\" not found"));
  expect_no_job("unknown dataset");
  request.set_training_dataset("../../etc/passwd");
  EXPECT_THAT(manager.CreateJob(request), StatusIs(absl::StatusCode::kInvalidArgument));
  expect_no_job("path as a dataset id");

  // Stored, one reference taken, then the second fails: undone.
  request.set_training_dataset("ds-forta");
  request.clear_extra_training_datasets();
  request.add_extra_training_datasets("ds-ofac");
  datasets_.FailAddReferencesFor("ds-ofac", grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(manager.CreateJob(request),
              StatusIs(absl::StatusCode::kNotFound, "training dataset \"ds-ofac\" not found"));
  expect_no_job("dataset deleted while the job was created");

  datasets_.FailAddReferencesFor("ds-ofac", grpc::StatusCode::OK);
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager.CreateJob(request));
  EXPECT_EQ(Integer({"ZCARD", "ethscan:training:jobs"}), 1);
  ASSERT_THAT(jobs_->Delete(job.id()), IsOk());
  EXPECT_THAT(jobs_->Delete(job.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Integer({"ZCARD", "ethscan:training:jobs"}), 0);
  EXPECT_EQ(Integer({"EXISTS", absl::StrCat("ethscan:training:job:", job.id(), ":events")}), 0);
}

TEST_F(RedisTrainingTest, QueuePositionsIdempotencyKeysAndJobOrder) {
  StartDatasetService();
  JobManager manager(JobManager::Options(), jobs_.get(), queue_.get(), registry_.get(),
                     dataset_client_.get(), &common::SystemClock::Get());
  v1::CreateJobRequest request;
  request.set_training_dataset("ds-forta");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(v1::Job job, manager.CreateJob(request));
    ids.push_back(job.id());
    absl::SleepFor(absl::Milliseconds(2));  // Distinct create times.
  }
  EXPECT_EQ(Integer({"ZCARD", "ethscan:training:jobs:queued"}), 3);
  ASSERT_OK_AND_ASSIGN(v1::Job last, manager.GetJob(ids[2]));
  EXPECT_EQ(last.queue_position(), 3);
  ASSERT_THAT(manager.CancelJob(ids[0]), IsOk());
  ASSERT_OK_AND_ASSIGN(last, manager.GetJob(ids[2]));
  EXPECT_EQ(last.queue_position(), 2);
  ASSERT_THAT(jobs_->Delete(ids[1]), IsOk());
  EXPECT_EQ(Integer({"ZCARD", "ethscan:training:jobs:queued"}), 1);
  ASSERT_OK_AND_ASSIGN(std::optional<int64_t> newest, jobs_->IndexOf(ids[2]));
  EXPECT_EQ(newest, std::optional<int64_t>(0));
  ASSERT_OK_AND_ASSIGN(std::optional<int64_t> gone, jobs_->IndexOf(ids[1]));
  EXPECT_FALSE(gone.has_value());

  // An idempotency key outlives nothing it should not: reserved, found, freed only by its
  // holder, and kept under a hash of the key.
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> held,
                       jobs_->ReserveIdempotencyKey("key with\nnewline", "a", absl::Seconds(30)));
  EXPECT_FALSE(held.has_value());
  ASSERT_OK_AND_ASSIGN(held,
                       jobs_->ReserveIdempotencyKey("key with\nnewline", "b", absl::Seconds(30)));
  EXPECT_EQ(held, std::optional<std::string>("a"));
  ASSERT_OK_AND_ASSIGN(redis::Reply keys,
                       redis_->Command({"KEYS", "ethscan:training:idempotency:*"}));
  ASSERT_THAT(keys.elements, SizeIs(1));
  EXPECT_THAT(keys.elements[0].str, MatchesRegex("ethscan:training:idempotency:[0-9a-f]{64}"));
  EXPECT_GT(Integer({"PTTL", keys.elements[0].str}), 0);
  ASSERT_THAT(jobs_->ReleaseIdempotencyKey("key with\nnewline", "b"), IsOk());
  EXPECT_EQ(Integer({"EXISTS", keys.elements[0].str}), 1);
  ASSERT_THAT(jobs_->ReleaseIdempotencyKey("key with\nnewline", "a"), IsOk());
  EXPECT_EQ(Integer({"EXISTS", keys.elements[0].str}), 0);

  request.set_idempotency_key("create-once");
  ASSERT_OK_AND_ASSIGN(v1::Job once, manager.CreateJob(request));
  ASSERT_OK_AND_ASSIGN(v1::Job twice, manager.CreateJob(request));
  EXPECT_EQ(once.id(), twice.id());

  ASSERT_THAT(jobs_->AddPendingRelease("ftjob-x"), IsOk());
  ASSERT_THAT(jobs_->AddPendingRelease("ftjob-x"), IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> pending, jobs_->PendingReleases(10));
  EXPECT_THAT(pending, ElementsAre("ftjob-x"));
  ASSERT_THAT(jobs_->RemovePendingRelease("ftjob-x"), IsOk());
  ASSERT_OK_AND_ASSIGN(pending, jobs_->PendingReleases(10));
  EXPECT_THAT(pending, IsEmpty());
}

// The publish claim checks the job's state and the model's absence in one step.
TEST_F(RedisTrainingTest, PublishingIsFencedByTheJobsState) {
  absl::Time t = absl::FromUnixSeconds(1700000000);
  v1::Job job = MakeJob("ftjob-1", 100);
  ASSERT_THAT(jobs_->Create(job, MessageEvent(t, "info", "created")), IsOk());
  const PublishFence mine{"ftjob-1", JobState(job)};
  const PublishFence stale{"ftjob-1", "3:1"};
  ASSERT_OK_AND_ASSIGN(PublishClaim claim,
                       models_->ClaimPublish("ft:a:b:ftjob-1", stale, "t1", absl::Seconds(30)));
  EXPECT_EQ(claim, PublishClaim::kFenced);
  ASSERT_OK_AND_ASSIGN(claim,
                       models_->ClaimPublish("ft:a:b:ftjob-1", mine, "t1", absl::Seconds(30)));
  EXPECT_EQ(claim, PublishClaim::kGranted);
  ASSERT_OK_AND_ASSIGN(claim,
                       models_->ClaimPublish("ft:a:b:ftjob-1", mine, "t2", absl::Seconds(30)));
  EXPECT_EQ(claim, PublishClaim::kBusy);
  v1::Model model;
  model.set_name("ft:a:b:ftjob-1");
  model.set_job_id("ftjob-1");
  EXPECT_THAT(models_->PutClaimed(model, mine, "t2"), StatusIs(absl::StatusCode::kAborted));
  // The job changes hands before the holder stores the model: nothing is stored.
  v1::Job taken = job;
  taken.set_attempts(2);
  ASSERT_THAT(jobs_->Update(job, taken, nullptr), IsOk());
  EXPECT_THAT(models_->PutClaimed(model, mine, "t1"), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(models_->Get(model.name()), StatusIs(absl::StatusCode::kNotFound));
  // The new attempt publishes; later claims find the model there.
  const PublishFence now{"ftjob-1", JobState(taken)};
  ASSERT_OK_AND_ASSIGN(claim, models_->ClaimPublish(model.name(), now, "t3", absl::Seconds(30)));
  EXPECT_EQ(claim, PublishClaim::kGranted);
  ASSERT_THAT(models_->PutClaimed(model, now, "t3"), IsOk());
  EXPECT_EQ(Integer({"EXISTS", "ethscan:training:publishing:ft:a:b:ftjob-1"}), 0);
  ASSERT_OK_AND_ASSIGN(claim, models_->ClaimPublish(model.name(), now, "t4", absl::Seconds(30)));
  EXPECT_EQ(claim, PublishClaim::kPublished);
}

TEST_F(RedisTrainingTest, ModelStoreKeepsAliasesConsistent) {
  v1::Model a;
  a.set_name("ft:ethscan-base:x:ftjob-a");
  a.mutable_create_time()->set_seconds(100);
  v1::Model b = a;
  b.set_name("ft:ethscan-base:x:ftjob-b");
  b.mutable_create_time()->set_seconds(200);
  ASSERT_THAT(models_->Put(a), IsOk());
  ASSERT_THAT(models_->Put(b), IsOk());
  EXPECT_THAT(models_->SetAlias("production", "ft:missing"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(models_->SetAlias("production", a.name()), IsOk());
  ASSERT_THAT(models_->SetAlias("canary", a.name()), IsOk());
  ASSERT_OK_AND_ASSIGN(v1::Model got, models_->Get(a.name()));
  EXPECT_THAT(got.aliases(), ElementsAre("canary", "production"));
  ASSERT_OK_AND_ASSIGN(ModelPage page, models_->List(0, 10));
  ASSERT_THAT(page.models, SizeIs(2));
  EXPECT_EQ(page.models[0].name(), b.name());
  EXPECT_THAT(models_->Delete(a.name()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("points at it")));
  // Moving an alias records where it pointed; a rollback goes back there.
  ASSERT_THAT(models_->SetAlias("production", b.name()), IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> history, models_->AliasHistory("production"));
  EXPECT_THAT(history, ElementsAre(a.name()));
  ASSERT_OK_AND_ASSIGN(std::string back, models_->RollbackAlias("production"));
  EXPECT_EQ(back, a.name());
  EXPECT_THAT(models_->RollbackAlias("production"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(models_->DeleteAlias("production"), IsOk());
  EXPECT_THAT(models_->DeleteAlias("production"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(models_->DeleteAlias("canary"), IsOk());
  ASSERT_THAT(models_->Delete(a.name()), IsOk());
  EXPECT_THAT(models_->Delete(a.name()), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> alias, models_->GetAlias("production"));
  EXPECT_FALSE(alias.has_value());
  EXPECT_EQ(Integer({"HLEN", "ethscan:training:aliases"}), 0);
  EXPECT_EQ(Integer({"ZCARD", "ethscan:training:models"}), 1);
}

TEST_F(RedisTrainingTest, QueueDeliversAcknowledgesAndDeadLetters) {
  ASSERT_THAT(queue_->EnsureGroup(), IsOk());  // BUSYGROUP is not an error.
  ASSERT_OK_AND_ASSIGN(std::string id, queue_->Enqueue("ftjob-1"));
  ASSERT_OK_AND_ASSIGN(std::optional<QueueEntry> entry,
                       queue_->ReadNew("c1", absl::Milliseconds(100)));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->entry_id, id);
  EXPECT_EQ(entry->job_id, "ftjob-1");
  ASSERT_OK_AND_ASSIGN(std::optional<QueueEntry> empty,
                       queue_->ReadNew("c1", absl::Milliseconds(50)));
  EXPECT_FALSE(empty.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<QueueEntry> not_idle,
                       queue_->ClaimStale("c2", absl::Seconds(60)));
  EXPECT_FALSE(not_idle.has_value());
  ASSERT_THAT(queue_->Heartbeat("c1", id), IsOk());
  ASSERT_THAT(queue_->Ack(id), IsOk());
  EXPECT_EQ(Integer({"XLEN", "ethscan:training:queue"}), 0);
  ASSERT_THAT(queue_->DeadLetter("ftjob-1", "boom", 3), IsOk());
  EXPECT_EQ(Integer({"XLEN", "ethscan:training:deadletter"}), 1);
  ASSERT_THAT(queue_->DeadLetter("ftjob-2", "bang", 1), IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<DeadLetterRecord> dead, queue_->ListDeadLetters("", 10));
  ASSERT_THAT(dead, SizeIs(2));
  EXPECT_EQ(dead[0].job_id, "ftjob-2");  // Newest first.
  EXPECT_EQ(dead[1].reason, "boom");
  EXPECT_EQ(dead[1].attempts, 3);
  ASSERT_OK_AND_ASSIGN(std::vector<DeadLetterRecord> older,
                       queue_->ListDeadLetters(dead[0].id, 10));
  ASSERT_THAT(older, SizeIs(1));
  EXPECT_EQ(older[0].job_id, "ftjob-1");
}

// A failed attempt's entry leaves the queue and its job waits in the retry set until due.
TEST_F(RedisTrainingTest, RetriesWaitInTheRetrySetUntilDue) {
  ASSERT_THAT(queue_->EnsureGroup(), IsOk());
  ASSERT_OK_AND_ASSIGN(std::string id, queue_->Enqueue("ftjob-1"));
  ASSERT_OK_AND_ASSIGN(std::optional<QueueEntry> entry,
                       queue_->ReadNew("c1", absl::Milliseconds(100)));
  ASSERT_TRUE(entry.has_value());
  const absl::Time now = absl::Now();
  ASSERT_THAT(queue_->RetryLater(id, "ftjob-1", now + absl::Seconds(30)), IsOk());
  EXPECT_EQ(Integer({"XLEN", "ethscan:training:queue"}), 0);
  EXPECT_EQ(Integer({"ZCARD", "ethscan:training:queue:retry"}), 1);
  ASSERT_OK_AND_ASSIGN(std::optional<QueueEntry> stale,
                       queue_->ClaimStale("c2", absl::ZeroDuration()));
  EXPECT_FALSE(stale.has_value());  // Not pending any more.
  ASSERT_OK_AND_ASSIGN(int moved, queue_->PromoteDue(now));
  EXPECT_EQ(moved, 0);
  ASSERT_OK_AND_ASSIGN(moved, queue_->PromoteDue(now + absl::Seconds(31)));
  EXPECT_EQ(moved, 1);
  EXPECT_EQ(Integer({"ZCARD", "ethscan:training:queue:retry"}), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<QueueEntry> again,
                       queue_->ReadNew("c2", absl::Milliseconds(100)));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->job_id, "ftjob-1");
  EXPECT_NE(again->entry_id, id);
}

TEST_F(RedisTrainingTest, JobRunsEndToEndAndModelIsServed) {
  StartDatasetService();
  JobManager manager(JobManager::Options(), jobs_.get(), queue_.get(), registry_.get(),
                     dataset_client_.get(), &common::SystemClock::Get());
  TrainingServiceImpl training(&manager);
  ModelRegistryServiceImpl registry(registry_.get());
  common::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.shutdown_deadline = absl::Seconds(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::Server> server,
                       common::Server::Start(options, {&training, &registry}));
  auto channel = common::CreateChannel(absl::StrCat("127.0.0.1:", server->port()));
  auto jobs = v1::TrainingService::NewStub(channel);
  auto models = v1::ModelRegistryService::NewStub(channel);
  auto call = [] {
    auto context = std::make_unique<grpc::ClientContext>();
    common::SetDeadline(context.get(), absl::Seconds(30));
    return context;
  };

  // No model yet.
  v1::GetModelResponse got;
  grpc::Status status = models->GetModel(call().get(), v1::GetModelRequest(), &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no model published yet");

  v1::CreateJobRequest request;
  request.set_training_dataset("ds-forta");
  request.add_extra_training_datasets("ds-ofac");
  request.set_suffix("labels");
  v1::CreateJobResponse created;
  ASSERT_TRUE(jobs->CreateJob(call().get(), request, &created).ok());
  ASSERT_EQ(created.job().status(), v1::JOB_STATUS_QUEUED);
  EXPECT_EQ(Integer({"XLEN", "ethscan:training:queue"}), 1);

  std::unique_ptr<Worker> worker = MakeWorker("worker-1", absl::Seconds(60));
  ASSERT_OK_AND_ASSIGN(std::optional<Worker::Outcome> outcome, worker->RunOnce());
  EXPECT_THAT(outcome, Optional(Worker::Outcome::kSucceeded));
  EXPECT_EQ(Integer({"XLEN", "ethscan:training:queue"}), 0);  // Acknowledged and deleted.

  v1::GetJobRequest get;
  get.set_id(created.job().id());
  v1::GetJobResponse job;
  ASSERT_TRUE(jobs->GetJob(call().get(), get, &job).ok());
  EXPECT_EQ(job.job().status(), v1::JOB_STATUS_SUCCEEDED);
  std::string name = job.job().fine_tuned_model();
  EXPECT_EQ(name, absl::StrCat("ft:ethscan-base:labels:", created.job().id()));
  EXPECT_EQ(job.job().trained_records(), 3u);

  // The watch replays the job's whole history and ends, since the job is finished.
  v1::WatchJobRequest watch;
  watch.set_id(created.job().id());
  auto watch_context = call();
  auto watch_reader = jobs->WatchJob(watch_context.get(), watch);
  v1::WatchJobResponse event;
  std::vector<std::string> types;
  while (watch_reader->Read(&event)) types.push_back(event.event().type());
  ASSERT_TRUE(watch_reader->Finish().ok());
  EXPECT_GE(types.size(), 5u);
  EXPECT_EQ(event.event().status(), v1::JOB_STATUS_SUCCEEDED);
  EXPECT_THAT(types, ::testing::Contains("metrics"));

  // Default resolution: the newest model.
  ASSERT_TRUE(models->GetModel(call().get(), v1::GetModelRequest(), &got).ok());
  EXPECT_EQ(got.model().name(), name);
  EXPECT_EQ(got.model().address_count(), 2u);

  // DownloadModel round trip.
  v1::DownloadModelRequest download;
  download.set_name(name);
  auto download_context = call();
  auto reader = models->DownloadModel(download_context.get(), download);
  v1::DownloadModelResponse message;
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_TRUE(message.has_model());
  v1::Model meta = message.model();
  std::string bytes;
  while (reader->Read(&message)) bytes += message.chunk();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(eth::Sha256::HexDigest(bytes), meta.sha256());
  model::v1::ModelPackage package;
  ASSERT_TRUE(package.ParseFromString(bytes));
  const model::v1::KnowledgeIndex model = ::ethscan::testing::IndexOf(package);
  ASSERT_EQ(model.entries_size(), 2);
  EXPECT_EQ(model.entries(0).merged().label(), "Sanctioned");
  EXPECT_THAT(model.entries(0).conflicts(),
              ElementsAre(HasSubstr("label: Sanctioned (ofac) vs Phish / Hack (forta)"),
                          HasSubstr("name: \"LAZARUS GROUP\" (ofac)")));

  // A second job: the newest model becomes the default until "production" is set.
  request.set_suffix("second");
  request.clear_extra_training_datasets();
  ASSERT_TRUE(jobs->CreateJob(call().get(), request, &created).ok());
  ASSERT_OK_AND_ASSIGN(outcome, worker->RunOnce());
  EXPECT_THAT(outcome, Optional(Worker::Outcome::kSucceeded));
  ASSERT_TRUE(models->GetModel(call().get(), v1::GetModelRequest(), &got).ok());
  EXPECT_EQ(got.model().name(), absl::StrCat("ft:ethscan-base:second:", created.job().id()));
  v1::SetAliasRequest alias;
  alias.set_alias("production");
  alias.set_model(name);
  v1::SetAliasResponse aliased;
  ASSERT_TRUE(models->SetAlias(call().get(), alias, &aliased).ok());
  ASSERT_TRUE(models->GetModel(call().get(), v1::GetModelRequest(), &got).ok());
  EXPECT_EQ(got.model().name(), name);
  EXPECT_THAT(got.model().aliases(), ElementsAre("production"));
  v1::GetModelRequest by_alias;
  by_alias.set_name("production");
  ASSERT_TRUE(models->GetModel(call().get(), by_alias, &got).ok());
  EXPECT_EQ(got.model().name(), name);

  // A job whose dataset disappears fails for good and is dead-lettered.
  request.set_suffix("third");
  ASSERT_TRUE(jobs->CreateJob(call().get(), request, &created).ok());
  datasets_.FailReads("ds-forta", grpc::StatusCode::NOT_FOUND, 1);
  ASSERT_OK_AND_ASSIGN(outcome, worker->RunOnce());
  EXPECT_THAT(outcome, Optional(Worker::Outcome::kFailed));
  EXPECT_EQ(Integer({"XLEN", "ethscan:training:deadletter"}), 1);
}

TEST_F(RedisTrainingTest, EntryOfCrashedConsumerIsReclaimedByAnotherWorker) {
  StartDatasetService();
  JobManager manager(JobManager::Options(), jobs_.get(), queue_.get(), registry_.get(),
                     dataset_client_.get(), &common::SystemClock::Get());
  v1::CreateJobRequest request;
  request.set_training_dataset("ds-ofac");
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager.CreateJob(request));

  // A consumer reads the entry and "crashes": it never acknowledges it.
  ASSERT_OK_AND_ASSIGN(std::optional<QueueEntry> taken,
                       queue_->ReadNew("crashed-1", absl::Milliseconds(100)));
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->job_id, job.id());

  std::unique_ptr<Worker> rescuer = MakeWorker("rescuer-1", absl::Milliseconds(100));
  std::optional<Worker::Outcome> outcome;
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!outcome.has_value() && absl::Now() < give_up) {
    // Each round blocks on the queue for up to 100 ms, so this polls without sleeping.
    ASSERT_OK_AND_ASSIGN(outcome, rescuer->RunOnce());
  }
  EXPECT_THAT(outcome, Optional(Worker::Outcome::kSucceeded));
  ASSERT_OK_AND_ASSIGN(v1::Job done, jobs_->Get(job.id()));
  EXPECT_EQ(done.status(), v1::JOB_STATUS_SUCCEEDED);
  EXPECT_EQ(done.attempts(), 1);
  ASSERT_OK_AND_ASSIGN(redis::Reply pending,
                       redis_->Command({"XPENDING", "ethscan:training:queue", "workers"}));
  ASSERT_FALSE(pending.elements.empty());
  EXPECT_EQ(pending.elements[0].integer, 0);
}

}  // namespace
}  // namespace ethscan::training

#include "services/training/worker.h"

#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/model/package.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/training/test_env.h"
#include "tests/testing/model_packages.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::training {
namespace {

using ::ethscan::testing::IsOk;

// The ids of the manifest's training datasets, in order.
std::vector<std::string> TrainingDatasets(const model::v1::Manifest& manifest) {
  std::vector<std::string> ids;
  for (const model::v1::DatasetRef& d : manifest.datasets()) {
    if (d.role() == "training") ids.push_back(d.id());
  }
  return ids;
}

using ::ethscan::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::MakeDataset;
using testing::MakeRecord;
using ::testing::Not;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::SizeIs;
using Outcome = Worker::Outcome;

constexpr char kA[] = "0x00000000000000000000000000000000000000aa";
constexpr char kB[] = "0x00000000000000000000000000000000000000bb";
constexpr char kC[] = "0x00000000000000000000000000000000000000cc";

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    common::v1::AddressRecord sanctioned = MakeRecord(kA, "Sanctioned", "LAZARUS GROUP");
    sanctioned.set_original_label("listed");
    env_.datasets.Add(MakeDataset("ds-ofac", "ofac", dataset::v1::DATASET_FORMAT_OFAC_SDN, 100),
                      {sanctioned});
    env_.datasets.Add(
        MakeDataset("ds-labels", "labels", dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS, 200),
        {MakeRecord(kA, "Unknown", "Lazarus", {"heist"}), MakeRecord(kB, "Legit", "Exchange 1"),
         MakeRecord(kC, "Scam", "Fake"), MakeRecord("0x123", "Scam")});
    manager_ = env_.Manager();
    worker_ = env_.MakeWorker("worker-1");
  }

  // Dataset handlers may still run a hook after the client cancelled its stream; stop them
  // while the objects the hooks use are alive.
  void TearDown() override { env_.server.Shutdown(); }

  v1::Job Create(const std::string& dataset, std::vector<std::string> extra = {},
                 const std::string& base = "", const std::string& validation = "") {
    v1::CreateJobRequest request;
    request.set_training_dataset(dataset);
    for (const std::string& e : extra) request.add_extra_training_datasets(e);
    request.set_base_model(base);
    request.set_validation_dataset(validation);
    absl::StatusOr<v1::Job> job = manager_->CreateJob(request);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : v1::Job();
  }

  v1::Job Job(const std::string& id) { return env_.store.Get(id).value(); }

  std::vector<v1::JobEvent> Events(const std::string& id) {
    return env_.store.ListEvents(id, "", 0).value();
  }

  std::optional<Outcome> RunOnce(Worker* worker = nullptr) {
    absl::StatusOr<std::optional<Outcome>> outcome = (worker ? worker : worker_.get())->RunOnce();
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? *outcome : std::nullopt;
  }

  testing::TestEnv env_;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerTest, NothingQueuedMeansNothingDone) { EXPECT_EQ(RunOnce(), std::nullopt); }

TEST_F(WorkerTest, RunsJobPublishesModelAndRecordsMetrics) {
  v1::Job job = Create("ds-labels", {"ds-ofac"});
  EXPECT_THAT(env_.datasets.Holders("ds-labels"), ElementsAre(absl::StrCat("job/", job.id())));
  EXPECT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  // The finished job dropped its references; the published model holds its own.
  const std::string model_holder = absl::StrCat("model/ft:ethscan-base:custom:", job.id());
  EXPECT_THAT(env_.datasets.Holders("ds-labels"), ElementsAre(model_holder));
  EXPECT_THAT(env_.datasets.Holders("ds-ofac"), ElementsAre(model_holder));
  v1::Job done = Job(job.id());
  EXPECT_EQ(done.status(), v1::JOB_STATUS_SUCCEEDED);
  EXPECT_EQ(done.attempts(), 1);
  EXPECT_EQ(done.trained_records(), 5u);
  EXPECT_EQ(done.fine_tuned_model(), absl::StrCat("ft:ethscan-base:custom:", job.id()));
  EXPECT_TRUE(done.has_start_time());
  EXPECT_TRUE(done.has_finish_time());
  EXPECT_THAT(env_.queue.Pending(), IsEmpty());

  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage package,
                       env_.registry->Load(done.fine_tuned_model()));
  EXPECT_THAT(TrainingDatasets(package.manifest()), ElementsAre("ds-labels", "ds-ofac"));
  EXPECT_THAT(package.manifest().kinds(), ElementsAre("knowledge"));
  const model::v1::KnowledgeIndex model = ::ethscan::testing::IndexOf(package);
  ASSERT_EQ(model.entries_size(), 3);  // "0x123" is skipped.
  EXPECT_EQ(model.entries(0).merged().label(), "Sanctioned");
  EXPECT_EQ(model.entries(0).merged().name(), "LAZARUS GROUP");
  EXPECT_THAT(model.entries(0).merged().tags(), ElementsAre("heist"));
  EXPECT_EQ(package.manifest().job_id(), job.id());

  std::vector<v1::JobEvent> events = Events(job.id());
  std::vector<std::string> messages;
  const v1::JobEvent* metrics = nullptr;
  for (const v1::JobEvent& e : events) {
    messages.push_back(e.message());
    if (e.type() == "metrics") metrics = &e;
  }
  EXPECT_THAT(messages, Contains(HasSubstr("attempt 1 of 3 started by worker worker-1")));
  EXPECT_THAT(messages, Contains(HasSubstr("skipped 1 record(s) with an invalid address")));
  ASSERT_NE(metrics, nullptr);
  EXPECT_EQ(metrics->metrics().at("trained_records"), 5);
  EXPECT_EQ(metrics->metrics().at("addresses"), 3);
  EXPECT_EQ(metrics->metrics().at("conflicts"), 1);  // The name of kA.
  EXPECT_EQ(metrics->metrics().at("skipped_records"), 1);
  EXPECT_EQ(events.back().status(), v1::JOB_STATUS_SUCCEEDED);
  EXPECT_THAT(events.back().message(), HasSubstr("published"));
}

TEST_F(WorkerTest, SkipsJobCancelledWhileQueued) {
  v1::Job job = Create("ds-labels");
  ASSERT_THAT(manager_->CancelJob(job.id()), IsOk());
  EXPECT_THAT(RunOnce(), Optional(Outcome::kCancelled));
  EXPECT_THAT(env_.queue.Pending(), IsEmpty());
  EXPECT_EQ(Job(job.id()).attempts(), 0);
  EXPECT_THAT(env_.registry->Resolve(""), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(WorkerTest, JobCancelledMidRunEndsCancelledWithoutModel) {
  v1::Job job = Create("ds-labels");
  env_.datasets.OnBatch([this, id = job.id(), batches = 0]() mutable {
    if (++batches == 2) {
      EXPECT_THAT(manager_->CancelJob(id), IsOk());
    }
  });
  EXPECT_THAT(RunOnce(), Optional(Outcome::kCancelled));
  EXPECT_EQ(Job(job.id()).status(), v1::JOB_STATUS_CANCELLED);
  EXPECT_THAT(env_.queue.Pending(), IsEmpty());
  EXPECT_THAT(env_.registry->Resolve(""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(env_.store.EventMessages(job.id()),
              Contains("training stopped: the job was cancelled"));
  EXPECT_THAT(env_.datasets.Holders("ds-labels"), IsEmpty());
}

TEST_F(WorkerTest, TransientFailuresAreRetriedThenDeadLettered) {
  v1::Job job = Create("ds-labels");
  env_.datasets.FailReads("ds-labels", grpc::StatusCode::UNAVAILABLE, 3);
  EXPECT_THAT(RunOnce(), Optional(Outcome::kRetry));
  v1::Job after_first = Job(job.id());
  EXPECT_EQ(after_first.status(), v1::JOB_STATUS_QUEUED);
  EXPECT_EQ(after_first.attempts(), 1);
  EXPECT_THAT(after_first.error(), HasSubstr("reading training dataset \"ds-labels\""));
  EXPECT_FALSE(after_first.has_failure());
  // The entry left the queue for the retry set, due 1 to 2 s later (2 s, jittered).
  EXPECT_THAT(env_.queue.Pending(), IsEmpty());
  std::map<std::string, absl::Time> retries = env_.queue.Retries();
  ASSERT_THAT(retries, SizeIs(1));
  absl::Duration wait = retries.at(job.id()) - env_.clock.Now();
  EXPECT_GE(wait, absl::Seconds(1));
  EXPECT_LE(wait, absl::Seconds(2));
  EXPECT_THAT(Events(job.id()).back().message(), HasSubstr("; retrying in "));

  EXPECT_EQ(RunOnce(), std::nullopt);  // Not due yet.
  env_.clock.Advance(wait);
  EXPECT_THAT(RunOnce(), Optional(Outcome::kRetry));
  EXPECT_EQ(Job(job.id()).attempts(), 2);
  // The second wait is twice as long: 2 to 4 s.
  wait = env_.queue.Retries().at(job.id()) - env_.clock.Now();
  EXPECT_GE(wait, absl::Seconds(2));
  EXPECT_LE(wait, absl::Seconds(4));
  env_.clock.Advance(wait);
  EXPECT_THAT(RunOnce(), Optional(Outcome::kFailed));

  v1::Job failed = Job(job.id());
  EXPECT_EQ(failed.status(), v1::JOB_STATUS_FAILED);
  EXPECT_EQ(failed.attempts(), 3);
  EXPECT_THAT(failed.error(), HasSubstr("gave up after 3 attempts"));
  // OpenAI's error object: code, message, param.
  EXPECT_EQ(failed.failure().code(), "retries_exhausted");
  EXPECT_EQ(failed.failure().message(), failed.error());
  // The dataset service was away: no input is at fault.
  EXPECT_EQ(failed.failure().param(), "");
  EXPECT_THAT(env_.queue.Pending(), IsEmpty());
  std::vector<testing::InMemoryJobQueue::DeadLetterEntry> dead = env_.queue.DeadLetters();
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_EQ(dead[0].job_id, job.id());
  EXPECT_EQ(dead[0].attempts, 3);
  EXPECT_EQ(Events(job.id()).back().status(), v1::JOB_STATUS_FAILED);
}

TEST_F(WorkerTest, RetrySucceedsOnALaterAttempt) {
  v1::Job job = Create("ds-labels");
  env_.datasets.FailReads("ds-labels", grpc::StatusCode::DEADLINE_EXCEEDED, 1);
  EXPECT_THAT(RunOnce(), Optional(Outcome::kRetry));
  env_.clock.Advance(absl::Seconds(61));
  EXPECT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  v1::Job done = Job(job.id());
  EXPECT_EQ(done.status(), v1::JOB_STATUS_SUCCEEDED);
  EXPECT_EQ(done.attempts(), 2);
  EXPECT_THAT(done.error(), IsEmpty());
}

TEST_F(WorkerTest, PermanentFailureFailsAtOnce) {
  v1::Job job = Create("ds-labels");
  env_.datasets.FailReads("ds-labels", grpc::StatusCode::DATA_LOSS, 1);
  EXPECT_THAT(RunOnce(), Optional(Outcome::kFailed));
  v1::Job failed = Job(job.id());
  EXPECT_EQ(failed.status(), v1::JOB_STATUS_FAILED);
  EXPECT_EQ(failed.attempts(), 1);
  EXPECT_EQ(failed.failure().code(), "data_loss");
  EXPECT_EQ(failed.failure().param(), "training_dataset");
  EXPECT_THAT(env_.queue.DeadLetters(), SizeIs(1));
  EXPECT_THAT(env_.queue.Pending(), IsEmpty());
  EXPECT_THAT(env_.datasets.Holders("ds-labels"), IsEmpty());
  EXPECT_THAT(env_.datasets.Remove("ds-labels"), IsOk());
}

// A job that fails while the dataset service cannot drop its references does not keep its
// datasets from being deleted for ever: a worker drops them once the service is back.
TEST_F(WorkerTest, ReferencesAFinishedJobCouldNotDropAreDroppedLater) {
  v1::Job job = Create("ds-labels");
  env_.datasets.FailReads("ds-labels", grpc::StatusCode::DATA_LOSS, 1);
  env_.datasets.FailRemoveReferences(grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(RunOnce(), Optional(Outcome::kFailed));
  EXPECT_THAT(env_.datasets.Holders("ds-labels"), Not(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> pending, env_.store.PendingReleases(10));
  EXPECT_THAT(pending, ElementsAre(job.id()));

  env_.datasets.FailRemoveReferences(grpc::StatusCode::OK);
  EXPECT_EQ(RunOnce(), std::nullopt);  // Not tried again within the interval.
  EXPECT_THAT(env_.datasets.Holders("ds-labels"), Not(IsEmpty()));
  env_.clock.Advance(absl::Seconds(31));
  EXPECT_EQ(RunOnce(), std::nullopt);
  EXPECT_THAT(env_.datasets.Holders("ds-labels"), IsEmpty());
  ASSERT_OK_AND_ASSIGN(pending, env_.store.PendingReleases(10));
  EXPECT_THAT(pending, IsEmpty());
  EXPECT_THAT(env_.datasets.Remove("ds-labels"), IsOk());
}

TEST_F(WorkerTest, EntryOfACrashedWorkerIsClaimedAfterIdleTime) {
  v1::Job job = Create("ds-labels");
  // "worker-crashed" reads the entry and dies without acknowledging it.
  ASSERT_OK_AND_ASSIGN(std::optional<QueueEntry> taken,
                       env_.queue.ReadNew("worker-crashed", absl::ZeroDuration()));
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(RunOnce(), std::nullopt);
  env_.clock.Advance(absl::Seconds(60));
  EXPECT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  EXPECT_EQ(Job(job.id()).status(), v1::JOB_STATUS_SUCCEEDED);
  EXPECT_THAT(env_.queue.Pending(), IsEmpty());
}

TEST_F(WorkerTest, JobWhoseLastAttemptCrashedFailsForGood) {
  v1::Job job = Create("ds-labels");
  v1::Job crashed = Job(job.id());
  v1::Job running = crashed;
  running.set_status(v1::JOB_STATUS_RUNNING);
  running.set_attempts(3);
  ASSERT_THAT(env_.store.Update(crashed, running, nullptr), IsOk());
  EXPECT_THAT(RunOnce(), Optional(Outcome::kFailed));
  v1::Job failed = Job(job.id());
  EXPECT_EQ(failed.status(), v1::JOB_STATUS_FAILED);
  EXPECT_THAT(failed.error(), HasSubstr("gave up after 3 attempts; the last one did not finish"));
}

TEST_F(WorkerTest, StopAbandonsTheJobForAnotherWorker) {
  v1::Job job = Create("ds-labels");
  env_.datasets.OnBatch([this] { worker_->Stop(); });
  EXPECT_THAT(RunOnce(), Optional(Outcome::kAbandoned));
  env_.datasets.OnBatch(nullptr);
  v1::Job abandoned = Job(job.id());
  EXPECT_EQ(abandoned.status(), v1::JOB_STATUS_QUEUED);
  EXPECT_THAT(env_.queue.Pending(), ElementsAre(Pair("1-0", "worker-1")));
  EXPECT_THAT(Events(job.id()).back().message(), HasSubstr("the worker is stopping"));

  std::unique_ptr<Worker> other = env_.MakeWorker("worker-2");
  env_.clock.Advance(absl::Seconds(61));
  EXPECT_THAT(RunOnce(other.get()), Optional(Outcome::kSucceeded));
  EXPECT_EQ(Job(job.id()).attempts(), 2);
}

TEST_F(WorkerTest, JobTakenOverByAnotherWorkerIsLeftToIt) {
  v1::Job job = Create("ds-labels");
  env_.datasets.OnBatch([this, id = job.id()] {
    v1::Job now = Job(id);
    v1::Job other = now;
    other.set_attempts(now.attempts() + 1);
    EXPECT_THAT(env_.store.Update(now, other, nullptr), IsOk());
  });
  EXPECT_THAT(RunOnce(), Optional(Outcome::kAbandoned));
  EXPECT_THAT(env_.queue.Pending(), SizeIs(1));
  EXPECT_EQ(Job(job.id()).status(), v1::JOB_STATUS_RUNNING);
}

TEST_F(WorkerTest, HeartbeatsKeepALongJobFromBeingClaimed) {
  Create("ds-labels");
  env_.datasets.OnBatch([this] { env_.clock.Advance(absl::Seconds(25)); });
  EXPECT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  EXPECT_GE(env_.queue.heartbeats(), 1);
}

// Fencing: an attempt that lost its job (taken over while it stalled) publishes nothing.
TEST_F(WorkerTest, AnAttemptFencedOffPublishesNothing) {
  v1::Job job = Create("ds-labels");
  env_.models.SetFenceCheck([](const PublishFence&) { return false; });
  EXPECT_THAT(RunOnce(), Optional(Outcome::kAbandoned));
  env_.models.SetFenceCheck(nullptr);
  EXPECT_THAT(env_.registry->Resolve(FineTunedModelName(job)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(env_.queue.Pending(), SizeIs(1));  // Left to the attempt that has the job.
}

// An attempt that published the model and died before marking the job succeeded: the next
// attempt keeps that model instead of publishing a second one.
TEST_F(WorkerTest, AModelAnEarlierAttemptPublishedStaysTheJobsModel) {
  v1::Job job = Create("ds-labels");
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  const std::string name = Job(job.id()).fine_tuned_model();
  ASSERT_OK_AND_ASSIGN(v1::Model first, env_.registry->Resolve(name));
  // As if the worker had died just after publishing: the job is running again.
  v1::Job done = Job(job.id());
  v1::Job running = done;
  running.set_status(v1::JOB_STATUS_QUEUED);
  running.clear_fine_tuned_model();
  ASSERT_THAT(env_.store.Update(done, running, nullptr), IsOk());
  ASSERT_OK_AND_ASSIGN(std::string entry, env_.queue.Enqueue(job.id()));
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  EXPECT_EQ(Job(job.id()).fine_tuned_model(), name);
  ASSERT_OK_AND_ASSIGN(v1::Model kept, env_.registry->Resolve(name));
  EXPECT_EQ(kept.sha256(), first.sha256());
  EXPECT_THAT(env_.store.EventMessages(job.id()),
              Contains(HasSubstr("was published by an earlier attempt; nothing left to train")));
}

TEST_F(WorkerTest, ContinuedFineTuningMergesTheBaseModel) {
  v1::Job first = Create("ds-ofac");
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  std::string base = Job(first.id()).fine_tuned_model();
  ASSERT_THAT(env_.registry->SetAlias("production", base), IsOk());

  v1::Job second = Create("ds-labels", {}, "production");
  EXPECT_EQ(second.base_model(), base);
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  v1::Job done = Job(second.id());
  EXPECT_EQ(done.fine_tuned_model(), absl::StrCat("ft:ethscan-base:custom:", second.id()));
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage package,
                       env_.registry->Load(done.fine_tuned_model()));
  EXPECT_EQ(package.manifest().base_model(), base);
  EXPECT_THAT(TrainingDatasets(package.manifest()), ElementsAre("ds-labels", "ds-ofac"));
  const model::v1::KnowledgeIndex model = ::ethscan::testing::IndexOf(package);
  ASSERT_EQ(model.entries_size(), 3);
  const model::v1::KnowledgeEntry& a = model.entries(0);
  EXPECT_EQ(absl::AsciiStrToLower(a.merged().address()), kA);
  EXPECT_EQ(a.merged().label(), "Sanctioned");  // From the base model's OFAC claim.
  ASSERT_THAT(a.claims(), SizeIs(2));
  EXPECT_EQ(a.claims(0).source(), "ofac (ds-ofac)");
}

TEST_F(WorkerTest, ValidationDatasetYieldsMetrics) {
  env_.datasets.Add(MakeDataset("ds-valid", "valid", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 1),
                    {MakeRecord(kC, "Scam"), MakeRecord(kB, "Scam"),
                     MakeRecord("0x00000000000000000000000000000000000000dd", "Scam")});
  v1::Job job = Create("ds-labels", {}, "", "ds-valid");
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  const v1::JobEvent* metrics = nullptr;
  std::vector<v1::JobEvent> events = Events(job.id());
  for (const v1::JobEvent& e : events) {
    if (e.type() == "metrics") metrics = &e;
  }
  ASSERT_NE(metrics, nullptr);
  EXPECT_EQ(metrics->metrics().at("valid_records"), 3);
  EXPECT_DOUBLE_EQ(metrics->metrics().at("valid_known_fraction"), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(metrics->metrics().at("valid_label_accuracy"), 0.5);
}

// A Kaggle-like feature record: flagged ones send more.
common::v1::AddressRecord FeatureRecord(int i, bool flagged, std::mt19937* random) {
  std::normal_distribution<double> gauss(0, 1);
  common::v1::AddressRecord r =
      MakeRecord(absl::StrFormat("0x%040x", 0x1000 + i), flagged ? "Phish / Hack" : "Unknown");
  if (!flagged) r.add_tags("not flagged");
  auto add = [&r](const char* name, double value) {
    common::v1::Feature* f = r.add_features();
    f->set_name(name);
    f->set_number(value);
  };
  add("Sent tnx", (flagged ? 2 : 0) + gauss(*random));
  add("Received Tnx", gauss(*random));
  add(" Total ERC20 tnxs", flagged ? 0 : 3 + gauss(*random));
  return r;
}

class ClassifierJobTest : public WorkerTest {
 protected:
  void SetUp() override {
    WorkerTest::SetUp();
    std::mt19937 random(7);
    std::vector<common::v1::AddressRecord> records;
    for (int i = 0; i < 600; ++i) records.push_back(FeatureRecord(i, i % 3 == 0, &random));
    env_.datasets.Add(
        MakeDataset("ds-kaggle", "kaggle", dataset::v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES, 300),
        std::move(records));
  }

  v1::Job CreateClassifierJob(int epochs, const std::string& feature_set = "",
                              const std::string& base = "", int patience = 0) {
    v1::CreateJobRequest request;
    if (patience > 0) request.mutable_hyperparameters()->set_early_stopping_patience(patience);
    request.set_training_dataset("ds-kaggle");
    request.set_base_model(base);
    request.mutable_hyperparameters()->set_n_epochs(epochs);
    request.mutable_hyperparameters()->set_feature_set(feature_set);
    absl::StatusOr<v1::Job> job = manager_->CreateJob(request);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : v1::Job();
  }
};

TEST_F(ClassifierJobTest, TrainsBothKindsWithHeldOutSidesMetricsAndCheckpoints) {
  // Patient enough that every epoch runs and ends with a checkpoint.
  v1::Job job = CreateClassifierJob(3, "", "", /*patience=*/200);
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  v1::Job done = Job(job.id());
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage package,
                       env_.registry->Load(done.fine_tuned_model()));
  const model::v1::Manifest& card = package.manifest();
  EXPECT_THAT(card.kinds(), ElementsAre("knowledge", "classifier"));
  ASSERT_THAT(card.artefacts(), SizeIs(3));
  EXPECT_EQ(card.artefacts(2).kind(), "results");
  EXPECT_EQ(card.feature_schema(), "ethscan.features.v1");
  EXPECT_EQ(card.feature_set(), "all");
  EXPECT_THAT(card.holdout(), HasSubstr("validation and test sides: 10%"));
  EXPECT_EQ(card.hyperparameters().at("n_epochs"), 3);
  EXPECT_EQ(done.hyperparameters_used().at("n_epochs"), 3);
  EXPECT_EQ(done.hyperparameters_used().at("learning_rate"), 0.3);  // Auto below 2,000 rows.

  // Both held-out sides are evaluated; neither shares an address with training.
  EXPECT_EQ(card.validation().split(), "validation");
  EXPECT_GT(card.validation().rows(), 20u);
  EXPECT_EQ(card.test().split(), "test");
  EXPECT_GT(card.test().rows(), 20u);
  EXPECT_THAT(card.test().source(), HasSubstr("held out of the training datasets ds-kaggle"));
  EXPECT_GT(card.test().roc_auc(), 0.9);
  EXPECT_EQ(card.test().true_positives() + card.test().false_negatives(), card.test().positives());
  const uint64_t held_out = card.validation().rows() + card.test().rows();
  EXPECT_EQ(card.metrics().at("classifier_train_rows") + static_cast<double>(held_out), 600);
  // The knowledge index lists every record of the training datasets, held out or not.
  EXPECT_EQ(::ethscan::testing::IndexOf(package).entries_size(), 600);

  // One metrics event per round, as "Step N/M: …", full validation figures at epoch ends.
  std::vector<const v1::JobEvent*> steps;
  std::vector<v1::JobEvent> events = Events(job.id());
  for (const v1::JobEvent& e : events) {
    if (e.type() == "metrics" && absl::StartsWith(e.message(), "Step ")) steps.push_back(&e);
  }
  ASSERT_FALSE(steps.empty());
  EXPECT_THAT(steps[0]->message(), HasSubstr("Step 1/150: training loss="));
  EXPECT_THAT(steps[0]->message(), HasSubstr(", validation loss="));
  EXPECT_EQ(steps[0]->metrics().at("step"), 1);
  EXPECT_EQ(steps[0]->metrics().at("total_steps"), 150);
  EXPECT_TRUE(steps[0]->metrics().count("train_accuracy"));
  EXPECT_FALSE(steps[0]->metrics().count("full_valid_loss"));
  ASSERT_THAT(steps, SizeIs(150));
  EXPECT_TRUE(steps[49]->metrics().count("full_valid_loss"));
  EXPECT_TRUE(steps[49]->metrics().count("full_valid_accuracy"));
  EXPECT_EQ(done.step(), static_cast<int>(steps.size()));
  EXPECT_EQ(done.total_steps(), 150);

  // The results file has a line per round.
  const model::v1::Artefact* results = model::FindArtefact(package, "results");
  ASSERT_NE(results, nullptr);
  std::vector<std::string> lines = absl::StrSplit(results->data(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), steps.size() + 1);
  EXPECT_EQ(lines[0], "step,train_loss,train_accuracy,valid_loss,valid_accuracy");
  EXPECT_TRUE(absl::StartsWith(lines[1], "1,"));

  // A checkpoint per epoch reached, each a loadable classifier.
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Checkpoint> checkpoints,
                       manager_->ListCheckpoints(job.id()));
  ASSERT_THAT(checkpoints, SizeIs(3));
  EXPECT_EQ(checkpoints[0].model(),
            absl::StrCat(done.fine_tuned_model(), ":ckpt-step-", checkpoints[0].step()));
  EXPECT_EQ(checkpoints[0].step() % 50, 0);
  EXPECT_TRUE(checkpoints[0].metrics().count("train_loss"));
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage checkpoint,
                       env_.registry->Load(checkpoints.back().model()));
  EXPECT_THAT(checkpoint.manifest().kinds(), ElementsAre("classifier"));
  EXPECT_EQ(checkpoint.manifest().checkpoint_step(), checkpoints.back().step());
  ASSERT_OK_AND_ASSIGN(std::optional<model::v1::ClassifierArtefact> snapshot,
                       model::ClassifierOf(checkpoint));
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_EQ(snapshot->rounds(), checkpoints.back().step());
  EXPECT_TRUE(checkpoint.manifest().metrics().count("train_loss"));
  EXPECT_FALSE(checkpoint.manifest().metrics().count("addresses"));
  // Checkpoints are not models of their own in the listing.
  ASSERT_OK_AND_ASSIGN(v1::ListModelsResponse list, env_.registry->List(0, ""));
  EXPECT_THAT(list.models(), SizeIs(1));
  // Deleting the model deletes its checkpoints.
  ASSERT_THAT(env_.registry->Delete(done.fine_tuned_model()), IsOk());
  ASSERT_OK_AND_ASSIGN(checkpoints, manager_->ListCheckpoints(job.id()));
  EXPECT_THAT(checkpoints, IsEmpty());
}

// Metrics events go to the store in batches, and no other event overtakes them: each
// checkpoint's message comes after its step and before the next.
TEST_F(ClassifierJobTest, MetricsEventsAreBatchedInOrder) {
  worker_ = env_.MakeWorker("worker-1", [](Worker::Options* o) {
    o->event_flush_interval = absl::Hours(1);  // Flushed only by other events and the end.
  });
  v1::Job job = CreateClassifierJob(2, "", "", /*patience=*/200);
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  EXPECT_GT(env_.store.batched_appends(), 0);
  int last_step = 0;
  int checkpoints = 0;
  for (const v1::JobEvent& e : Events(job.id())) {
    if (e.type() == "metrics" && absl::StartsWith(e.message(), "Step ")) {
      EXPECT_EQ(e.metrics().at("step"), last_step + 1) << e.message();
      last_step = static_cast<int>(e.metrics().at("step"));
    } else if (absl::StrContains(e.message(), ":ckpt-step-")) {
      ++checkpoints;
      EXPECT_THAT(e.message(), HasSubstr(absl::StrCat(":ckpt-step-", last_step, " saved")));
    }
  }
  EXPECT_EQ(last_step, 100);
  EXPECT_EQ(checkpoints, 2);
}

// Checkpoints are written beside the boosting, not in its way: while one is being stored,
// the rounds after it go on.
TEST_F(ClassifierJobTest, BoostingGoesOnWhileACheckpointIsBeingWritten) {
  v1::Job job = CreateClassifierJob(4, "", "", /*patience=*/100000);
  const absl::Time started = env_.clock.Now();
  // The first checkpoint's record takes a second to store; the clock says which events were
  // made meanwhile (an hour on) and which after (two hours on). Two checkpoints may wait
  // behind it, so at most the rounds up to step 150 can be trained meanwhile.
  env_.models.OnPutCheckpoint([&](int step) {
    if (step != 50) return;
    env_.clock.Advance(absl::Hours(1));
    absl::SleepFor(absl::Seconds(1));
    env_.clock.Advance(absl::Hours(1));
  });
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  env_.models.OnPutCheckpoint(nullptr);
  int during = 0;
  int last_step = 0;
  for (const v1::JobEvent& e : Events(job.id())) {
    if (e.type() != "metrics" || !absl::StartsWith(e.message(), "Step ")) continue;
    const int step = static_cast<int>(e.metrics().at("step"));
    EXPECT_EQ(step, last_step + 1);  // In order all the same.
    last_step = step;
    if (FromTimestamp(e.create_time()) == started + absl::Hours(1)) {
      EXPECT_GT(step, 50);
      EXPECT_LE(step, 150);
      ++during;
    }
  }
  EXPECT_EQ(last_step, 200);
  EXPECT_GT(during, 0) << "no round was trained while the checkpoint was being written";
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Checkpoint> checkpoints,
                       manager_->ListCheckpoints(job.id()));
  ASSERT_THAT(checkpoints, SizeIs(3));
  EXPECT_EQ(checkpoints.back().step(), 200);
}

// While boosting, the job shows the step reached and when it should finish; once done, the
// examples it learnt from.
TEST_F(ClassifierJobTest, ARunningJobShowsItsStepAndEstimatedFinish) {
  worker_ = env_.MakeWorker(
      "worker-1", [](Worker::Options* o) { o->event_flush_interval = absl::ZeroDuration(); });
  v1::Job job = CreateClassifierJob(2, "", "", /*patience=*/200);
  std::optional<v1::Job> seen;
  env_.store.OnAppend([&](const v1::JobEvent& e) {
    if (!seen.has_value() && e.type() == "metrics" && e.metrics().count("step") &&
        e.metrics().at("step") == 40) {
      env_.clock.Advance(absl::Seconds(39));  // One second per step so far.
    }
    if (!seen.has_value() && e.type() == "metrics" && e.metrics().count("step") &&
        e.metrics().at("step") == 41) {
      seen = Job(job.id());
    }
  });
  const absl::Time started = env_.clock.Now();
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  env_.store.OnAppend(nullptr);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->status(), v1::JOB_STATUS_RUNNING);
  EXPECT_EQ(seen->step(), 40);  // Recorded with the batch that ended at step 40.
  EXPECT_EQ(seen->total_steps(), 100);
  ASSERT_TRUE(seen->has_estimated_finish());
  // 39 s for steps 1 to 40, so 60 more steps take 60 s.
  EXPECT_EQ(FromTimestamp(seen->estimated_finish()), started + absl::Seconds(39 + 60));
  v1::Job done = Job(job.id());
  EXPECT_FALSE(done.has_estimated_finish());
  // The training side only: the held-out validation and test records are not examples.
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage package,
                       env_.registry->Load(done.fine_tuned_model()));
  EXPECT_EQ(static_cast<double>(done.trained_examples()),
            package.manifest().metrics().at("classifier_train_rows"));
  EXPECT_LT(done.trained_examples(), 600u);
}

// A worker that stops mid-training leaves its checkpoints; the attempt that takes the job
// over goes on from the last one instead of starting again.
TEST_F(ClassifierJobTest, ATakenOverJobResumesFromItsLastCheckpoint) {
  worker_ = env_.MakeWorker("worker-1", [](Worker::Options* o) {
    o->event_flush_interval = absl::ZeroDuration();
    o->check_interval = absl::ZeroDuration();
  });
  v1::Job job = CreateClassifierJob(3, "", "", /*patience=*/200);
  env_.store.OnAppend([&](const v1::JobEvent& e) {
    if (e.type() == "metrics" && e.metrics().count("step") && e.metrics().at("step") == 110) {
      worker_->Stop();
    }
  });
  EXPECT_THAT(RunOnce(), Optional(Outcome::kAbandoned));
  env_.store.OnAppend(nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Checkpoint> left, manager_->ListCheckpoints(job.id()));
  ASSERT_THAT(left, SizeIs(2));
  EXPECT_EQ(left.back().step(), 100);

  std::vector<int> resumed_steps;
  env_.store.OnAppend([&](const v1::JobEvent& e) {
    if (e.type() == "metrics" && e.metrics().count("step")) {
      resumed_steps.push_back(static_cast<int>(e.metrics().at("step")));
    }
  });
  std::unique_ptr<Worker> second = env_.MakeWorker("worker-2");
  env_.clock.Advance(absl::Seconds(61));
  EXPECT_THAT(RunOnce(second.get()), Optional(Outcome::kSucceeded));
  env_.store.OnAppend(nullptr);
  v1::Job done = Job(job.id());
  EXPECT_EQ(done.attempts(), 2);
  EXPECT_THAT(env_.store.EventMessages(job.id()),
              Contains(absl::StrCat("resuming from checkpoint ", FineTunedModelName(job),
                                    ":ckpt-step-100 (step 100 of 150)")));
  ASSERT_FALSE(resumed_steps.empty());
  EXPECT_EQ(resumed_steps.front(), 101);
  EXPECT_EQ(resumed_steps.back(), 150);
  EXPECT_EQ(done.step(), 150);
  EXPECT_EQ(done.total_steps(), 150);

  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage package,
                       env_.registry->Load(done.fine_tuned_model()));
  ASSERT_OK_AND_ASSIGN(std::optional<model::v1::ClassifierArtefact> classifier,
                       model::ClassifierOf(package));
  ASSERT_TRUE(classifier.has_value());
  // Cut at the best validation round, which after a resume is one the resumed attempt
  // trained.
  EXPECT_GT(classifier->rounds(), 100);
  EXPECT_LE(classifier->rounds(), 150);
  EXPECT_EQ(package.manifest().metrics().at("classifier_initial_rounds"), 0);
  // The results file has every step, the first attempt's included.
  const model::v1::Artefact* results = model::FindArtefact(package, "results");
  ASSERT_NE(results, nullptr);
  std::vector<std::string> lines = absl::StrSplit(results->data(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 151u);
  EXPECT_TRUE(absl::StartsWith(lines[1], "1,"));
  EXPECT_TRUE(absl::StartsWith(lines[101], "101,"));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Checkpoint> checkpoints,
                       manager_->ListCheckpoints(job.id()));
  ASSERT_THAT(checkpoints, SizeIs(3));
  EXPECT_EQ(checkpoints.back().step(), 150);
}

model::v1::ModelPackage StaleCheckpoint(const v1::Job& job);

// A checkpoint that cannot be used is no reason to fail: the attempt starts over.
TEST_F(ClassifierJobTest, AnUnusableCheckpointMeansStartingOver) {
  v1::Job job = CreateClassifierJob(1, "", "", /*patience=*/200);
  // As if a first attempt had run and left a checkpoint without a booster.
  v1::Job running = Job(job.id());
  running.set_status(v1::JOB_STATUS_RUNNING);
  running.set_attempts(1);
  ASSERT_THAT(env_.store.Update(Job(job.id()), running, nullptr), IsOk());
  v1::Job queued = running;
  queued.set_status(v1::JOB_STATUS_QUEUED);
  ASSERT_THAT(env_.store.Update(running, queued, nullptr), IsOk());
  ASSERT_THAT(env_.registry->PublishCheckpoint(StaleCheckpoint(job), FineTunedModelName(job), 50),
              IsOk());
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  EXPECT_THAT(env_.store.EventMessages(job.id()),
              Contains(HasSubstr("cannot resume from checkpoint")));
  EXPECT_EQ(Job(job.id()).step(), 50);
}

// A cancel seen between two rounds stops the boosting at once: no further round, no model,
// no checkpoint left behind.
TEST_F(ClassifierJobTest, ACancelStopsBoostingAtTheNextRound) {
  worker_ = env_.MakeWorker("worker-1", [](Worker::Options* o) {
    o->check_interval = absl::ZeroDuration();
    o->event_flush_interval = absl::ZeroDuration();
  });
  v1::Job job = CreateClassifierJob(3, "", "", /*patience=*/200);
  bool cancelled = false;
  env_.store.OnAppend([&](const v1::JobEvent& e) {
    if (!cancelled && e.type() == "metrics" && e.metrics().count("step") &&
        e.metrics().at("step") == 60) {
      cancelled = true;
      EXPECT_THAT(manager_->CancelJob(job.id()), IsOk());
    }
  });
  EXPECT_THAT(RunOnce(), Optional(Outcome::kCancelled));
  env_.store.OnAppend(nullptr);
  EXPECT_EQ(Job(job.id()).status(), v1::JOB_STATUS_CANCELLED);
  int last_step = 0;
  for (const v1::JobEvent& e : Events(job.id())) {
    if (e.type() == "metrics" && e.metrics().count("step")) {
      last_step = std::max(last_step, static_cast<int>(e.metrics().at("step")));
    }
  }
  EXPECT_EQ(last_step, 60);
  EXPECT_THAT(env_.registry->Resolve(""), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Checkpoint> left, manager_->ListCheckpoints(job.id()));
  EXPECT_THAT(left, IsEmpty());
}

// A checkpoint package of `job`'s model at `step`, as an earlier attempt would have left it.
model::v1::ModelPackage StaleCheckpoint(const v1::Job& job) {
  model::v1::ModelPackage package;
  package.mutable_manifest()->set_job_id(job.id());
  model::v1::ClassifierArtefact artefact;
  artefact.set_rounds(500);
  EXPECT_THAT(model::AddArtefact(&package, model::kClassifierKind, model::kClassifierFormat,
                                 artefact.SerializeAsString()),
              IsOk());
  return package;
}

TEST_F(ClassifierJobTest, AnAttemptStartsWithoutAnEarlierAttemptsCheckpoints) {
  v1::Job job = CreateClassifierJob(3, "", "", /*patience=*/200);
  ASSERT_THAT(env_.registry->PublishCheckpoint(StaleCheckpoint(job), FineTunedModelName(job), 500),
              IsOk());
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Checkpoint> checkpoints,
                       manager_->ListCheckpoints(job.id()));
  std::vector<int> steps;
  for (const v1::Checkpoint& c : checkpoints) steps.push_back(c.step());
  EXPECT_THAT(steps, ElementsAre(50, 100, 150));
  // Each checkpoint labels what it flags with the positives' label.
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage checkpoint,
                       env_.registry->Load(checkpoints.back().model()));
  ASSERT_OK_AND_ASSIGN(std::optional<model::v1::ClassifierArtefact> snapshot,
                       model::ClassifierOf(checkpoint));
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_EQ(snapshot->positive_label(), "Phish / Hack");
}

TEST_F(ClassifierJobTest, AJobThatFailsLeavesNoCheckpoints) {
  v1::Job job = CreateClassifierJob(1);
  ASSERT_THAT(env_.registry->PublishCheckpoint(StaleCheckpoint(job), FineTunedModelName(job), 50),
              IsOk());
  env_.datasets.FailReads("ds-kaggle", grpc::StatusCode::DATA_LOSS, 1);
  ASSERT_THAT(RunOnce(), Optional(Outcome::kFailed));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Checkpoint> checkpoints,
                       manager_->ListCheckpoints(job.id()));
  EXPECT_THAT(checkpoints, IsEmpty());
}

TEST_F(ClassifierJobTest, KeepsTheLastThreeCheckpoints) {
  // No validation side to stop early on: every epoch runs.
  v1::CreateJobRequest request;
  request.set_training_dataset("ds-kaggle");
  request.set_validation_dataset("ds-labels");  // No feature records: nothing to validate on.
  request.mutable_hyperparameters()->set_n_epochs(5);
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(request));
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Checkpoint> checkpoints,
                       manager_->ListCheckpoints(job.id()));
  std::vector<int> steps;
  for (const v1::Checkpoint& c : checkpoints) steps.push_back(c.step());
  EXPECT_THAT(steps, ElementsAre(150, 200, 250));
}

TEST_F(ClassifierJobTest, TransactionFeatureSetWithholdsTheErc20Block) {
  v1::CreateJobRequest request;
  request.set_training_dataset("ds-kaggle");
  request.mutable_hyperparameters()->set_n_epochs(1);
  request.mutable_hyperparameters()->set_feature_set("transaction");
  request.mutable_hyperparameters()->set_evaluate_other_feature_set(true);
  ASSERT_OK_AND_ASSIGN(v1::Job job, manager_->CreateJob(request));
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage package,
                       env_.registry->Load(Job(job.id()).fine_tuned_model()));
  EXPECT_EQ(package.manifest().feature_set(), "transaction");
  EXPECT_EQ(package.manifest().test().feature_set(), "transaction");
  // Asked for, the card also evaluates the same training on every feature.
  ASSERT_THAT(package.manifest().feature_set_comparison(), SizeIs(1));
  const model::v1::Evaluation& all = package.manifest().feature_set_comparison(0);
  EXPECT_EQ(all.feature_set(), "all");
  EXPECT_EQ(all.rows(), package.manifest().test().rows());
  // The synthetic ERC-20 feature separates the classes, so the full set does better.
  EXPECT_GE(all.roc_auc(), package.manifest().test().roc_auc());
  ASSERT_OK_AND_ASSIGN(std::optional<model::v1::ClassifierArtefact> classifier,
                       model::ClassifierOf(package));
  ASSERT_TRUE(classifier.has_value());
  EXPECT_EQ(classifier->features_size(), 22);
  for (const std::string& f : classifier->features()) EXPECT_THAT(f, Not(HasSubstr("erc20")));
}

TEST_F(ClassifierJobTest, ContinuedFineTuningAddsRoundsToTheParentsBooster) {
  v1::Job first = CreateClassifierJob(1);
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  const std::string parent = Job(first.id()).fine_tuned_model();
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage parent_package, env_.registry->Load(parent));
  ASSERT_OK_AND_ASSIGN(std::optional<model::v1::ClassifierArtefact> parent_classifier,
                       model::ClassifierOf(parent_package));
  ASSERT_TRUE(parent_classifier.has_value());

  v1::Job second = CreateClassifierJob(1, "", parent);
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage package,
                       env_.registry->Load(Job(second.id()).fine_tuned_model()));
  ASSERT_OK_AND_ASSIGN(std::optional<model::v1::ClassifierArtefact> classifier,
                       model::ClassifierOf(package));
  ASSERT_TRUE(classifier.has_value());
  EXPECT_EQ(package.manifest().metrics().at("classifier_initial_rounds"),
            parent_classifier->rounds());
  EXPECT_GE(classifier->rounds(), parent_classifier->rounds());
  EXPECT_EQ(package.manifest().base_model(), parent);

  // Its held-out sides follow the base model's seed, whatever this job's.
  v1::CreateJobRequest other_seed;
  other_seed.set_training_dataset("ds-kaggle");
  other_seed.set_base_model(parent);
  other_seed.mutable_hyperparameters()->set_n_epochs(1);
  other_seed.mutable_hyperparameters()->set_seed(7);
  ASSERT_OK_AND_ASSIGN(v1::Job seeded, manager_->CreateJob(other_seed));
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage seeded_package,
                       env_.registry->Load(Job(seeded.id()).fine_tuned_model()));
  EXPECT_THAT(seeded_package.manifest().holdout(),
              HasSubstr("seed 42 (the base model's, so its held-out addresses stay held out)"));

  // A continuation with nothing to train the classifier on keeps the base's classifier.
  v1::Job lists_only = Create("ds-labels", {}, parent);
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage kept,
                       env_.registry->Load(Job(lists_only.id()).fine_tuned_model()));
  EXPECT_THAT(kept.manifest().kinds(), ElementsAre("knowledge", "classifier"));
  ASSERT_OK_AND_ASSIGN(std::optional<model::v1::ClassifierArtefact> kept_classifier,
                       model::ClassifierOf(kept));
  ASSERT_TRUE(kept_classifier.has_value());
  EXPECT_EQ(kept_classifier->booster(), parent_classifier->booster());

  // Another feature set cannot continue it.
  v1::Job third = CreateClassifierJob(1, "transaction", parent);
  ASSERT_THAT(RunOnce(), Optional(Outcome::kFailed));
  EXPECT_THAT(Job(third.id()).error(), HasSubstr("feature set"));
}

TEST_F(ClassifierJobTest, JobWithoutFeatureRecordsHasNoClassifier) {
  v1::Job job = Create("ds-labels");
  ASSERT_THAT(RunOnce(), Optional(Outcome::kSucceeded));
  std::vector<std::string> messages;
  for (const v1::JobEvent& e : Events(job.id())) messages.push_back(e.message());
  EXPECT_THAT(messages, Contains(HasSubstr("no record has behavioural features")));
  ASSERT_OK_AND_ASSIGN(v1::Model model, env_.registry->Resolve(Job(job.id()).fine_tuned_model()));
  EXPECT_EQ(model.kind(), "knowledge");
}

TEST(HoldoutBucketTest, IsStableAndCaseInsensitive) {
  EXPECT_EQ(HoldoutBucket("0xAbC0000000000000000000000000000000000001", 42),
            HoldoutBucket("0xabc0000000000000000000000000000000000001", 42));
  int held = 0;
  for (int i = 0; i < 10000; ++i) {
    if (HoldoutBucket(absl::StrFormat("0x%040x", i), 42) < kHoldoutPercent) ++held;
  }
  EXPECT_NEAR(held, 1000, 150);
}

TEST_F(WorkerTest, RunProcessesJobsUntilStopped) {
  v1::Job job = Create("ds-labels");
  Worker::Options options;
  options.consumer = "worker-loop";
  options.block = absl::Milliseconds(20);
  Worker worker(options, &env_.store, &env_.queue, env_.registry.get(), env_.dataset_client.get(),
                &env_.clock);
  std::thread loop([&worker] { worker.Run(); });
  // Wait (without sleeping) for the job's final event.
  std::string after;
  absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (!IsFinished(Job(job.id()).status()) && absl::Now() < give_up) {
    absl::StatusOr<std::vector<v1::JobEvent>> events =
        env_.store.WaitForEvents(job.id(), after, absl::Seconds(1));
    ASSERT_TRUE(events.ok());
    if (!events->empty()) after = events->back().id();
  }
  worker.Stop();
  loop.join();
  EXPECT_EQ(Job(job.id()).status(), v1::JOB_STATUS_SUCCEEDED);
}

}  // namespace
}  // namespace ethscan::training

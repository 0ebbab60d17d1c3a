// Runs against a real redis-server started on a free loopback port (label `redis`).
#include "services/dataset/redis_dataset_index.h"

#include <google/protobuf/util/message_differencer.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dataset/dataset_manager.h"
#include "services/dataset/file_record_store.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Dataset MakeDataset(const std::string& id, const std::string& name, int64_t millis) {
  v1::Dataset dataset;
  dataset.set_id(id);
  dataset.set_name(name);
  dataset.set_record_count(7);
  (*dataset.mutable_label_counts())["Scam"] = 7;
  dataset.mutable_create_time()->set_seconds(millis / 1000);
  dataset.mutable_create_time()->set_nanos(static_cast<int32_t>(millis % 1000) * 1000000);
  return dataset;
}

std::vector<std::string> Ids(const ListPage& page) {
  std::vector<std::string> ids;
  for (const v1::Dataset& d : page.datasets) ids.push_back(d.id());
  return ids;
}

class RedisDatasetIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ethscan::testing::RedisServer>> server =
        ethscan::testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    redis::Options options;
    options.url = server_->url();
    absl::StatusOr<std::unique_ptr<redis::HiredisClient>> client =
        redis::HiredisClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::shared_ptr<redis::Client>(*std::move(client));
    index_ = std::make_unique<RedisDatasetIndex>(client_);
  }

  int64_t Integer(const std::vector<std::string>& command) {
    absl::StatusOr<redis::Reply> reply = client_->Command(command);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->integer : -1;
  }

  std::unique_ptr<ethscan::testing::RedisServer> server_;
  std::shared_ptr<redis::Client> client_;
  std::unique_ptr<RedisDatasetIndex> index_;
};

TEST_F(RedisDatasetIndexTest, PutWritesTheDocumentedKeys) {
  v1::Dataset dataset = MakeDataset("ds-a", "alpha", 1700000000123);
  ASSERT_THAT(index_->Put(dataset), IsOk());
  ASSERT_OK_AND_ASSIGN(redis::Reply proto,
                       client_->Command({"HGET", "ethscan:dataset:ds-a", "proto"}));
  v1::Dataset parsed;
  ASSERT_TRUE(parsed.ParseFromString(proto.str));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, dataset));
  ASSERT_OK_AND_ASSIGN(redis::Reply score,
                       client_->Command({"ZSCORE", "ethscan:datasets", "ds-a"}));
  EXPECT_EQ(score.str, "1700000000123");
  ASSERT_OK_AND_ASSIGN(redis::Reply by_name,
                       client_->Command({"ZSCORE", "ethscan:dataset:by-name:alpha", "ds-a"}));
  EXPECT_EQ(by_name.str, "1700000000123");
}

TEST_F(RedisDatasetIndexTest, GetReturnsStoredOrNothing) {
  ASSERT_THAT(index_->Put(MakeDataset("ds-a", "alpha", 1000)), IsOk());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Dataset> found, index_->Get("ds-a"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name(), "alpha");
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Dataset> missing, index_->Get("ds-b"));
  EXPECT_FALSE(missing.has_value());
  ASSERT_THAT(client_->Command({"HSET", "ethscan:dataset:ds-bad", "proto", "\xff\xff"}), IsOk());
  EXPECT_EQ(index_->Get("ds-bad").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(RedisDatasetIndexTest, ListsNewestFirstInPagesAndByName) {
  ASSERT_THAT(index_->Put(MakeDataset("ds-1", "alpha", 1000)), IsOk());
  ASSERT_THAT(index_->Put(MakeDataset("ds-2", "beta", 2000)), IsOk());
  ASSERT_THAT(index_->Put(MakeDataset("ds-3", "alpha", 3000)), IsOk());
  ASSERT_OK_AND_ASSIGN(ListPage first, index_->List(ListQuery{"", 0, 2}));
  EXPECT_THAT(Ids(first), ElementsAre("ds-3", "ds-2"));
  EXPECT_TRUE(first.has_more);
  ASSERT_OK_AND_ASSIGN(ListPage second, index_->List(ListQuery{"", 2, 2}));
  EXPECT_THAT(Ids(second), ElementsAre("ds-1"));
  EXPECT_FALSE(second.has_more);
  ASSERT_OK_AND_ASSIGN(ListPage alpha, index_->List(ListQuery{"alpha", 0, 10}));
  EXPECT_THAT(Ids(alpha), ElementsAre("ds-3", "ds-1"));
  ASSERT_OK_AND_ASSIGN(ListPage none, index_->List(ListQuery{"gamma", 0, 10}));
  EXPECT_TRUE(none.datasets.empty());
}

TEST_F(RedisDatasetIndexTest, ListSkipsIdsWithoutMetadata) {
  ASSERT_THAT(index_->Put(MakeDataset("ds-1", "alpha", 1000)), IsOk());
  ASSERT_THAT(client_->Command({"ZADD", "ethscan:datasets", "5000", "ds-ghost"}), IsOk());
  ASSERT_OK_AND_ASSIGN(ListPage page, index_->List(ListQuery{"", 0, 10}));
  EXPECT_THAT(Ids(page), ElementsAre("ds-1"));
}

TEST_F(RedisDatasetIndexTest, ManagerUploadsThroughRedis) {
  const std::string dir = ethscan::testing::MakeTempDir("dataset-redis");
  absl::StatusOr<std::unique_ptr<FileRecordStore>> store =
      FileRecordStore::Create(FileRecordStoreOptions{dir});
  ASSERT_TRUE(store.ok()) << store.status();
  common::FakeClock clock;
  absl::StatusOr<std::unique_ptr<DatasetManager>> manager =
      DatasetManager::Create(DatasetManagerOptions(), std::make_unique<RedisDatasetIndex>(client_),
                             *std::move(store), &clock);
  ASSERT_TRUE(manager.ok()) << manager.status();
  const std::string data =
      "address,comment,date\n0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,fake token,2018-10-28\n";
  auto chunks = [&data, done = false](std::string* chunk) mutable -> absl::StatusOr<bool> {
    if (done) return false;
    *chunk = data;
    done = true;
    return true;
  };
  v1::UploadMetadata metadata;
  metadata.set_name("darklist");
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response, (*manager)->Upload(metadata, chunks));
  ASSERT_OK_AND_ASSIGN(v1::Dataset stored, (*manager)->GetDataset(response.dataset().id()));
  EXPECT_EQ(stored.record_count(), 1u);
  v1::ListDatasetsRequest request;
  request.set_name("darklist");
  ASSERT_OK_AND_ASSIGN(v1::ListDatasetsResponse listed, (*manager)->ListDatasets(request));
  ASSERT_EQ(listed.datasets_size(), 1);
  EXPECT_EQ(listed.datasets(0).id(), response.dataset().id());
  std::filesystem::remove_all(dir);
}

TEST_F(RedisDatasetIndexTest, ReferencesAreKeptApartFromTheMetadata) {
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Dataset> missing,
                       index_->AddReference("ds-a", "job/ftjob-1"));
  EXPECT_FALSE(missing.has_value());
  EXPECT_EQ(Integer({"EXISTS", "ethscan:dataset:ds-a:refs"}), 0);  // Nothing dangling.

  v1::Dataset dataset = MakeDataset("ds-a", "alpha", 1000);
  dataset.add_referenced_by("job/not-stored");  // Put never stores references.
  ASSERT_THAT(index_->Put(dataset), IsOk());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Dataset> held,
                       index_->AddReference("ds-a", "model/ft:ethscan-base:x:ftjob-1"));
  ASSERT_TRUE(held.has_value());
  ASSERT_OK_AND_ASSIGN(held, index_->AddReference("ds-a", "job/ftjob-1"));
  ASSERT_OK_AND_ASSIGN(held, index_->AddReference("ds-a", "job/ftjob-1"));
  EXPECT_THAT(held->referenced_by(), ElementsAre("job/ftjob-1", "model/ft:ethscan-base:x:ftjob-1"));
  EXPECT_EQ(Integer({"SCARD", "ethscan:dataset:ds-a:refs"}), 2);
  ASSERT_OK_AND_ASSIGN(redis::Reply proto,
                       client_->Command({"HGET", "ethscan:dataset:ds-a", "proto"}));
  v1::Dataset stored;
  ASSERT_TRUE(stored.ParseFromString(proto.str));
  EXPECT_EQ(stored.referenced_by_size(), 0);

  ASSERT_OK_AND_ASSIGN(std::optional<v1::Dataset> got, index_->Get("ds-a"));
  EXPECT_THAT(got->referenced_by(), ElementsAre("job/ftjob-1", "model/ft:ethscan-base:x:ftjob-1"));
  ASSERT_OK_AND_ASSIGN(ListPage page, index_->List(ListQuery{"alpha", 0, 10}));
  ASSERT_EQ(page.datasets.size(), 1u);
  EXPECT_EQ(page.datasets[0].referenced_by_size(), 2);
  // Replacing the metadata keeps the references.
  ASSERT_THAT(index_->Put(MakeDataset("ds-a", "alpha", 1000)), IsOk());
  ASSERT_OK_AND_ASSIGN(got, index_->Get("ds-a"));
  EXPECT_EQ(got->referenced_by_size(), 2);

  ASSERT_OK_AND_ASSIGN(held, index_->RemoveReference("ds-a", "job/ftjob-1"));
  ASSERT_OK_AND_ASSIGN(held, index_->RemoveReference("ds-a", "job/ftjob-1"));
  EXPECT_THAT(held->referenced_by(), ElementsAre("model/ft:ethscan-base:x:ftjob-1"));
  ASSERT_OK_AND_ASSIGN(missing, index_->RemoveReference("ds-b", "job/ftjob-1"));
  EXPECT_FALSE(missing.has_value());
}

TEST_F(RedisDatasetIndexTest, DeleteRefusesWhileReferencedThenRemovesEveryKey) {
  const v1::Dataset dataset = MakeDataset("ds-a", "alpha", 1000);
  ASSERT_THAT(index_->Put(dataset), IsOk());
  ASSERT_THAT(index_->Put(MakeDataset("ds-b", "alpha", 2000)), IsOk());
  ASSERT_THAT(index_->AddReference("ds-a", "job/ftjob-1"), IsOk());
  ASSERT_OK_AND_ASSIGN(DeleteOutcome refused, index_->Delete(dataset));
  EXPECT_EQ(refused.result, DeleteOutcome::Result::kReferenced);
  EXPECT_THAT(refused.holders, ElementsAre("job/ftjob-1"));
  EXPECT_EQ(Integer({"EXISTS", "ethscan:dataset:ds-a"}), 1);

  ASSERT_THAT(index_->RemoveReference("ds-a", "job/ftjob-1"), IsOk());
  ASSERT_OK_AND_ASSIGN(DeleteOutcome deleted, index_->Delete(dataset));
  EXPECT_EQ(deleted.result, DeleteOutcome::Result::kDeleted);
  EXPECT_EQ(Integer({"EXISTS", "ethscan:dataset:ds-a"}), 0);
  EXPECT_EQ(Integer({"EXISTS", "ethscan:dataset:ds-a:refs"}), 0);
  ASSERT_OK_AND_ASSIGN(redis::Reply score,
                       client_->Command({"ZSCORE", "ethscan:datasets", "ds-a"}));
  EXPECT_TRUE(score.is_nil());
  ASSERT_OK_AND_ASSIGN(ListPage alpha, index_->List(ListQuery{"alpha", 0, 10}));
  EXPECT_THAT(Ids(alpha), ElementsAre("ds-b"));
  ASSERT_OK_AND_ASSIGN(DeleteOutcome again, index_->Delete(dataset));
  EXPECT_EQ(again.result, DeleteOutcome::Result::kNotFound);
}

TEST_F(RedisDatasetIndexTest, LineageIsAReferenceAddedAndDroppedWithTheChild) {
  const v1::Dataset parent = MakeDataset("ds-p", "parent", 1000);
  const v1::Dataset other = MakeDataset("ds-q", "other", 1500);
  ASSERT_THAT(index_->Put(parent), IsOk());
  ASSERT_THAT(index_->Put(other), IsOk());
  v1::Dataset train = MakeDataset("ds-train", "parent-train", 2000);
  train.mutable_split_origin()->set_parent_id("ds-p");
  ASSERT_THAT(index_->Put(train), IsOk());
  v1::Dataset merged = MakeDataset("ds-m", "merged", 3000);
  merged.mutable_merge_origin()->add_parent_ids("ds-q");
  merged.mutable_merge_origin()->add_parent_ids("ds-p");
  ASSERT_THAT(index_->Put(merged), IsOk());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Dataset> got, index_->Get("ds-p"));
  EXPECT_THAT(got->referenced_by(), ElementsAre("dataset/ds-m", "dataset/ds-train"));
  EXPECT_EQ(Integer({"SISMEMBER", "ethscan:dataset:ds-q:refs", "dataset/ds-m"}), 1);

  ASSERT_OK_AND_ASSIGN(DeleteOutcome refused, index_->Delete(parent));
  EXPECT_EQ(refused.result, DeleteOutcome::Result::kReferenced);
  EXPECT_THAT(refused.holders, ElementsAre("dataset/ds-m", "dataset/ds-train"));
  // Deleting a child drops its reference on every parent, in the same step.
  ASSERT_OK_AND_ASSIGN(DeleteOutcome deleted, index_->Delete(merged));
  EXPECT_EQ(deleted.result, DeleteOutcome::Result::kDeleted);
  EXPECT_EQ(Integer({"EXISTS", "ethscan:dataset:ds-q:refs"}), 0);
  ASSERT_OK_AND_ASSIGN(got, index_->Get("ds-p"));
  EXPECT_THAT(got->referenced_by(), ElementsAre("dataset/ds-train"));
  ASSERT_OK_AND_ASSIGN(deleted, index_->Delete(train));
  EXPECT_EQ(deleted.result, DeleteOutcome::Result::kDeleted);
  ASSERT_OK_AND_ASSIGN(deleted, index_->Delete(parent));
  EXPECT_EQ(deleted.result, DeleteOutcome::Result::kDeleted);

  // A child whose parent is not listed is refused whole: no metadata, no listing, no
  // reference on the parent that is listed.
  v1::Dataset orphan = MakeDataset("ds-orphan", "orphan", 4000);
  orphan.mutable_merge_origin()->add_parent_ids("ds-q");
  orphan.mutable_merge_origin()->add_parent_ids("ds-p");
  EXPECT_THAT(index_->Put(orphan),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("\"ds-p\"")));
  EXPECT_EQ(Integer({"EXISTS", "ethscan:dataset:ds-orphan"}), 0);
  EXPECT_EQ(Integer({"EXISTS", "ethscan:dataset:ds-q:refs"}), 0);
  ASSERT_OK_AND_ASSIGN(ListPage all, index_->List(ListQuery{"", 0, 10}));
  EXPECT_THAT(Ids(all), ElementsAre("ds-q"));
}

TEST_F(RedisDatasetIndexTest, ManagerKeepsParentsOfSplitsAndMergesThroughRedis) {
  const std::string dir = ethscan::testing::MakeTempDir("dataset-redis-lineage");
  absl::StatusOr<std::unique_ptr<FileRecordStore>> store =
      FileRecordStore::Create(FileRecordStoreOptions{dir});
  ASSERT_TRUE(store.ok()) << store.status();
  common::FakeClock clock;
  absl::StatusOr<std::unique_ptr<DatasetManager>> manager =
      DatasetManager::Create(DatasetManagerOptions(), std::make_unique<RedisDatasetIndex>(client_),
                             *std::move(store), &clock);
  ASSERT_TRUE(manager.ok()) << manager.status();
  std::string data = "address,comment,date\n";
  for (int i = 1; i <= 10; ++i) absl::StrAppend(&data, absl::StrFormat("0x%040x", i), ",x,\n");
  auto chunks = [&data, done = false](std::string* chunk) mutable -> absl::StatusOr<bool> {
    if (done) return false;
    *chunk = data;
    done = true;
    return true;
  };
  v1::UploadMetadata metadata;
  metadata.set_name("darklist");
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded, (*manager)->Upload(metadata, chunks));
  const std::string parent = uploaded.dataset().id();
  v1::SplitDatasetRequest split;
  split.set_id(parent);
  split.set_train_fraction(0.5);
  split.set_test_fraction(0.5);
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse sides, (*manager)->Split(split));
  v1::MergeDatasetsRequest merge;
  merge.add_ids(sides.train().id());
  merge.add_ids(sides.test().id());
  merge.set_name("rejoined");
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse merged, (*manager)->Merge(merge));

  EXPECT_THAT((*manager)->Delete(parent),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("is the parent of datasets"), HasSubstr(sides.train().id()),
                             HasSubstr(sides.test().id()))));
  EXPECT_THAT((*manager)->RemoveReference(parent, "dataset/" + sides.train().id()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT((*manager)->Delete(sides.train().id()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(merged.dataset().id())));
  for (const std::string& id : {merged.dataset().id(), sides.train().id(), sides.test().id()}) {
    ASSERT_THAT((*manager)->Delete(id), IsOk()) << id;
  }
  ASSERT_OK_AND_ASSIGN(v1::Dataset alone, (*manager)->GetDataset(parent));
  EXPECT_THAT(alone.referenced_by(), ::testing::IsEmpty());
  ASSERT_THAT((*manager)->Delete(parent), IsOk());
  std::filesystem::remove_all(dir);
}

// A job referencing a dataset while another client deletes it, many times over, each on its
// own connection: whichever wins, no reference ever outlives its dataset and no referenced
// dataset is deleted.
TEST_F(RedisDatasetIndexTest, ConcurrentReferenceAndDeleteNeverLeaveADanglingReference) {
  redis::Options options;
  options.url = server_->url();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::HiredisClient> a,
                       redis::HiredisClient::Create(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::HiredisClient> b,
                       redis::HiredisClient::Create(options));
  RedisDatasetIndex referencer(std::shared_ptr<redis::Client>(std::move(a)));
  RedisDatasetIndex deleter(std::shared_ptr<redis::Client>(std::move(b)));
  int referenced_first = 0;
  int deleted_first = 0;
  for (int round = 0; round < 200; ++round) {
    const v1::Dataset dataset = MakeDataset(absl::StrCat("ds-race-", round), "race", round);
    ASSERT_THAT(index_->Put(dataset), IsOk());
    absl::StatusOr<std::optional<v1::Dataset>> added;
    absl::StatusOr<DeleteOutcome> deleted;
    std::atomic<int> ready{0};
    auto wait = [&ready] {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
    };
    std::thread job([&] {
      wait();
      added = referencer.AddReference(dataset.id(), "job/ftjob-race");
    });
    std::thread cleanup([&] {
      wait();
      deleted = deleter.Delete(dataset);
    });
    job.join();
    cleanup.join();
    ASSERT_TRUE(added.ok()) << added.status();
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    const std::string refs_key = absl::StrCat("ethscan:dataset:", dataset.id(), ":refs");
    if (added->has_value()) {
      // The reference won: the deletion must have been refused.
      ++referenced_first;
      EXPECT_EQ(deleted->result, DeleteOutcome::Result::kReferenced) << round;
      EXPECT_EQ(Integer({"EXISTS", absl::StrCat("ethscan:dataset:", dataset.id())}), 1);
      EXPECT_EQ(Integer({"SCARD", refs_key}), 1);
    } else {
      // The deletion won: the reference must have been refused and left nothing behind.
      ++deleted_first;
      EXPECT_EQ(deleted->result, DeleteOutcome::Result::kDeleted) << round;
      EXPECT_EQ(Integer({"EXISTS", refs_key}), 0);
    }
  }
  EXPECT_EQ(referenced_first + deleted_first, 200);
  std::cout << "reference first: " << referenced_first << ", delete first: " << deleted_first
            << "\n";
}

TEST_F(RedisDatasetIndexTest, ManagerDeletesThroughRedisOnlyWithoutReferences) {
  const std::string dir = ethscan::testing::MakeTempDir("dataset-redis-delete");
  absl::StatusOr<std::unique_ptr<FileRecordStore>> store =
      FileRecordStore::Create(FileRecordStoreOptions{dir});
  ASSERT_TRUE(store.ok()) << store.status();
  FileRecordStore* files = store->get();
  common::FakeClock clock;
  absl::StatusOr<std::unique_ptr<DatasetManager>> manager =
      DatasetManager::Create(DatasetManagerOptions(), std::make_unique<RedisDatasetIndex>(client_),
                             *std::move(store), &clock);
  ASSERT_TRUE(manager.ok()) << manager.status();
  const std::string data =
      "address,comment,date\n0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,fake token,2018-10-28\n";
  auto chunks = [&data, done = false](std::string* chunk) mutable -> absl::StatusOr<bool> {
    if (done) return false;
    *chunk = data;
    done = true;
    return true;
  };
  v1::UploadMetadata metadata;
  metadata.set_name("darklist");
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response, (*manager)->Upload(metadata, chunks));
  const std::string id = response.dataset().id();
  ASSERT_OK_AND_ASSIGN(v1::Dataset held, (*manager)->AddReference(id, "model/m"));
  EXPECT_THAT(held.referenced_by(), ElementsAre("model/m"));
  EXPECT_EQ((*manager)->Delete(id).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_THAT((*manager)->RemoveReference(id, "model/m"), IsOk());
  ASSERT_THAT((*manager)->Delete(id), IsOk());
  EXPECT_FALSE(std::filesystem::exists(files->DatasetDir(id)));
  EXPECT_EQ((*manager)->GetDataset(id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*manager)->AddReference(id, "model/m").status().code(), absl::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ethscan::dataset

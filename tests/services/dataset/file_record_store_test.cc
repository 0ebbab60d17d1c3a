#include "services/dataset/file_record_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::dataset {
namespace {

namespace fs = std::filesystem;
using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

common::v1::AddressRecord Record(int line, const std::string& label) {
  common::v1::AddressRecord record;
  record.set_address("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");
  record.set_label(label);
  record.set_line(line);
  return record;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  return names;
}

class FileRecordStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ethscan::testing::MakeTempDir("file-record-store");
    absl::StatusOr<std::unique_ptr<FileRecordStore>> store =
        FileRecordStore::Create(FileRecordStoreOptions{dir_});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `count` records and commits them as `id`.
  absl::StatusOr<bool> WriteDataset(const std::string& id, int count) {
    absl::StatusOr<std::unique_ptr<RecordWriter>> writer = store_->NewWriter();
    if (!writer.ok()) return writer.status();
    for (int i = 0; i < count; ++i) {
      absl::Status status = (*writer)->Write(Record(i + 2, i % 2 ? "Scam" : "Legit"));
      if (!status.ok()) return status;
    }
    return (*writer)->Commit(id);
  }

  std::vector<common::v1::AddressRecord> ReadAll(const std::string& id) {
    std::vector<common::v1::AddressRecord> records;
    absl::StatusOr<std::unique_ptr<RecordReader>> reader = store_->Open(id);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return records;
    common::v1::AddressRecord record;
    while (true) {
      absl::StatusOr<bool> more = (*reader)->Next(&record);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      records.push_back(record);
    }
    return records;
  }

  std::string dir_;
  std::unique_ptr<FileRecordStore> store_;
};

TEST_F(FileRecordStoreTest, CommittedRecordsReadBackInOrder) {
  ASSERT_OK_AND_ASSIGN(bool existed, WriteDataset("ds-1", 2500));
  EXPECT_FALSE(existed);
  EXPECT_TRUE(fs::exists(store_->DatasetDir("ds-1") + "/records.pb"));
  EXPECT_TRUE(fs::exists(store_->DatasetDir("ds-1") + "/manifest.json"));
  EXPECT_THAT(Entries(store_->tmp_dir()), IsEmpty());
  std::vector<common::v1::AddressRecord> records = ReadAll("ds-1");
  ASSERT_EQ(records.size(), 2500u);
  for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].line(), i + 2);
}

TEST_F(FileRecordStoreTest, AReusedRecordHoldsOnlyTheNextRecord) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RecordWriter> writer, store_->NewWriter());
  common::v1::AddressRecord tagged = Record(2, "Scam");
  tagged.add_tags("Airdrop");
  tagged.set_note("first");
  ASSERT_THAT(writer->Write(tagged), IsOk());
  ASSERT_THAT(writer->Write(Record(3, "Legit")), IsOk());
  ASSERT_THAT(writer->Commit("ds-reuse").status(), IsOk());
  std::vector<common::v1::AddressRecord> records = ReadAll("ds-reuse");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_THAT(records[0].tags(), ::testing::ElementsAre("Airdrop"));
  EXPECT_THAT(records[1].tags(), IsEmpty());
  EXPECT_EQ(records[1].note(), "");
}

TEST_F(FileRecordStoreTest, AbortAndDestructionLeaveNothing) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RecordWriter> writer, store_->NewWriter());
    ASSERT_THAT(writer->Write(Record(2, "Scam")), IsOk());
    EXPECT_THAT(Entries(store_->tmp_dir()).size(), 1u);
    writer->Abort();
    writer->Abort();
  }
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RecordWriter> writer, store_->NewWriter());
    ASSERT_THAT(writer->Write(Record(2, "Scam")), IsOk());
  }
  EXPECT_THAT(Entries(store_->tmp_dir()), IsEmpty());
  EXPECT_THAT(Entries(dir_ + "/datasets"), IsEmpty());
}

TEST_F(FileRecordStoreTest, SecondCommitOfAnIdKeepsTheFirst) {
  ASSERT_OK_AND_ASSIGN(bool first, WriteDataset("ds-2", 3));
  ASSERT_OK_AND_ASSIGN(bool second, WriteDataset("ds-2", 5));
  EXPECT_FALSE(first);
  EXPECT_TRUE(second);
  EXPECT_EQ(ReadAll("ds-2").size(), 3u);
  EXPECT_THAT(Entries(store_->tmp_dir()), IsEmpty());
}

TEST_F(FileRecordStoreTest, TamperedRecordsAreDataLoss) {
  ASSERT_THAT(WriteDataset("ds-3", 10), IsOk());
  {
    std::fstream file(store_->DatasetDir("ds-3") + "/records.pb",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(5);
    file.put('\x7f');
  }
  EXPECT_THAT(store_->Open("ds-3"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("fail their integrity check")));
}

TEST_F(FileRecordStoreTest, CorruptManifestIsDataLoss) {
  ASSERT_THAT(WriteDataset("ds-4", 1), IsOk());
  std::ofstream(store_->DatasetDir("ds-4") + "/manifest.json") << "{not json";
  EXPECT_THAT(store_->Open("ds-4"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("manifest of dataset")));
}

TEST_F(FileRecordStoreTest, UnknownIdIsNotFoundAndPathsAreRejected) {
  EXPECT_THAT(store_->Open("ds-missing"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Open("../etc"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->Remove(".."), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(FileRecordStoreTest, RemoveDeletesTheDataset) {
  ASSERT_THAT(WriteDataset("ds-5", 2), IsOk());
  ASSERT_THAT(store_->Remove("ds-5"), IsOk());
  EXPECT_THAT(store_->Open("ds-5"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Remove("ds-5"), IsOk());
}

TEST_F(FileRecordStoreTest, CreateRemovesOnlyStaleUploads) {
  const std::string stale = store_->tmp_dir() + "/upload-stale";
  const std::string fresh = store_->tmp_dir() + "/upload-fresh";
  fs::create_directory(stale);
  fs::create_directory(fresh);
  std::ofstream(stale + "/records.pb") << "x";
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  fs::last_write_time(stale + "/records.pb", old);
  fs::last_write_time(stale, old);
  ASSERT_TRUE(FileRecordStore::Create(FileRecordStoreOptions{dir_}).ok());
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
}

// Sets the modification time of `dir` and of everything directly in it to `age` ago.
void Age(const std::string& dir, std::chrono::hours age) {
  const auto old = fs::file_time_type::clock::now() - age;
  for (const auto& entry : fs::directory_iterator(dir)) fs::last_write_time(entry.path(), old);
  fs::last_write_time(dir, old);
}

// A store of its own on dir_, without the background sweep, for a test that forks.
std::unique_ptr<FileRecordStore> StoreWithoutSweepThread(const std::string& dir) {
  FileRecordStoreOptions options;
  options.data_dir = dir;
  options.sweep_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<FileRecordStore>> store = FileRecordStore::Create(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

TEST_F(FileRecordStoreTest, SweepRemovesTheUploadOfAKilledWriter) {
  store_.reset();  // No thread may run while the test forks.
  std::unique_ptr<FileRecordStore> store = StoreWithoutSweepThread(dir_);
  ASSERT_NE(store, nullptr);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child opens an upload, writes a record, says so, and waits to be killed.
    ::close(ready[0]);
    absl::StatusOr<std::unique_ptr<RecordWriter>> writer = store->NewWriter();
    if (!writer.ok() || !(*writer)->Write(Record(2, "Scam")).ok()) ::_exit(1);
    const char byte = 'r';
    if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
    while (true) ::pause();
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status));

  std::vector<std::string> left = Entries(store->tmp_dir());
  ASSERT_EQ(left.size(), 1u);
  const std::string upload = store->tmp_dir() + "/" + left[0];
  EXPECT_TRUE(fs::exists(upload + "/writer.lock"));
  // Too young: its writer might not have locked it yet.
  EXPECT_EQ(store->SweepAbandonedUploads(), 0);
  EXPECT_TRUE(fs::exists(upload));
  Age(upload, std::chrono::hours(1));
  EXPECT_EQ(store->SweepAbandonedUploads(), 1);
  EXPECT_THAT(Entries(store->tmp_dir()), IsEmpty());
}

TEST_F(FileRecordStoreTest, SweepKeepsALiveWritersUploadHoweverOld) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RecordWriter> writer, store_->NewWriter());
  ASSERT_THAT(writer->Write(Record(2, "Scam")), IsOk());
  std::vector<std::string> open = Entries(store_->tmp_dir());
  ASSERT_EQ(open.size(), 1u);
  const std::string upload = store_->tmp_dir() + "/" + open[0];
  Age(upload, std::chrono::hours(24 * 365));
  EXPECT_EQ(store_->SweepAbandonedUploads(), 0);
  // Nor does another store on the same directory (another process's start-up) remove it.
  ASSERT_TRUE(FileRecordStore::Create(FileRecordStoreOptions{dir_}).ok());
  EXPECT_TRUE(fs::exists(upload));
  ASSERT_OK_AND_ASSIGN(bool existed, writer->Commit("ds-live"));
  EXPECT_FALSE(existed);
  EXPECT_EQ(ReadAll("ds-live").size(), 1u);
  // The lock file does not stay in the dataset.
  EXPECT_FALSE(fs::exists(store_->DatasetDir("ds-live") + "/writer.lock"));
  EXPECT_THAT(Entries(store_->tmp_dir()), IsEmpty());
}

TEST(FileRecordStoreCreateTest, DestructionStopsThePeriodicSweepAtOnce) {
  const std::string dir = ethscan::testing::MakeTempDir("file-record-store-sweep");
  FileRecordStoreOptions options;
  options.data_dir = dir;
  options.sweep_interval = absl::Hours(1);
  const absl::Time start = absl::Now();
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<FileRecordStore> store, FileRecordStore::Create(options));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  fs::remove_all(dir);
}

TEST(FileRecordStoreCreateTest, RejectsAnEmptyDirectory) {
  EXPECT_THAT(FileRecordStore::Create(FileRecordStoreOptions{""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace ethscan::dataset

#include "services/dataset/dataset_manager.h"

#include <google/protobuf/util/message_differencer.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/eth/address.h"
#include "common/eth/hash.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/dataset/chat_format.h"
#include "services/dataset/file_record_store.h"
#include "services/dataset/record_merge.h"
#include "tests/services/dataset/fake_dataset_index.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::dataset {
namespace {

namespace fs = std::filesystem;
using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kOfac[] =
    "address,name,status,date_added\n"
    "0x098B716B8Aaf21512996dC57EB0615e2383E2f96,LAZARUS GROUP,listed,2022-04-14\n"
    "0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B,LAZARUS GROUP,listed,2022-04-22\n"
    "0x8589427373d6d84e98730d7795d8f6f8731fda16,TORNADO CASH,delisted,2022-08-08\n";

// Two Phishing/Scamming reports of one address (a conflict), one address reported twice with
// the same category (a duplicate) and one with a bad checksum.
constexpr char kScamDb[] =
    "address,category,subcategory,site_name,url,reporter\n"
    "0x858457daa7e087ad74cdeeceab8419079bc2ca03,Phishing,MyEtherWallet,a.net,http://a.net,r\n"
    "0x858457daa7e087ad74cdeeceab8419079bc2ca03,Scamming,Trust-Trading,b.net,http://b.net,r\n"
    "0x00e01A648Ff41346CDeB873182383333D2184dd1,Scamming,,c.net,http://c.net,r\n"
    "0x00e01a648ff41346cdeb873182383333d2184dd1,Scamming,,d.net,http://d.net,r\n"
    "0x9fAfDd6748BA31C41a23C8303Be53320Ed41901C,Scamming,,e.net,http://e.net,r\n";

// A CryptoScamDB file of `n` distinct lowercase addresses: every third reported as Phishing,
// the others as Scamming. Every tenth is reported a second time, in EIP-55 case, with the other
// category (so its rows conflict) and another subcategory.
std::string ScamDbFile(int n) {
  std::string data = "address,category,subcategory,site_name,url,reporter\n";
  for (int i = 0; i < n; ++i) {
    const std::string address = absl::StrFormat("0x%040x", 0xabc000 + i * 7919);
    const bool phishing = i % 3 == 0;
    absl::StrAppend(&data, address, ",", phishing ? "Phishing" : "Scamming", ",Sub", i % 4, ",s", i,
                    ".example,http://s", i, ".example,r\n");
    if (i % 10 == 0) {
      absl::StrAppend(&data, eth::Address::Parse(address)->ToChecksumHex(), ",",
                      phishing ? "Scamming" : "Phishing", ",Extra,x.example,http://x", i,
                      ".example,r\n");
    }
  }
  return data;
}

// Hands out `data` in chunks of `size` bytes.
ChunkSource Chunks(std::string data, size_t size = 16) {
  auto offset = std::make_shared<size_t>(0);
  return [data = std::move(data), size, offset](std::string* chunk) -> absl::StatusOr<bool> {
    if (*offset >= data.size()) return false;
    *chunk = data.substr(*offset, size);
    *offset += size;
    return true;
  };
}

v1::UploadMetadata Metadata(const std::string& name, const std::string& filename = "") {
  v1::UploadMetadata metadata;
  metadata.set_name(name);
  metadata.set_filename(filename);
  return metadata;
}

v1::GetDatasetStatsRequest StatsRequest(const std::string& id, double price = 0) {
  v1::GetDatasetStatsRequest request;
  request.set_id(id);
  request.set_price_per_million_tokens(price);
  return request;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  return names;
}

class DatasetManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeManager(DatasetManagerOptions()); }
  void TearDown() override { fs::remove_all(dir_); }

  void MakeManager(const DatasetManagerOptions& options) {
    if (!dir_.empty()) fs::remove_all(dir_);
    dir_ = ethscan::testing::MakeTempDir("dataset-manager");
    auto index = std::make_unique<FakeDatasetIndex>();
    index_ = index.get();
    absl::StatusOr<std::unique_ptr<FileRecordStore>> store =
        FileRecordStore::Create(FileRecordStoreOptions{dir_});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->get();
    absl::StatusOr<std::unique_ptr<DatasetManager>> manager =
        DatasetManager::Create(options, std::move(index), *std::move(store), &clock_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = *std::move(manager);
  }

  // Asserts that no upload left files or metadata behind.
  void ExpectNothingStored() {
    EXPECT_THAT(Entries(dir_ + "/tmp"), IsEmpty());
    EXPECT_THAT(Entries(dir_ + "/datasets"), IsEmpty());
    EXPECT_EQ(index_->size(), 0u);
  }

  std::vector<v1::ReadRecordsResponse> ReadBatches(const std::string& id, int batch_size) {
    std::vector<v1::ReadRecordsResponse> batches;
    absl::Status status =
        manager_->ReadRecords(id, batch_size, [&](const v1::ReadRecordsResponse& batch) {
          batches.push_back(batch);
          return absl::OkStatus();
        });
    EXPECT_THAT(status, IsOk());
    return batches;
  }

  std::vector<common::v1::AddressRecord> ReadAll(const std::string& id) {
    std::vector<common::v1::AddressRecord> records;
    for (const v1::ReadRecordsResponse& batch : ReadBatches(id, 0)) {
      records.insert(records.end(), batch.records().begin(), batch.records().end());
    }
    return records;
  }

  v1::SplitDatasetRequest SplitRequest(const std::string& id, double train, double validation,
                                       double test, uint64_t seed) {
    v1::SplitDatasetRequest request;
    request.set_id(id);
    request.set_train_fraction(train);
    request.set_validation_fraction(validation);
    request.set_test_fraction(test);
    request.set_seed(seed);
    return request;
  }

  // The whole export of a dataset, and the number of chunks it came in.
  absl::Status ExportAll(const std::string& id, std::string* jsonl, int* chunks = nullptr) {
    int count = 0;
    absl::Status status = manager_->Export(id, [&](const v1::ExportDatasetResponse& chunk) {
      jsonl->append(chunk.chunk());
      ++count;
      return absl::OkStatus();
    });
    if (chunks != nullptr) *chunks = count;
    return status;
  }

  std::string dir_;
  common::FakeClock clock_{absl::FromUnixMillis(1700000000123)};
  FakeDatasetIndex* index_ = nullptr;
  FileRecordStore* store_ = nullptr;
  std::unique_ptr<DatasetManager> manager_;
};

TEST_F(DatasetManagerTest, UploadStoresRecordsAndMetadata) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                       manager_->Upload(Metadata("sdn", "sdn.csv"), Chunks(kOfac)));
  const v1::Dataset& dataset = response.dataset();
  EXPECT_FALSE(response.already_existed());
  EXPECT_THAT(dataset.id(), HasSubstr("ds-"));
  EXPECT_EQ(dataset.id().size(), 19u);
  EXPECT_EQ(dataset.format(), v1::DATASET_FORMAT_OFAC_SDN);
  EXPECT_EQ(dataset.line_count(), 3u);
  EXPECT_EQ(dataset.record_count(), 3u);
  EXPECT_EQ(dataset.address_count(), 3u);
  EXPECT_EQ(dataset.filename(), "sdn.csv");
  EXPECT_EQ(dataset.create_time().seconds(), 1700000000);
  EXPECT_EQ(dataset.create_time().nanos(), 123000000);
  EXPECT_THAT(dataset.label_counts(),
              UnorderedElementsAre(Pair("Sanctioned", 2u), Pair("Unknown", 1u)));
  EXPECT_EQ(response.format_detection(),
            "detected ofac_sdn from header columns address,name,status,date_added");
  EXPECT_TRUE(fs::exists(store_->DatasetDir(dataset.id()) + "/records.pb"));
  EXPECT_THAT(Entries(dir_ + "/tmp"), IsEmpty());
  ASSERT_OK_AND_ASSIGN(v1::Dataset stored, manager_->GetDataset(dataset.id()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(stored, dataset));
}

TEST_F(DatasetManagerTest, ReuploadOfTheSameBytesIsANoOp) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse first,
                       manager_->Upload(Metadata("sdn"), Chunks(kOfac)));
  clock_.Advance(absl::Hours(1));
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse second,
                       manager_->Upload(Metadata("sdn"), Chunks(kOfac, 5)));
  EXPECT_TRUE(second.already_existed());
  EXPECT_EQ(second.dataset().id(), first.dataset().id());
  EXPECT_EQ(second.dataset().create_time().seconds(), first.dataset().create_time().seconds());
  EXPECT_EQ(index_->put_calls(), 1);
  EXPECT_THAT(Entries(dir_ + "/tmp"), IsEmpty());
  EXPECT_EQ(Entries(dir_ + "/datasets").size(), 1u);

  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse renamed,
                       manager_->Upload(Metadata("sdn-copy"), Chunks(kOfac)));
  EXPECT_FALSE(renamed.already_existed());
  EXPECT_NE(renamed.dataset().id(), first.dataset().id());
}

TEST_F(DatasetManagerTest, RejectedFileLeavesNothingBehind) {
  std::string broken =
      absl::StrCat(kOfac, "0x1111111111111111111111111111111111111111,\"X,listed\n");
  EXPECT_THAT(manager_->Upload(Metadata("sdn", "sdn.csv"), Chunks(broken)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sdn.csv line 5: unterminated quoted field")));
  ExpectNothingStored();
}

TEST_F(DatasetManagerTest, TooManyInvalidLinesLeaveNothingBehind) {
  std::string data = absl::StrCat(kOfac, "0x1234,SOMEONE,listed,\n");
  EXPECT_THAT(manager_->Upload(Metadata("sdn", "sdn.csv"), Chunks(data)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("sdn.csv: 1 of 4 lines are invalid"),
                             HasSubstr("line 5, field address"))));
  ExpectNothingStored();
}

TEST_F(DatasetManagerTest, ZeroFractionMeansTheDefault) {
  std::string data = "address,comment,date\n";
  for (int i = 0; i < 99; ++i) {
    absl::StrAppend(&data, "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,x", i, ",\n");
  }
  absl::StrAppend(&data, "0xbad,x,\n");
  v1::UploadMetadata metadata = Metadata("dark");
  metadata.set_max_invalid_fraction(0);
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                       manager_->Upload(metadata, Chunks(data)));
  EXPECT_EQ(response.dataset().invalid_line_count(), 1u);
  metadata.set_name("dark-strict");
  metadata.set_max_invalid_fraction(1e-9);
  EXPECT_THAT(manager_->Upload(metadata, Chunks(data)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 of 100 lines")));
}

TEST_F(DatasetManagerTest, OversizeUploadIsResourceExhaustedAndLeavesNothing) {
  DatasetManagerOptions options;
  options.max_upload_bytes = 100;
  MakeManager(options);
  EXPECT_THAT(manager_->Upload(Metadata("sdn"), Chunks(kOfac)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("upload limit of 100")));
  ExpectNothingStored();
}

TEST_F(DatasetManagerTest, InterruptedUploadLeavesNothing) {
  int calls = 0;
  ChunkSource chunks = Chunks(kOfac);
  ChunkSource interrupted = [&](std::string* chunk) -> absl::StatusOr<bool> {
    if (++calls > 5) return absl::CancelledError("client went away");
    return chunks(chunk);
  };
  EXPECT_THAT(manager_->Upload(Metadata("sdn"), interrupted),
              StatusIs(absl::StatusCode::kCancelled));
  ExpectNothingStored();
}

TEST_F(DatasetManagerTest, CommitCheckIsAskedLastAndItsRefusalStoresNothing) {
  bool drained = false;
  ChunkSource chunks = Chunks(kOfac);
  ChunkSource source = [&](std::string* chunk) -> absl::StatusOr<bool> {
    absl::StatusOr<bool> more = chunks(chunk);
    if (more.ok() && !*more) drained = true;
    return more;
  };
  int asked = 0;
  CommitCheck cancelled = [&]() -> absl::Status {
    ++asked;
    EXPECT_TRUE(drained) << "asked before the stream ended";
    EXPECT_THAT(Entries(dir_ + "/datasets"), IsEmpty()) << "asked after the commit";
    return absl::CancelledError("the client cancelled");
  };
  EXPECT_THAT(manager_->Upload(Metadata("sdn"), source, cancelled),
              StatusIs(absl::StatusCode::kCancelled, "the client cancelled"));
  EXPECT_EQ(asked, 1);
  ExpectNothingStored();
  // Allowed, the same upload is stored.
  ASSERT_OK_AND_ASSIGN(
      v1::UploadDatasetResponse stored,
      manager_->Upload(Metadata("sdn"), Chunks(kOfac), [&] { return ++asked, absl::OkStatus(); }));
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(stored.dataset().record_count(), 3u);
}

TEST_F(DatasetManagerTest, DeclaredSizeAndDigestMustMatchTheBytes) {
  const std::string file = kOfac;
  v1::UploadMetadata metadata = Metadata("sdn", "sdn.csv");
  metadata.set_size_bytes(file.size() + 100);
  EXPECT_THAT(manager_->Upload(metadata, Chunks(file)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       absl::StrCat("upload incomplete: received ", file.size(), " of ",
                                    file.size() + 100, " bytes (size_bytes)")));
  ExpectNothingStored();
  // A declared digest outranks a rejection of the whole file (here: no data rows), which
  // would describe other bytes than the client's.
  const std::string header_only = "address,name,status,date_added\n";
  metadata.clear_size_bytes();
  metadata.set_sha256(eth::Sha256::HexDigest("other bytes"));
  EXPECT_THAT(manager_->Upload(metadata, Chunks(header_only)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("upload corrupt")));
  ExpectNothingStored();
  ASSERT_OK_AND_ASSIGN(v1::ValidateDatasetResponse validated,
                       manager_->Validate(Metadata("sdn"), Chunks(header_only)));
  EXPECT_FALSE(validated.valid());
  EXPECT_THAT(manager_->Validate(metadata, Chunks(header_only)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("upload corrupt")));
  // Both right: stored, and the digest is the dataset's sha256.
  metadata.set_size_bytes(file.size());
  metadata.set_sha256(eth::Sha256::HexDigest(file));
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse stored, manager_->Upload(metadata, Chunks(file)));
  EXPECT_EQ(stored.dataset().sha256(), metadata.sha256());
  EXPECT_EQ(stored.dataset().size_bytes(), file.size());
  // An empty file declared as empty is checked as any other.
  metadata.set_size_bytes(0);
  EXPECT_THAT(
      manager_->Upload(metadata, Chunks(file)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("upload larger than declared")));
}

TEST_F(DatasetManagerTest, IndexOutageFailsTheUploadAndLeavesNoRecords) {
  index_->SetFailure(absl::UnavailableError("redis down"));
  EXPECT_THAT(manager_->Upload(Metadata("sdn"), Chunks(kOfac)),
              StatusIs(absl::StatusCode::kUnavailable));
  index_->SetFailure(absl::OkStatus());
  ExpectNothingStored();
}

TEST_F(DatasetManagerTest, RejectsBadMetadata) {
  const std::string too_long(129, 'a');
  for (const std::string& name : {std::string(), too_long, std::string("a b"), std::string("x/y"),
                                  std::string("caf\xC3\xA9")}) {
    EXPECT_THAT(manager_->Upload(Metadata(name), Chunks(kOfac)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid dataset name")))
        << name;
  }
  EXPECT_THAT(manager_->Upload(Metadata(std::string(128, 'a')), Chunks(kOfac)), IsOk());
  v1::UploadMetadata metadata = Metadata("ok");
  metadata.set_max_invalid_fraction(1.5);
  EXPECT_THAT(manager_->Upload(metadata, Chunks(kOfac)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_invalid_fraction")));
  metadata.set_max_invalid_fraction(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(manager_->Validate(metadata, Chunks(kOfac)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  metadata.set_max_invalid_fraction(0);
  metadata.set_format(static_cast<v1::DatasetFormat>(42));
  EXPECT_THAT(manager_->Upload(metadata, Chunks(kOfac)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown dataset format 42")));
}

TEST_F(DatasetManagerTest, ChecksumWarningsKeepTheLine) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                       manager_->Upload(Metadata("scamdb", "scam.csv"), Chunks(kScamDb)));
  EXPECT_EQ(response.dataset().record_count(), 5u);
  EXPECT_EQ(response.dataset().invalid_line_count(), 0u);
  ASSERT_EQ(response.issues_size(), 2);
  // Line 3 repeats line 2's address with another label: kept, with a warning naming both.
  const v1::ValidationIssue& duplicate = response.issues(0);
  EXPECT_EQ(duplicate.severity(), v1::ValidationIssue::SEVERITY_WARNING);
  EXPECT_EQ(duplicate.line(), 3u);
  EXPECT_EQ(duplicate.field(), "label");
  EXPECT_THAT(duplicate.reason(),
              AllOf(HasSubstr("duplicate address 0x858457daA7e087ad74cDeeCEAb8419079bC2cA03"),
                    HasSubstr("first on line 2"),
                    HasSubstr("label (\"Scam\" here, \"Phish / Hack\" there)")));
  // Lines 4 and 5 are one address in two spellings with the same fields: no warning.
  const v1::ValidationIssue& issue = response.issues(1);
  EXPECT_EQ(issue.severity(), v1::ValidationIssue::SEVERITY_WARNING);
  EXPECT_EQ(issue.file(), "scam.csv");
  EXPECT_EQ(issue.line(), 6u);
  EXPECT_EQ(issue.field(), "address");
  EXPECT_THAT(issue.reason(), HasSubstr("0x9fAfDd6748BA31C41a23C8303Be53320Ed41901C"));
}

TEST_F(DatasetManagerTest, StatsCountDuplicatesAndConflicts) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                       manager_->Upload(Metadata("scamdb"), Chunks(kScamDb)));
  EXPECT_EQ(response.dataset().address_count(), 3u);
  ASSERT_OK_AND_ASSIGN(v1::GetDatasetStatsResponse stats,
                       manager_->GetDatasetStats(StatsRequest(response.dataset().id())));
  EXPECT_EQ(stats.id(), response.dataset().id());
  EXPECT_EQ(stats.record_count(), 5u);
  EXPECT_EQ(stats.address_count(), 3u);
  EXPECT_EQ(stats.duplicate_address_count(), 2u);
  EXPECT_EQ(stats.conflicting_address_count(), 1u);
  EXPECT_THAT(stats.label_counts(),
              UnorderedElementsAre(Pair("Scam", 4u), Pair("Phish / Hack", 1u)));
  EXPECT_THAT(stats.account_type_counts(), UnorderedElementsAre(Pair("", 5u)));
}

TEST_F(DatasetManagerTest, ReadRecordsStreamsBatchesInFileOrder) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                       manager_->Upload(Metadata("scamdb"), Chunks(kScamDb)));
  const std::string id = response.dataset().id();
  std::vector<v1::ReadRecordsResponse> batches = ReadBatches(id, 2);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].records_size(), 2);
  EXPECT_EQ(batches[2].records_size(), 1);
  std::vector<uint64_t> lines;
  for (const auto& batch : batches) {
    for (const auto& record : batch.records()) lines.push_back(record.line());
  }
  EXPECT_THAT(lines, ElementsAre(2, 3, 4, 5, 6));
  EXPECT_EQ(batches[0].records(0).source(), "scamdb");
  std::vector<v1::ReadRecordsResponse> one = ReadBatches(id, 0);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].records_size(), 5);
}

TEST_F(DatasetManagerTest, ReadRecordsChecksItsArguments) {
  auto ignore = [](const v1::ReadRecordsResponse&) { return absl::OkStatus(); };
  EXPECT_THAT(manager_->ReadRecords("ds-0000000000000000", 0, ignore),
              StatusIs(absl::StatusCode::kNotFound, "dataset \"ds-0000000000000000\" not found"));
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                       manager_->Upload(Metadata("sdn"), Chunks(kOfac)));
  EXPECT_THAT(manager_->ReadRecords(response.dataset().id(), -1, ignore),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(manager_->ReadRecords(response.dataset().id(), 10001, ignore),
              StatusIs(absl::StatusCode::kInvalidArgument));
  int calls = 0;
  EXPECT_THAT(manager_->ReadRecords(response.dataset().id(), 1,
                                    [&](const v1::ReadRecordsResponse&) {
                                      ++calls;
                                      return absl::CancelledError("gone");
                                    }),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(calls, 1);
}

TEST_F(DatasetManagerTest, DamagedRecordsAreDataLoss) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                       manager_->Upload(Metadata("sdn"), Chunks(kOfac)));
  const std::string id = response.dataset().id();
  std::ofstream(store_->DatasetDir(id) + "/records.pb", std::ios::app) << "junk";
  auto ignore = [](const v1::ReadRecordsResponse&) { return absl::OkStatus(); };
  EXPECT_THAT(manager_->ReadRecords(id, 0, ignore),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("integrity check")));
  EXPECT_THAT(manager_->GetDatasetStats(StatsRequest(id)), StatusIs(absl::StatusCode::kDataLoss));
  fs::remove_all(store_->DatasetDir(id));
  EXPECT_THAT(manager_->ReadRecords(id, 0, ignore),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("records are missing")));
}

TEST_F(DatasetManagerTest, GetDatasetErrors) {
  EXPECT_THAT(manager_->GetDataset("ds-x"),
              StatusIs(absl::StatusCode::kNotFound, "dataset \"ds-x\" not found"));
  EXPECT_THAT(manager_->GetDataset(""), StatusIs(absl::StatusCode::kInvalidArgument));
  index_->SetFailure(absl::UnavailableError("redis down"));
  EXPECT_THAT(manager_->GetDataset("ds-x"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(DatasetManagerTest, ListsNewestFirstWithPagesAndNameFilter) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const std::string name = i % 2 == 0 ? "even" : "odd";
    std::string data =
        absl::StrCat(kOfac, "0x1111111111111111111111111111111111111111,N", i, ",listed,\n");
    ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                         manager_->Upload(Metadata(name), Chunks(data)));
    ids.push_back(response.dataset().id());
    clock_.Advance(absl::Seconds(1));
  }
  v1::ListDatasetsRequest request;
  request.set_page_size(2);
  std::vector<std::string> listed;
  for (int page = 0; page < 5; ++page) {
    ASSERT_OK_AND_ASSIGN(v1::ListDatasetsResponse response, manager_->ListDatasets(request));
    for (const auto& dataset : response.datasets()) listed.push_back(dataset.id());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(listed, ElementsAre(ids[4], ids[3], ids[2], ids[1], ids[0]));

  v1::ListDatasetsRequest odd;
  odd.set_name("odd");
  ASSERT_OK_AND_ASSIGN(v1::ListDatasetsResponse odd_response, manager_->ListDatasets(odd));
  ASSERT_EQ(odd_response.datasets_size(), 2);
  EXPECT_EQ(odd_response.datasets(0).id(), ids[3]);
  EXPECT_EQ(odd_response.datasets(1).id(), ids[1]);
  EXPECT_THAT(odd_response.next_page_token(), IsEmpty());

  v1::ListDatasetsRequest bad;
  bad.set_page_token("abc");
  EXPECT_THAT(manager_->ListDatasets(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid page token")));
  bad.set_page_token("");
  bad.set_page_size(-1);
  EXPECT_THAT(manager_->ListDatasets(bad), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DatasetManagerTest, ValidateStoresNothing) {
  ASSERT_OK_AND_ASSIGN(v1::ValidateDatasetResponse ok,
                       manager_->Validate(Metadata("scamdb"), Chunks(kScamDb)));
  EXPECT_TRUE(ok.valid());
  EXPECT_EQ(ok.dataset().record_count(), 5u);
  EXPECT_EQ(ok.issues_size(), 2);
  EXPECT_THAT(ok.rejection(), IsEmpty());
  EXPECT_THAT(ok.format_detection(), HasSubstr("detected cryptoscamdb"));

  ASSERT_OK_AND_ASSIGN(v1::ValidateDatasetResponse rejected,
                       manager_->Validate(Metadata("scamdb", "s.csv"),
                                          Chunks(absl::StrCat(kScamDb, "0x1,\"open\n"))));
  EXPECT_FALSE(rejected.valid());
  EXPECT_THAT(rejected.rejection(), HasSubstr("s.csv line 7: unterminated quoted field"));
  ExpectNothingStored();
}

TEST_F(DatasetManagerTest, IncompleteFeatureLayoutsAreRejectedWithAMappingHint) {
  // Only some of the behavioural feature columns: neither built-in feature format fits.
  const std::string features =
      "Address,FLAG,Avg min between sent tnx,Avg min between received tnx,Sent tnx\n"
      "0x87d884aaa6ff9e9b6014631b0abae80b53953fb8,1,5151.676667,15159.07778,5\n";
  EXPECT_THAT(
      manager_->Upload(Metadata("features", "address_data_e.csv"), Chunks(features)),
      StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("address_data_e.csv line 1"),
                                                         HasSubstr("behavioural feature layout"))));
  ASSERT_OK_AND_ASSIGN(v1::ValidateDatasetResponse dry,
                       manager_->Validate(Metadata("features"), Chunks(features)));
  EXPECT_FALSE(dry.valid());
  EXPECT_THAT(dry.rejection(), HasSubstr("column mapping (format csv_mapping)"));
  ExpectNothingStored();
}

TEST_F(DatasetManagerTest, KeepsAtMostAThousandIssuesWithCompleteCounts) {
  std::string data = "address,comment,date\n";
  for (int i = 0; i < 1500; ++i) absl::StrAppend(&data, "0xbad,x,\n");
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(&data, "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,x,\n");
  }
  v1::UploadMetadata metadata = Metadata("big");
  metadata.set_max_invalid_fraction(1);
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                       manager_->Upload(metadata, Chunks(data, 4096)));
  EXPECT_EQ(response.issues_size(), 1000);
  EXPECT_EQ(response.issues(999).line(), 1001u);
  EXPECT_EQ(response.dataset().invalid_line_count(), 1500u);
  EXPECT_EQ(response.dataset().line_count(), 1510u);
  EXPECT_EQ(response.dataset().record_count(), 10u);
}

TEST(DatasetManagerCreateTest, RejectsMissingDependencies) {
  common::FakeClock clock;
  EXPECT_THAT(DatasetManager::Create(DatasetManagerOptions(), nullptr, nullptr, &clock),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DatasetManagerTest, SplitStoresThreeDisjointDatasets) {
  ASSERT_OK_AND_ASSIGN(
      v1::UploadDatasetResponse uploaded,
      manager_->Upload(Metadata("scams", "scams.csv"), Chunks(ScamDbFile(200), 4096)));
  const v1::Dataset& parent = uploaded.dataset();
  ASSERT_EQ(parent.address_count(), 200u);
  ASSERT_EQ(parent.record_count(), 220u);
  clock_.Advance(absl::Minutes(5));
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse split,
                       manager_->Split(SplitRequest(parent.id(), 0.8, 0.1, 0.1, 42)));
  EXPECT_FALSE(split.already_existed());
  const v1::Dataset* sides[] = {&split.train(), &split.validation(), &split.test()};
  const char* suffixes[] = {"train", "validation", "test"};
  const v1::SplitOrigin::Part parts[] = {
      v1::SplitOrigin::PART_TRAIN, v1::SplitOrigin::PART_VALIDATION, v1::SplitOrigin::PART_TEST};
  uint64_t records = 0;
  uint64_t addresses = 0;
  absl::flat_hash_map<std::string, int> side_of;  // lowercase address -> side
  std::vector<uint64_t> lines;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(suffixes[i]);
    const v1::Dataset& side = *sides[i];
    EXPECT_THAT(side.id(), ::testing::MatchesRegex("ds-[0-9a-f]{16}"));
    EXPECT_EQ(side.name(), absl::StrCat("scams-", suffixes[i]));
    EXPECT_EQ(side.format(), v1::DATASET_FORMAT_CRYPTOSCAMDB);
    EXPECT_EQ(side.chain_id(), 1u);
    EXPECT_EQ(side.filename(), "scams.csv");
    EXPECT_EQ(side.invalid_line_count(), 0u);
    EXPECT_EQ(side.create_time().seconds(), 1700000000 + 300);
    EXPECT_EQ(side.split_origin().parent_id(), parent.id());
    EXPECT_EQ(side.split_origin().part(), parts[i]);
    EXPECT_EQ(side.split_origin().train_fraction(), 0.8);
    EXPECT_EQ(side.split_origin().validation_fraction(), 0.1);
    EXPECT_EQ(side.split_origin().test_fraction(), 0.1);
    EXPECT_EQ(side.split_origin().seed(), 42u);
    ASSERT_OK_AND_ASSIGN(v1::Dataset stored, manager_->GetDataset(side.id()));
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(stored, side));

    std::vector<common::v1::AddressRecord> side_records = ReadAll(side.id());
    EXPECT_EQ(side_records.size(), side.record_count());
    std::map<std::string, uint64_t> label_counts;
    absl::flat_hash_map<std::string, int> side_addresses;
    uint64_t previous_line = 0;
    for (const common::v1::AddressRecord& record : side_records) {
      EXPECT_EQ(record.source(), "scams");
      EXPECT_GE(record.line(), previous_line) << "records keep file order";
      previous_line = record.line();
      lines.push_back(record.line());
      label_counts[record.label()] += 1;
      const std::string key = absl::AsciiStrToLower(record.address());
      side_addresses[key] = i;
      auto [it, inserted] = side_of.try_emplace(key, i);
      EXPECT_EQ(it->second, i) << key << " is on two sides";
    }
    EXPECT_EQ(side_addresses.size(), side.address_count());
    const std::map<std::string, uint64_t> stored_counts(side.label_counts().begin(),
                                                        side.label_counts().end());
    EXPECT_EQ(label_counts, stored_counts);
    records += side.record_count();
    addresses += side.address_count();

    // sha256 and size_bytes describe the stored records, as the store's manifest does.
    std::ifstream manifest_file(store_->DatasetDir(side.id()) + "/manifest.json");
    nlohmann::json manifest = nlohmann::json::parse(manifest_file);
    EXPECT_EQ(manifest["records_sha256"], side.sha256());
    EXPECT_EQ(manifest["record_count"], side.record_count());
    EXPECT_EQ(fs::file_size(store_->DatasetDir(side.id()) + "/records.pb"), side.size_bytes());
  }
  EXPECT_EQ(records, parent.record_count());
  EXPECT_EQ(addresses, parent.address_count());
  EXPECT_EQ(side_of.size(), 200u);
  std::sort(lines.begin(), lines.end());
  std::vector<uint64_t> all_lines;
  for (uint64_t line = 2; line <= 221; ++line) all_lines.push_back(line);
  EXPECT_EQ(lines, all_lines);
  // 200 addresses, 80/10/10 per label: Phish / Hack holds the 67 multiples of 3 and the 13
  // other multiples of 10 (their two rows tie and the more severe label wins), Scam the rest.
  EXPECT_EQ(split.train().address_count(), 64u + 96u);
  EXPECT_EQ(split.validation().address_count(), 8u + 12u);
  EXPECT_EQ(split.test().address_count(), 8u + 12u);
  EXPECT_THAT(Entries(dir_ + "/tmp"), IsEmpty());
  EXPECT_EQ(index_->size(), 4u);
}

TEST_F(DatasetManagerTest, SplitIsReproducibleAndARerunWritesNothing) {
  const std::string data = ScamDbFile(150);
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("scams"), Chunks(data, 4096)));
  const std::string parent_id = uploaded.dataset().id();
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse first,
                       manager_->Split(SplitRequest(parent_id, 0.7, 0.2, 0.1, 5)));
  const int puts = index_->put_calls();
  clock_.Advance(absl::Hours(1));
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse again,
                       manager_->Split(SplitRequest(parent_id, 0.7, 0.2, 0.1, 5)));
  EXPECT_TRUE(again.already_existed());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(again.train(), first.train()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(again.test(), first.test()));
  EXPECT_EQ(index_->put_calls(), puts);
  EXPECT_EQ(Entries(dir_ + "/datasets").size(), 4u);

  // Another seed is another split.
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse other,
                       manager_->Split(SplitRequest(parent_id, 0.7, 0.2, 0.1, 6)));
  EXPECT_FALSE(other.already_existed());
  EXPECT_NE(other.train().id(), first.train().id());
  EXPECT_NE(other.train().sha256(), first.train().sha256());

  // A fresh service given the same bytes makes the same datasets, bit for bit.
  MakeManager(DatasetManagerOptions());
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse reuploaded,
                       manager_->Upload(Metadata("scams"), Chunks(data, 100)));
  ASSERT_EQ(reuploaded.dataset().id(), parent_id);
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse fresh,
                       manager_->Split(SplitRequest(parent_id, 0.7, 0.2, 0.1, 5)));
  EXPECT_FALSE(fresh.already_existed());
  const std::pair<const v1::Dataset*, const v1::Dataset*> pairs[] = {
      {&first.train(), &fresh.train()},
      {&first.validation(), &fresh.validation()},
      {&first.test(), &fresh.test()}};
  for (const auto& [before, after] : pairs) {
    EXPECT_EQ(after->id(), before->id());
    EXPECT_EQ(after->sha256(), before->sha256());
    EXPECT_EQ(after->size_bytes(), before->size_bytes());
    EXPECT_EQ(after->record_count(), before->record_count());
  }
}

TEST_F(DatasetManagerTest, SplitWithAZeroFractionMakesTwoDatasets) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("scams"), Chunks(ScamDbFile(40), 4096)));
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse split,
                       manager_->Split(SplitRequest(uploaded.dataset().id(), 0.9, 0.1, 0, 1)));
  EXPECT_TRUE(split.has_train());
  EXPECT_TRUE(split.has_validation());
  EXPECT_FALSE(split.has_test());
  EXPECT_EQ(split.train().address_count() + split.validation().address_count(), 40u);
  EXPECT_EQ(index_->size(), 3u);
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse again,
                       manager_->Split(SplitRequest(uploaded.dataset().id(), 0.9, 0.1, 0, 1)));
  EXPECT_TRUE(again.already_existed());
  EXPECT_FALSE(again.has_test());
}

TEST_F(DatasetManagerTest, SplitRejectsBadRequests) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("scams"), Chunks(ScamDbFile(40), 4096)));
  const std::string id = uploaded.dataset().id();
  EXPECT_THAT(manager_->Split(SplitRequest("", 0.8, 0.1, 0.1, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dataset id is required")));
  EXPECT_THAT(manager_->Split(SplitRequest(id, 0.8, 0.3, -0.1, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test_fraction -0.1")));
  EXPECT_THAT(manager_->Split(SplitRequest(id, 0.8, 0.1, 0.05, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must sum to 1")));
  EXPECT_THAT(manager_->Split(SplitRequest(id, 0, 0, 0, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(manager_->Split(SplitRequest("ds-0000000000000000", 0.8, 0.1, 0.1, 1)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(index_->size(), 1u);
}

TEST_F(DatasetManagerTest, SplitThatLeavesASideEmptyFailsAndStoresNothing) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("sdn"), Chunks(kOfac)));
  EXPECT_THAT(manager_->Split(SplitRequest(uploaded.dataset().id(), 0.8, 0.1, 0.1, 1)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("has 3 distinct addresses"),
                             HasSubstr("the validation side (validation_fraction 0.1)"))));
  EXPECT_THAT(Entries(dir_ + "/tmp"), IsEmpty());
  EXPECT_EQ(Entries(dir_ + "/datasets").size(), 1u);
  EXPECT_EQ(index_->size(), 1u);
}

TEST_F(DatasetManagerTest, SplitDuringAnIndexOutageFails) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("scams"), Chunks(ScamDbFile(40), 4096)));
  index_->SetFailure(absl::UnavailableError("redis down"));
  EXPECT_THAT(manager_->Split(SplitRequest(uploaded.dataset().id(), 0.8, 0.1, 0.1, 1)),
              StatusIs(absl::StatusCode::kUnavailable));
  index_->SetFailure(absl::OkStatus());
  EXPECT_THAT(Entries(dir_ + "/tmp"), IsEmpty());
  EXPECT_EQ(index_->size(), 1u);
}

TEST_F(DatasetManagerTest, ExportWritesOneChatExamplePerAddress) {
  DatasetManagerOptions options;
  options.export_chunk_bytes = 4096;
  MakeManager(options);
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("scams"), Chunks(ScamDbFile(30), 4096)));
  std::string jsonl;
  int chunks = 0;
  ASSERT_THAT(ExportAll(uploaded.dataset().id(), &jsonl, &chunks), IsOk());
  EXPECT_GT(chunks, 1);
  ASSERT_FALSE(jsonl.empty());
  EXPECT_EQ(jsonl.back(), '\n');
  std::vector<std::string> lines = absl::StrSplit(jsonl, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 30u);
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    nlohmann::json example = nlohmann::json::parse(lines[i], nullptr, false);
    ASSERT_FALSE(example.is_discarded());
    const nlohmann::json& messages = example["messages"];
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[0]["role"], "system");
    EXPECT_EQ(messages[1]["role"], "user");
    EXPECT_EQ(messages[2]["role"], "assistant");
    for (const nlohmann::json& message : messages) {
      ASSERT_TRUE(message["content"].is_string());
      EXPECT_FALSE(message["content"].get<std::string>().empty());
    }
    // Addresses in the order they first appear, EIP-55.
    const std::string lower = absl::StrFormat("0x%040x", 0xabc000 + static_cast<int>(i) * 7919);
    EXPECT_EQ(messages[1]["content"], eth::Address::Parse(lower)->ToChecksumHex());
    nlohmann::json fields = nlohmann::json::parse(messages[2]["content"].get<std::string>());
    const bool conflicting = i % 10 == 0;
    const bool phishing = i % 3 == 0 || conflicting;
    EXPECT_EQ(fields["Label"], phishing ? "Phish / Hack" : "Scam");
    std::vector<std::string> tags = {absl::StrCat("Sub", i % 4)};
    if (conflicting) tags.push_back("Extra");
    EXPECT_EQ(fields["Tags"], tags);
    EXPECT_EQ(fields["Name"], "");
  }
}

TEST_F(DatasetManagerTest, ExportSendsWholeLinesPerChunk) {
  DatasetManagerOptions options;
  options.export_chunk_bytes = 1;
  MakeManager(options);
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("scams"), Chunks(ScamDbFile(12), 4096)));
  std::vector<std::string> chunks;
  ASSERT_THAT(manager_->Export(uploaded.dataset().id(),
                               [&](const v1::ExportDatasetResponse& chunk) {
                                 chunks.push_back(chunk.chunk());
                                 return absl::OkStatus();
                               }),
              IsOk());
  ASSERT_EQ(chunks.size(), 12u);
  for (const std::string& chunk : chunks) {
    EXPECT_EQ(chunk.find('\n'), chunk.size() - 1);
    EXPECT_THAT(chunk, HasSubstr("{\"role\":\"system\",\"content\":\"You are ethscan"));
  }
}

TEST_F(DatasetManagerTest, ExportNeedsTenAddresses) {
  // 9 distinct addresses, one of them twice.
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("scams"), Chunks(ScamDbFile(9), 4096)));
  ASSERT_EQ(uploaded.dataset().record_count(), 10u);
  int calls = 0;
  EXPECT_THAT(manager_->Export(uploaded.dataset().id(),
                               [&](const v1::ExportDatasetResponse&) {
                                 ++calls;
                                 return absl::OkStatus();
                               }),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("has 9 distinct addresses"), HasSubstr("at least 10"))));
  EXPECT_EQ(calls, 0);
}

TEST_F(DatasetManagerTest, ExportErrors) {
  std::string jsonl;
  EXPECT_THAT(ExportAll("ds-0000000000000000", &jsonl), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ExportAll("", &jsonl), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("scams"), Chunks(ScamDbFile(40), 4096)));
  int calls = 0;
  EXPECT_THAT(manager_->Export(uploaded.dataset().id(),
                               [&](const v1::ExportDatasetResponse&) {
                                 ++calls;
                                 return absl::CancelledError("gone");
                               }),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(calls, 1);
  std::ofstream(store_->DatasetDir(uploaded.dataset().id()) + "/records.pb", std::ios::app)
      << "junk";
  EXPECT_THAT(ExportAll(uploaded.dataset().id(), &jsonl), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(manager_->Split(SplitRequest(uploaded.dataset().id(), 0.8, 0.1, 0.1, 1)),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Entries(dir_ + "/tmp"), IsEmpty());
}

TEST_F(DatasetManagerTest, ExportReimportsToTheSameRecords) {
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse uploaded,
                       manager_->Upload(Metadata("scams"), Chunks(ScamDbFile(30), 4096)));
  std::string jsonl;
  ASSERT_THAT(ExportAll(uploaded.dataset().id(), &jsonl), IsOk());
  ASSERT_OK_AND_ASSIGN(
      v1::UploadDatasetResponse reimported,
      manager_->Upload(Metadata("scams-chat", "scams.jsonl"), Chunks(jsonl, 1000)));
  EXPECT_EQ(reimported.dataset().format(), v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
  EXPECT_THAT(reimported.issues(), IsEmpty());
  EXPECT_EQ(reimported.dataset().record_count(), 30u);

  RecordMerger merged;
  for (const common::v1::AddressRecord& record : ReadAll(uploaded.dataset().id())) {
    ASSERT_THAT(merged.Add(record), IsOk());
  }
  std::vector<common::v1::AddressRecord> records = ReadAll(reimported.dataset().id());
  ASSERT_EQ(records.size(), merged.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const common::v1::AddressRecord& before = merged.records()[i];
    const common::v1::AddressRecord& after = records[i];
    EXPECT_EQ(after.address(), before.address());
    EXPECT_EQ(after.name(), before.name());
    EXPECT_EQ(after.account_type(), before.account_type());
    EXPECT_EQ(after.contract_type(), before.contract_type());
    EXPECT_EQ(after.entity(), before.entity());
    EXPECT_EQ(after.label(), before.label());
    EXPECT_THAT(after.tags(), ::testing::ElementsAreArray(before.tags()));
    EXPECT_EQ(after.source(), "scams-chat");
    EXPECT_EQ(after.line(), i + 1);
  }
  // Exporting the re-imported dataset gives the same bytes.
  std::string again;
  ASSERT_THAT(ExportAll(reimported.dataset().id(), &again), IsOk());
  EXPECT_EQ(again, jsonl);
}

TEST_F(DatasetManagerTest, LegacyUploadWithAStrayDoubleColonNamesLineAndColumn) {
  const std::string good =
      R"({"prompt": "0x8888801af4d980682e47f1a9036e589479e835c5", "completion": "\"Name\": )"
      R"(\" Akropolis (AKRO)\", \"Account Type\": \"Smart Contract\", \"Contract Type\": )"
      R"(\"Token\", \"Entity\": \"DeFi\", \"Label\": \"Legit\", \"Tags\": \"DeFi\""})"
      "\n";
  std::string bad = good;
  bad.replace(bad.find("\\\"Name\\\": "), 10, "\\\"Name\\\":: ");
  v1::UploadMetadata metadata = Metadata("legacy", "legacy.jsonl");
  metadata.set_max_invalid_fraction(1e-9);
  EXPECT_THAT(manager_->Upload(metadata, Chunks(absl::StrCat(good, bad))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("legacy.jsonl: 1 of 2 lines are invalid"),
                             HasSubstr("line 2, field completion: malformed report fields"),
                             HasSubstr("at byte column 8"))));
  ExpectNothingStored();
  ASSERT_OK_AND_ASSIGN(v1::ValidateDatasetResponse dry, manager_->Validate(metadata, Chunks(bad)));
  EXPECT_FALSE(dry.valid());
  ASSERT_EQ(dry.issues_size(), 1);
  EXPECT_EQ(dry.issues(0).file(), "legacy.jsonl");
  EXPECT_EQ(dry.issues(0).line(), 1u);
  EXPECT_EQ(dry.issues(0).field(), "completion");
}

// --- Untrusted input in the log, record size limits, issue counts ----------------------------

// Every line `log` holds is one log line ("I 2026-…", "W …", "E …") of at most `max_bytes`.
void ExpectOnlyShortLogLines(const std::string& log, size_t max_bytes) {
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(line.size() > 2 && (line[0] == 'I' || line[0] == 'W' || line[0] == 'E') &&
                line[1] == ' ' && absl::ascii_isdigit(static_cast<unsigned char>(line[2])))
        << "forged log line: " << line.substr(0, 200);
    EXPECT_LE(line.size(), max_bytes) << line.substr(0, 300);
  }
}

TEST_F(DatasetManagerTest, HostileFileNamesAndHeaderCellsForgeNoLogLine) {
  const std::string filename = "evil\nE 2026-01-01T00:00:00.000Z dataset] forged";
  const std::string nul_header = std::string(100 << 10, '\0') + "\n0x1\n";
  const std::string newline_header =
      "\"address\nI 2026-01-01T00:00:00.000Z dataset] forged\",x\n0x1,a\n";
  ::testing::internal::CaptureStderr();
  for (const std::string* data : {&nul_header, &newline_header}) {
    for (const v1::DatasetFormat format :
         {v1::DATASET_FORMAT_UNSPECIFIED, v1::DATASET_FORMAT_MEW_DARKLIST}) {
      v1::UploadMetadata metadata = Metadata("evil", filename);
      metadata.set_format(format);
      absl::StatusOr<v1::UploadDatasetResponse> upload =
          manager_->Upload(metadata, Chunks(*data, 4096));
      EXPECT_THAT(upload.status(), StatusIs(absl::StatusCode::kInvalidArgument));
      absl::StatusOr<v1::ValidateDatasetResponse> dry =
          manager_->Validate(metadata, Chunks(*data, 4096));
      ASSERT_TRUE(dry.ok()) << dry.status();
      EXPECT_FALSE(dry->valid());
      EXPECT_EQ(dry->rejection().find('\n'), std::string::npos);
      // The message of an unknown format lists the known ones (about 1 KB); the file's part
      // of it is a few dozen characters.
      const size_t budget = format == v1::DATASET_FORMAT_UNSPECIFIED ? 1600 : 600;
      EXPECT_LE(dry->rejection().size(), budget) << dry->rejection().substr(0, 300);
      EXPECT_LE(upload.status().message().size(), budget);
    }
  }
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("evil\\n"));  // The file name, escaped, in the failure lines.
  ExpectOnlyShortLogLines(log, 1800);
  ExpectNothingStored();
}

TEST_F(DatasetManagerTest, RequestTagsOverTheLimitsStoreNothing) {
  std::string list = "address\n";
  for (int i = 0; i < 500; ++i) absl::StrAppend(&list, absl::StrFormat("0x%040x\n", 0xbeef + i));
  ASSERT_LT(list.size(), 22000u);  // The 21 KB list of the report.
  v1::UploadMetadata long_tag = Metadata("list");
  long_tag.set_label("Scam");
  long_tag.add_tags(std::string(100000, 't'));
  EXPECT_THAT(manager_->Upload(long_tag, Chunks(list, 4096)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadMetadata.tags[0] is 100000 characters long")));
  ExpectNothingStored();

  v1::UploadMetadata many_tags = Metadata("list");
  many_tags.set_label("Scam");
  for (int i = 0; i < 10000; ++i) many_tags.add_tags(absl::StrCat("t", i));
  EXPECT_THAT(manager_->Upload(many_tags, Chunks(list, 4096)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadMetadata.tags has 10000 tags, more than the limit of 32")));
  ExpectNothingStored();

  // Within the limits the stored records stay a small multiple of the list.
  v1::UploadMetadata tagged = Metadata("list");
  tagged.set_label("Scam");
  tagged.add_tags("giveaway");
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse response,
                       manager_->Upload(tagged, Chunks(list, 4096)));
  EXPECT_EQ(response.dataset().record_count(), 500u);
  const uint64_t stored =
      fs::file_size(fs::path(store_->DatasetDir(response.dataset().id())) / "records.pb");
  EXPECT_LT(stored, 3 * list.size());

  // The limits are the service's settings.
  DatasetManagerOptions options;
  options.max_tags = 20000;
  options.max_tag_chars = 100;
  MakeManager(options);
  EXPECT_THAT(manager_->Validate(many_tags, Chunks(list, 4096)).status(), IsOk());
  EXPECT_THAT(manager_->Validate(tagged, Chunks(list, 4096)).status(), IsOk());
  EXPECT_THAT(manager_->Validate(long_tag, Chunks(list, 4096)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit of 100")));
}

TEST_F(DatasetManagerTest, ValidationKeepsEveryErrorOfTheRealCryptoScamDbList) {
  const std::string data_dir = ethscan::testing::SharedDataDir();
  if (data_dir.empty()) GTEST_SKIP() << "shared data folder (../shared/data) is absent";
  std::ifstream in(data_dir + "/cryptoscamdb/cryptoscamdb_eth_addresses.csv", std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(data.empty());
  DatasetManagerOptions options;
  options.max_issues = 25;  // Fewer than the file's issues.
  MakeManager(options);
  ASSERT_OK_AND_ASSIGN(v1::ValidateDatasetResponse dry,
                       manager_->Validate(Metadata("scamdb", "cryptoscamdb_eth_addresses.csv"),
                                          Chunks(data, 1 << 16)));
  EXPECT_TRUE(dry.valid());
  EXPECT_EQ(dry.dataset().invalid_line_count(), 21u);
  int errors = 0;
  for (const v1::ValidationIssue& issue : dry.issues()) {
    if (issue.severity() != v1::ValidationIssue::SEVERITY_ERROR) continue;
    ++errors;
    EXPECT_EQ(issue.kind(), "invalid_address");
    EXPECT_EQ(issue.field(), "address");
  }
  EXPECT_EQ(errors, 21);
  EXPECT_EQ(dry.issues_size(), 25);
  ASSERT_GE(dry.issue_counts_size(), 2);
  EXPECT_EQ(dry.issue_counts(0).severity(), v1::ValidationIssue::SEVERITY_ERROR);
  EXPECT_EQ(dry.issue_counts(0).kind(), "invalid_address");
  EXPECT_EQ(dry.issue_counts(0).count(), 21u);
  uint64_t warnings = 0;
  for (const v1::IssueCount& count : dry.issue_counts()) {
    if (count.severity() == v1::ValidationIssue::SEVERITY_WARNING) warnings += count.count();
  }
  EXPECT_GT(warnings, 4u);  // So some warnings gave way to errors.
}

}  // namespace
}  // namespace ethscan::dataset

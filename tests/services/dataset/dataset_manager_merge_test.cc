// DatasetManager: MergeDatasets, DeleteDataset and references, the statistics of sources,
// features and the chat export, the CSV export and the token limit of the chat export, and
// the names of derived datasets. Hermetic: a FileRecordStore in a temporary directory and the
// in-memory index.
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/eth/address.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dataset/canonical_csv.h"
#include "services/dataset/chat_format.h"
#include "services/dataset/dataset_index.h"
#include "services/dataset/dataset_manager.h"
#include "services/dataset/dataset_merge.h"
#include "services/dataset/file_record_store.h"
#include "services/dataset/record_merge.h"
#include "services/dataset/token_estimate.h"
#include "tests/services/dataset/fake_dataset_index.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::dataset {
namespace {

namespace fs = std::filesystem;
using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

constexpr char kLazarus[] = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
constexpr char kTornado[] = "0x8589427373D6D84E98730D7795D8F6F8731FDA16";

constexpr char kOfac[] =
    "address,name,status,date_added\n"
    "0x098B716B8Aaf21512996dC57EB0615e2383E2f96,LAZARUS GROUP,listed,2022-04-14\n"
    "0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B,LAZARUS GROUP,listed,2022-04-22\n"
    "0x8589427373d6d84e98730d7795d8f6f8731fda16,TORNADO CASH,delisted,2022-08-08\n";

// The tornado address as a token, and two tokens nobody else lists.
constexpr char kUniswap[] =
    "address,name,symbol,decimals,chainId\n"
    "0x8589427373d6d84e98730d7795d8f6f8731fda16,Tornado Token,TORN,18,1\n"
    "0x00000000000000000000000000000000000000a1,Token One,ONE,18,1\n"
    "0x00000000000000000000000000000000000000a2,Token Two,TWO,6,1\n";

// A darklist with the first Lazarus address (lowercase) and nine more.
std::string MewFile() {
  std::string data = "address,comment,date\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,drainer,\n";
  for (int i = 0; i < 9; ++i) {
    absl::StrAppend(&data, absl::StrFormat("0x%040x", 0xbeef00 + i), ",fake site ", i, ",\n");
  }
  return data;
}

// A behavioural feature file (phish_features layout) of three addresses; the contract columns
// are empty ("not computed") in the second row.
std::string PhishFeaturesFile() {
  return "Address,FLAG,Avg min between sent tnx,Avg min between received tnx,Time Diff between "
         "first and last (Mins),Sent tnx,Received Tnx,Number of Created Contracts,Unique "
         "Received From Addresses,Unique Sent To Addresses,min value received,max value "
         "received ,avg val received,min val sent,max val sent,avg val sent,min value sent to "
         "contract,max val sent to contract,avg value sent to contract,total transactions "
         "(including tnx to create contract,total Ether sent,total ether received,total ether "
         "sent contracts,total ether balance\n"
         "0x87d884aaa6ff9e9b6014631b0abae80b53953fb8,1,5151.676667,15159.07778,71235.61667,5,3,"
         "0,1,1,0.01,0.02,0.013366667,0.0,0.0,0.0,0,0,0,8,0.0,0.0401,0.0,0.0401\n"
         "0xd42393df90d582bd8a5493171f0173e3a017d391,1,1179.016667,1124.888889,25126.45,7,15,0,"
         "13,6,0.0,0.75,0.176666667,0.145,1.35,0.419269824,,,,22,2.93488877,2.65,0.0,"
         "-0.28488877\n"
         "0x00000000000000000000000000000000000000c3,1,1.00002E+12,3.80E-05,1,1,1,0,1,1,0,0,0,0,"
         "0,0,0,0,0,2,0,0,0,0\n";
}

ChunkSource Chunks(std::string data, size_t size = 64) {
  auto offset = std::make_shared<size_t>(0);
  return [data = std::move(data), size, offset](std::string* chunk) -> absl::StatusOr<bool> {
    if (*offset >= data.size()) return false;
    *chunk = data.substr(*offset, size);
    *offset += size;
    return true;
  };
}

v1::UploadMetadata Metadata(const std::string& name, uint64_t chain_id = 0) {
  v1::UploadMetadata metadata;
  metadata.set_name(name);
  metadata.set_filename(absl::StrCat(name, ".csv"));
  metadata.set_chain_id(chain_id);
  return metadata;
}

v1::MergeDatasetsRequest MergeRequest(const std::vector<std::string>& ids,
                                      const std::string& name) {
  v1::MergeDatasetsRequest request;
  for (const std::string& id : ids) request.add_ids(id);
  request.set_name(name);
  return request;
}

std::string Lower(const std::string& s) { return absl::AsciiStrToLower(s); }

class DatasetManagerMergeTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeManager(DatasetManagerOptions()); }
  void TearDown() override { fs::remove_all(dir_); }

  void MakeManager(const DatasetManagerOptions& options) {
    if (!dir_.empty()) fs::remove_all(dir_);
    dir_ = ethscan::testing::MakeTempDir("dataset-merge");
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

  // Uploads `data` and advances the clock a second, so later uploads are newer.
  v1::Dataset Upload(const std::string& name, const std::string& data, uint64_t chain_id = 0) {
    absl::StatusOr<v1::UploadDatasetResponse> response =
        manager_->Upload(Metadata(name, chain_id), Chunks(data));
    EXPECT_TRUE(response.ok()) << response.status();
    clock_.Advance(absl::Seconds(1));
    return response.ok() ? response->dataset() : v1::Dataset();
  }

  // Uploads the OFAC, Uniswap and darklist files, oldest first.
  void UploadThree() {
    ofac_ = Upload("ofac", kOfac);
    uniswap_ = Upload("uniswap", kUniswap);
    mew_ = Upload("mew", MewFile());
  }

  std::vector<common::v1::AddressRecord> ReadAll(const std::string& id) {
    std::vector<common::v1::AddressRecord> records;
    EXPECT_THAT(manager_->ReadRecords(id, 0,
                                      [&](const v1::ReadRecordsResponse& batch) {
                                        records.insert(records.end(), batch.records().begin(),
                                                       batch.records().end());
                                        return absl::OkStatus();
                                      }),
                IsOk());
    return records;
  }

  absl::Status ExportAll(const v1::ExportDatasetRequest& request, std::string* out,
                         int* chunks = nullptr) {
    return manager_->Export(request, [&](const v1::ExportDatasetResponse& chunk) {
      out->append(chunk.chunk());
      if (chunks != nullptr) ++*chunks;
      return absl::OkStatus();
    });
  }

  std::string dir_;
  common::FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  FakeDatasetIndex* index_ = nullptr;
  FileRecordStore* store_ = nullptr;
  std::unique_ptr<DatasetManager> manager_;
  v1::Dataset ofac_, uniswap_, mew_;
};

const common::v1::AddressRecord* Find(const std::vector<common::v1::AddressRecord>& records,
                                      const std::string& address) {
  for (const common::v1::AddressRecord& r : records) {
    if (Lower(r.address()) == Lower(address)) return &r;
  }
  return nullptr;
}

const v1::MergeConflict* FindConflict(const v1::MergeDatasetsResponse& response,
                                      const std::string& address, const std::string& field) {
  for (const v1::MergeConflict& c : response.conflicts()) {
    if (Lower(c.address()) == Lower(address) && c.field() == field) return &c;
  }
  return nullptr;
}

TEST_F(DatasetManagerMergeTest, MergeBuildsOneRecordPerAddressWithEvidenceAndConflicts) {
  UploadThree();
  ASSERT_OK_AND_ASSIGN(
      v1::MergeDatasetsResponse merged,
      manager_->Merge(MergeRequest({ofac_.id(), uniswap_.id(), mew_.id()}, "labels-merged")));
  EXPECT_FALSE(merged.already_existed());
  const v1::Dataset& dataset = merged.dataset();
  EXPECT_THAT(dataset.id(), ::testing::MatchesRegex("ds-[0-9a-f]{16}"));
  EXPECT_EQ(dataset.name(), "labels-merged");
  EXPECT_EQ(dataset.format(), v1::DATASET_FORMAT_MERGED);
  EXPECT_EQ(dataset.chain_id(), 1u);
  EXPECT_EQ(dataset.record_count(), 14u);  // 3 + 3 + 10 records, two addresses shared.
  EXPECT_EQ(dataset.address_count(), 14u);
  EXPECT_EQ(dataset.line_count(), 14u);
  EXPECT_THAT(dataset.merge_origin().parent_ids(),
              ElementsAre(ofac_.id(), uniswap_.id(), mew_.id()));
  EXPECT_EQ(dataset.merge_origin().conflict_count(), 2u);
  EXPECT_EQ(merged.conflict_count(), 2u);
  EXPECT_EQ(dataset.sha256().size(), 64u);
  EXPECT_GT(dataset.size_bytes(), 0u);
  EXPECT_THAT(dataset.label_counts(),
              UnorderedElementsAre(Pair("Sanctioned", 2u), Pair("Legit", 3u), Pair("Scam", 9u)));

  // OFAC lists Lazarus; the darklist's Scam is overruled as less severe.
  const v1::MergeConflict* label = FindConflict(merged, kLazarus, "label");
  ASSERT_NE(label, nullptr);
  EXPECT_EQ(label->address(), kLazarus);
  EXPECT_EQ(label->chosen().value(), "Sanctioned");
  EXPECT_EQ(label->chosen().source(), "ofac");
  EXPECT_EQ(label->chosen().dataset_id(), ofac_.id());
  ASSERT_THAT(label->overruled(), SizeIs(1));
  EXPECT_EQ(label->overruled(0).value(), "Scam");
  EXPECT_EQ(label->overruled(0).dataset_id(), mew_.id());
  EXPECT_EQ(label->rule(), "most severe label");
  // OFAC and Uniswap rank alike; the Uniswap upload is newer, so its name wins.
  const v1::MergeConflict* name = FindConflict(merged, kTornado, "name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->chosen().value(), "Tornado Token (TORN)");
  EXPECT_EQ(name->overruled(0).value(), "TORNADO CASH");
  EXPECT_EQ(name->rule(), "recency (the newer dataset at equal authority)");
  // Conflicts come in address order.
  EXPECT_EQ(Lower(merged.conflicts(0).address()), Lower(kLazarus));

  std::vector<common::v1::AddressRecord> records = ReadAll(dataset.id());
  ASSERT_THAT(records, SizeIs(14));
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].line(), i + 1);
    if (i > 0) {
      EXPECT_LT(Lower(records[i - 1].address()), Lower(records[i].address()));
    }
    EXPECT_FALSE(records[i].evidence().empty());
  }
  const common::v1::AddressRecord* tornado = Find(records, kTornado);
  ASSERT_NE(tornado, nullptr);
  EXPECT_EQ(tornado->address(), eth::Address::Parse(Lower(kTornado))->ToChecksumHex());
  EXPECT_EQ(tornado->label(), "Legit");  // OFAC's delisting abstains.
  EXPECT_EQ(tornado->name(), "Tornado Token (TORN)");
  EXPECT_EQ(tornado->entity(), "TORNADO CASH");
  EXPECT_EQ(tornado->contract_type(), "Token");
  EXPECT_EQ(tornado->source(), "uniswap, ofac");
  ASSERT_THAT(tornado->evidence(), SizeIs(2));
  EXPECT_EQ(tornado->evidence(0).source(), "uniswap");
  EXPECT_FALSE(tornado->evidence(0).overruled());
  EXPECT_EQ(tornado->evidence(0).observed_time().seconds(), uniswap_.create_time().seconds());
  EXPECT_EQ(tornado->evidence(1).source(), "ofac");
  EXPECT_TRUE(tornado->evidence(1).overruled());
  EXPECT_THAT(tornado->evidence(1).claim(), HasSubstr("name \"TORNADO CASH\" [overruled]"));
  EXPECT_THAT(tornado->evidence(1).fields(), ElementsAre("entity", "tags"));

  ASSERT_OK_AND_ASSIGN(v1::Dataset listed, manager_->GetDataset(dataset.id()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(listed, dataset));
}

TEST_F(DatasetManagerMergeTest, RepeatedMergeReturnsTheExistingDatasetAndItsConflicts) {
  UploadThree();
  v1::MergeDatasetsRequest request = MergeRequest({ofac_.id(), uniswap_.id(), mew_.id()}, "m");
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse first, manager_->Merge(request));
  const int puts = index_->put_calls();
  clock_.Advance(absl::Hours(1));
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse again, manager_->Merge(request));
  EXPECT_TRUE(again.already_existed());
  EXPECT_EQ(index_->put_calls(), puts);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(again.dataset(), first.dataset()));
  EXPECT_EQ(again.conflict_count(), 2u);
  ASSERT_THAT(again.conflicts(), SizeIs(2));
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(again.conflicts(1), first.conflicts(1)));

  // Another order is another merge: the priorities differ.
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse reordered,
                       manager_->Merge(MergeRequest({mew_.id(), uniswap_.id(), ofac_.id()}, "m")));
  EXPECT_NE(reordered.dataset().id(), first.dataset().id());

  // A parent of a merge cannot be deleted while the merge exists.
  EXPECT_THAT(manager_->Delete(mew_.id()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(first.dataset().id())));
  // Once a parent is gone (a merge made before lineage was kept, which holds no reference on
  // its parents) the merge still answers, with the count it recorded.
  ASSERT_THAT(index_->RemoveReference(mew_.id(), LineageHolder(first.dataset().id())), IsOk());
  ASSERT_THAT(index_->RemoveReference(mew_.id(), LineageHolder(reordered.dataset().id())), IsOk());
  ASSERT_THAT(manager_->Delete(mew_.id()), IsOk());
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse after, manager_->Merge(request));
  EXPECT_TRUE(after.already_existed());
  EXPECT_EQ(after.conflict_count(), 2u);
  EXPECT_THAT(after.conflicts(), IsEmpty());
  EXPECT_EQ(after.dataset().id(), first.dataset().id());
}

TEST_F(DatasetManagerMergeTest, MergeListsAtMostTheConfiguredConflicts) {
  DatasetManagerOptions options;
  options.max_merge_conflicts = 1;
  MakeManager(options);
  UploadThree();
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse merged,
                       manager_->Merge(MergeRequest({ofac_.id(), uniswap_.id(), mew_.id()}, "m")));
  EXPECT_EQ(merged.conflict_count(), 2u);
  EXPECT_THAT(merged.conflicts(), SizeIs(1));
}

TEST_F(DatasetManagerMergeTest, MergeRejectsBadRequests) {
  UploadThree();
  EXPECT_THAT(manager_->Merge(MergeRequest({ofac_.id()}, "m")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least two")));
  EXPECT_THAT(manager_->Merge(MergeRequest({ofac_.id(), ofac_.id()}, "m")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(ofac_.id()), HasSubstr("given twice"))));
  EXPECT_THAT(manager_->Merge(MergeRequest({ofac_.id(), ""}, "m")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ids[1] is empty")));
  EXPECT_THAT(manager_->Merge(MergeRequest({ofac_.id(), mew_.id()}, "bad name")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid dataset name")));
  EXPECT_THAT(manager_->Merge(MergeRequest({ofac_.id(), mew_.id()}, "")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(manager_->Merge(MergeRequest({ofac_.id(), "ds-0000000000000000"}, "m")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ds-0000000000000000")));
  const v1::Dataset polygon = Upload("polygon", MewFile(), /*chain_id=*/137);
  EXPECT_THAT(manager_->Merge(MergeRequest({ofac_.id(), polygon.id()}, "m")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("chain 137")));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ + "/tmp"), fs::directory_iterator()), 0);
}

TEST_F(DatasetManagerMergeTest, SplitOfAMergedSetPutsEveryAddressOnOneSideReproducibly) {
  UploadThree();
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse merged,
                       manager_->Merge(MergeRequest({ofac_.id(), uniswap_.id(), mew_.id()}, "m")));
  v1::SplitDatasetRequest split;
  split.set_id(merged.dataset().id());
  split.set_train_fraction(0.5);
  split.set_validation_fraction(0.25);
  split.set_test_fraction(0.25);
  split.set_seed(7);
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse sides, manager_->Split(split));
  EXPECT_EQ(sides.train().name(), "m-train");
  EXPECT_EQ(sides.train().format(), v1::DATASET_FORMAT_MERGED);
  std::set<std::string> seen;
  uint64_t total = 0;
  for (const v1::Dataset* side : {&sides.train(), &sides.validation(), &sides.test()}) {
    std::set<std::string> addresses;
    for (const common::v1::AddressRecord& r : ReadAll(side->id())) {
      addresses.insert(Lower(r.address()));
      EXPECT_FALSE(r.evidence().empty());
    }
    for (const std::string& a : addresses) EXPECT_TRUE(seen.insert(a).second) << a;
    total += addresses.size();
  }
  EXPECT_EQ(total, 14u);
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse again, manager_->Split(split));
  EXPECT_TRUE(again.already_existed());
  EXPECT_EQ(again.train().id(), sides.train().id());
  EXPECT_EQ(again.validation().id(), sides.validation().id());
  EXPECT_EQ(again.test().id(), sides.test().id());
}

TEST_F(DatasetManagerMergeTest, DerivedNamesStayWithinTheNameLimit) {
  EXPECT_EQ(DerivedDatasetName("scams", "-train"), "scams-train");
  const std::string longest(kMaxDatasetNameLength, 'n');
  EXPECT_EQ(DerivedDatasetName(longest, "-validation"),
            absl::StrCat(std::string(kMaxDatasetNameLength - 11, 'n'), "-validation"));
  EXPECT_EQ(DerivedDatasetName("short", std::string(200, 's')).size(), 200u);

  const v1::Dataset parent = Upload(longest, MewFile());
  ASSERT_EQ(parent.name(), longest);
  v1::SplitDatasetRequest split;
  split.set_id(parent.id());
  split.set_train_fraction(0.6);
  split.set_validation_fraction(0.2);
  split.set_test_fraction(0.2);
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse sides, manager_->Split(split));
  for (const v1::Dataset* side : {&sides.train(), &sides.validation(), &sides.test()}) {
    EXPECT_EQ(side->name().size(), kMaxDatasetNameLength) << side->name();
    EXPECT_THAT(ValidateDatasetName(side->name()), IsOk());
  }
  EXPECT_THAT(sides.validation().name(), ::testing::EndsWith("n-validation"));
  // A derived name is a valid name again: its sides can be merged under it.
  ASSERT_OK_AND_ASSIGN(
      v1::MergeDatasetsResponse merged,
      manager_->Merge(MergeRequest({sides.train().id(), sides.test().id()}, sides.train().name())));
  EXPECT_EQ(merged.dataset().name(), sides.train().name());
}

TEST_F(DatasetManagerMergeTest, DeleteRemovesMetadataAndRecordsUnlessReferenced) {
  UploadThree();
  const std::string id = ofac_.id();
  EXPECT_THAT(manager_->Delete(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(manager_->Delete("ds-0000000000000000"), StatusIs(absl::StatusCode::kNotFound));

  ASSERT_OK_AND_ASSIGN(v1::Dataset held, manager_->AddReference(id, "job/ftjob-1"));
  EXPECT_THAT(held.referenced_by(), ElementsAre("job/ftjob-1"));
  ASSERT_OK_AND_ASSIGN(held, manager_->AddReference(id, "model/ft:ethscan-base:x:ftjob-1"));
  ASSERT_OK_AND_ASSIGN(held, manager_->AddReference(id, "job/ftjob-1"));  // Idempotent.
  EXPECT_THAT(held.referenced_by(), ElementsAre("job/ftjob-1", "model/ft:ethscan-base:x:ftjob-1"));
  ASSERT_OK_AND_ASSIGN(v1::Dataset got, manager_->GetDataset(id));
  EXPECT_THAT(got.referenced_by(), SizeIs(2));
  v1::ListDatasetsRequest list;
  list.set_name("ofac");
  ASSERT_OK_AND_ASSIGN(v1::ListDatasetsResponse listed, manager_->ListDatasets(list));
  ASSERT_THAT(listed.datasets(), SizeIs(1));
  EXPECT_THAT(listed.datasets(0).referenced_by(), SizeIs(2));

  EXPECT_THAT(manager_->Delete(id), StatusIs(absl::StatusCode::kFailedPrecondition,
                                             HasSubstr("referenced by \"job/ftjob-1\", "
                                                       "\"model/ft:ethscan-base:x:ftjob-1\"")));
  EXPECT_TRUE(fs::exists(store_->DatasetDir(id)));
  ASSERT_OK_AND_ASSIGN(held, manager_->RemoveReference(id, "job/ftjob-1"));
  ASSERT_OK_AND_ASSIGN(held, manager_->RemoveReference(id, "job/ftjob-1"));  // Idempotent.
  ASSERT_OK_AND_ASSIGN(held, manager_->RemoveReference(id, "model/ft:ethscan-base:x:ftjob-1"));
  EXPECT_THAT(held.referenced_by(), IsEmpty());

  ASSERT_THAT(manager_->Delete(id), IsOk());
  EXPECT_FALSE(fs::exists(store_->DatasetDir(id)));
  EXPECT_THAT(manager_->GetDataset(id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_->Delete(id), StatusIs(absl::StatusCode::kNotFound));
  // A reference never outlives its dataset.
  EXPECT_THAT(manager_->AddReference(id, "job/ftjob-2"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_->RemoveReference(id, "job/ftjob-2"), StatusIs(absl::StatusCode::kNotFound));
  // The same bytes can be uploaded again afterwards.
  EXPECT_EQ(Upload("ofac", kOfac).id(), id);
  EXPECT_EQ(ReadAll(id).size(), 3u);
}

TEST_F(DatasetManagerMergeTest, ParentsOfAMergeAreKeptUntilTheMergeIsDeleted) {
  UploadThree();
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse merged,
                       manager_->Merge(MergeRequest({ofac_.id(), mew_.id()}, "sanctions")));
  const std::string child = merged.dataset().id();
  for (const v1::Dataset* parent : {&ofac_, &mew_}) {
    ASSERT_OK_AND_ASSIGN(v1::Dataset got, manager_->GetDataset(parent->id()));
    EXPECT_THAT(got.referenced_by(), ElementsAre(LineageHolder(child)));
    EXPECT_THAT(manager_->Delete(parent->id()),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr(absl::StrCat("is the parent of dataset \"", child, "\"")),
                               HasSubstr("delete those datasets first"))));
    EXPECT_TRUE(fs::exists(store_->DatasetDir(parent->id())));
  }
  // A repeated merge adds nothing and changes nothing.
  ASSERT_OK_AND_ASSIGN(merged, manager_->Merge(MergeRequest({ofac_.id(), mew_.id()}, "sanctions")));
  EXPECT_TRUE(merged.already_existed());
  // A job's reference and the lineage are named apart.
  ASSERT_THAT(manager_->AddReference(ofac_.id(), "job/ftjob-9"), IsOk());
  EXPECT_THAT(manager_->Delete(ofac_.id()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("is the parent of dataset \"", child,
                                              "\" (split or merged from it) and is still "
                                              "referenced by \"job/ftjob-9\"; delete those "
                                              "datasets first; delete or finish"))));
  ASSERT_THAT(manager_->RemoveReference(ofac_.id(), "job/ftjob-9"), IsOk());

  // Deleting the child first lets the parents go.
  ASSERT_THAT(manager_->Delete(child), IsOk());
  ASSERT_OK_AND_ASSIGN(v1::Dataset ofac, manager_->GetDataset(ofac_.id()));
  EXPECT_THAT(ofac.referenced_by(), IsEmpty());
  ASSERT_THAT(manager_->Delete(ofac_.id()), IsOk());
  ASSERT_THAT(manager_->Delete(mew_.id()), IsOk());
  EXPECT_FALSE(fs::exists(store_->DatasetDir(mew_.id())));
}

TEST_F(DatasetManagerMergeTest, ParentsOfASplitAreKeptUntilEverySideIsDeleted) {
  UploadThree();
  v1::SplitDatasetRequest split;
  split.set_id(mew_.id());
  split.set_train_fraction(0.5);
  split.set_test_fraction(0.5);
  ASSERT_OK_AND_ASSIGN(v1::SplitDatasetResponse sides, manager_->Split(split));
  const std::string train = sides.train().id();
  const std::string test = sides.test().id();
  ASSERT_OK_AND_ASSIGN(v1::Dataset parent, manager_->GetDataset(mew_.id()));
  EXPECT_THAT(parent.referenced_by(),
              UnorderedElementsAre(LineageHolder(train), LineageHolder(test)));
  EXPECT_THAT(manager_->Delete(mew_.id()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                    AllOf(HasSubstr("is the parent of datasets"),
                                                          HasSubstr(train), HasSubstr(test))));
  // A side of a split may itself be merged; the merge then holds that side.
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse merged,
                       manager_->Merge(MergeRequest({train, ofac_.id()}, "train-and-ofac")));
  EXPECT_THAT(manager_->Delete(train),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(merged.dataset().id())));
  ASSERT_THAT(manager_->Delete(merged.dataset().id()), IsOk());
  ASSERT_THAT(manager_->Delete(train), IsOk());
  EXPECT_THAT(manager_->Delete(mew_.id()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(test)));
  ASSERT_THAT(manager_->Delete(test), IsOk());
  ASSERT_THAT(manager_->Delete(mew_.id()), IsOk());
  EXPECT_EQ(index_->size(), 2u);  // ofac and uniswap.
}

TEST_F(DatasetManagerMergeTest, LineageReferencesCannotBeChangedByCallers) {
  UploadThree();
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse merged,
                       manager_->Merge(MergeRequest({ofac_.id(), mew_.id()}, "sanctions")));
  const std::string holder = LineageHolder(merged.dataset().id());
  EXPECT_THAT(manager_->RemoveReference(ofac_.id(), holder),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is reserved")));
  EXPECT_THAT(manager_->AddReference(uniswap_.id(), "dataset/ds-0000000000000000"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is reserved")));
  ASSERT_OK_AND_ASSIGN(v1::Dataset ofac, manager_->GetDataset(ofac_.id()));
  EXPECT_THAT(ofac.referenced_by(), ElementsAre(holder));
  ASSERT_OK_AND_ASSIGN(v1::Dataset uniswap, manager_->GetDataset(uniswap_.id()));
  EXPECT_THAT(uniswap.referenced_by(), IsEmpty());
  EXPECT_THAT(manager_->Delete(ofac_.id()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(DatasetManagerMergeTest, AChildWhoseParentIsGoneAtCommitIsNotStored) {
  UploadThree();
  // The index refuses a child whose parent is not listed, atomically with listing it.
  v1::Dataset orphan;
  orphan.set_id("ds-orphan");
  orphan.set_name("orphan");
  orphan.mutable_merge_origin()->add_parent_ids(ofac_.id());
  orphan.mutable_merge_origin()->add_parent_ids("ds-0000000000000000");
  EXPECT_THAT(index_->Put(orphan),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ds-0000000000000000")));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Dataset> listed, index_->Get("ds-orphan"));
  EXPECT_FALSE(listed.has_value());
  ASSERT_OK_AND_ASSIGN(v1::Dataset ofac, manager_->GetDataset(ofac_.id()));
  EXPECT_THAT(ofac.referenced_by(), IsEmpty());

  // Through the manager: another replica deletes a parent while the merge runs (after the
  // merge read it, before the merge is listed), so the merge stores nothing.
  v1::MergeDatasetsRequest request = MergeRequest({ofac_.id(), uniswap_.id()}, "late");
  const std::string merged_id = MergedDatasetId({ofac_.id(), uniswap_.id()}, "late");
  index_->OnPut([this] {
    index_->OnPut(nullptr);
    absl::StatusOr<DeleteOutcome> deleted = index_->Delete(uniswap_);
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_EQ(deleted->result, DeleteOutcome::Result::kDeleted);
  });
  EXPECT_THAT(manager_->Merge(request),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(uniswap_.id())));
  EXPECT_THAT(manager_->GetDataset(merged_id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(fs::exists(store_->DatasetDir(merged_id)));
}

TEST_F(DatasetManagerMergeTest, ReferencesAreChecked) {
  UploadThree();
  EXPECT_THAT(manager_->AddReference(ofac_.id(), ""),
              StatusIs(absl::StatusCode::kInvalidArgument, "holder is required"));
  EXPECT_THAT(manager_->AddReference("", "job/x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(manager_->AddReference(ofac_.id(), std::string(257, 'h')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 256")));
  EXPECT_THAT(manager_->AddReference(ofac_.id(), "job/a\nb"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("control character")));
  EXPECT_THAT(manager_->AddReference("ds-0000000000000000", "job/x"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ds-0000000000000000")));
  index_->SetFailure(absl::UnavailableError("redis down"));
  EXPECT_THAT(manager_->AddReference(ofac_.id(), "job/x"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(manager_->Delete(ofac_.id()), StatusIs(absl::StatusCode::kUnavailable));
  index_->SetFailure(absl::OkStatus());
  EXPECT_TRUE(fs::exists(store_->DatasetDir(ofac_.id())));
}

TEST_F(DatasetManagerMergeTest, AReferenceTakenWhileADeleteRunsKeepsTheDataset) {
  UploadThree();
  // The job's reference lands after Delete looked the dataset up but before the index's
  // atomic check-and-delete: the delete must see it and refuse.
  index_->OnDelete(
      [this] { EXPECT_THAT(manager_->AddReference(ofac_.id(), "job/ftjob-race"), IsOk()); });
  EXPECT_THAT(manager_->Delete(ofac_.id()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("job/ftjob-race")));
  index_->OnDelete(nullptr);
  EXPECT_EQ(ReadAll(ofac_.id()).size(), 3u);

  // The other order: the deletion completes first and the reference fails.
  ASSERT_THAT(manager_->RemoveReference(ofac_.id(), "job/ftjob-race"), IsOk());
  ASSERT_THAT(manager_->Delete(ofac_.id()), IsOk());
  EXPECT_THAT(manager_->AddReference(ofac_.id(), "job/ftjob-late"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DatasetManagerMergeTest, StatsCountSourcesOverlapAndChatTokens) {
  UploadThree();
  ASSERT_OK_AND_ASSIGN(v1::MergeDatasetsResponse merged,
                       manager_->Merge(MergeRequest({ofac_.id(), uniswap_.id(), mew_.id()}, "m")));
  v1::GetDatasetStatsRequest request;
  request.set_id(merged.dataset().id());
  request.set_price_per_million_tokens(25);
  ASSERT_OK_AND_ASSIGN(v1::GetDatasetStatsResponse stats, manager_->GetDatasetStats(request));
  EXPECT_EQ(stats.record_count(), 14u);
  EXPECT_EQ(stats.address_count(), 14u);
  EXPECT_EQ(stats.duplicate_address_count(), 0u);
  // A merged record counts once for every source of its evidence.
  EXPECT_THAT(stats.source_counts(),
              UnorderedElementsAre(Pair("ofac", 3u), Pair("uniswap", 3u), Pair("mew", 10u)));
  EXPECT_EQ(stats.multi_source_address_count(), 2u);
  EXPECT_THAT(stats.feature_coverage(), IsEmpty());

  const v1::ChatExportStats& chat = stats.chat_export();
  EXPECT_EQ(chat.example_count(), 14u);
  uint64_t total = 0;
  uint64_t smallest = UINT64_MAX;
  for (const common::v1::AddressRecord& r : ReadAll(merged.dataset().id())) {
    const uint64_t tokens = ChatExampleTokens(BuildChatExample(r));
    total += tokens;
    smallest = std::min(smallest, tokens);
  }
  EXPECT_EQ(chat.total_tokens(), total);
  EXPECT_EQ(chat.min_example_tokens(), smallest);
  EXPECT_GT(chat.max_example_tokens(), chat.min_example_tokens());
  EXPECT_THAT(chat.mean_example_tokens(), DoubleEq(static_cast<double>(total) / 14));
  EXPECT_EQ(chat.example_token_limit(), 65536u);
  EXPECT_EQ(chat.examples_over_limit(), 0u);
  EXPECT_EQ(chat.price_per_million_tokens(), 25);
  EXPECT_THAT(chat.estimated_cost_per_epoch(), DoubleEq(static_cast<double>(total) / 1e6 * 25));
  EXPECT_EQ(chat.token_counting(), kTokenCountingMethod);

  // The darklist alone: every record its own source, and a tiny limit.
  request.set_id(mew_.id());
  request.set_price_per_million_tokens(0);
  request.set_max_example_tokens(200);
  ASSERT_OK_AND_ASSIGN(stats, manager_->GetDatasetStats(request));
  EXPECT_THAT(stats.source_counts(), UnorderedElementsAre(Pair("mew", 10u)));
  EXPECT_EQ(stats.multi_source_address_count(), 0u);
  EXPECT_EQ(stats.chat_export().example_token_limit(), 200u);
  EXPECT_EQ(stats.chat_export().examples_over_limit(), 10u);
  EXPECT_EQ(stats.chat_export().estimated_cost_per_epoch(), 0);

  request.set_price_per_million_tokens(-1);
  EXPECT_THAT(manager_->GetDatasetStats(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("price_per_million_tokens")));
  request.set_price_per_million_tokens(std::nan(""));
  EXPECT_THAT(manager_->GetDatasetStats(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_price_per_million_tokens(1);
  request.set_id("ds-0000000000000000");
  EXPECT_THAT(manager_->GetDatasetStats(request), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DatasetManagerMergeTest, StatsReportFeatureCoverage) {
  const v1::Dataset features = Upload("phish-features", PhishFeaturesFile());
  ASSERT_EQ(features.record_count(), 3u);
  v1::GetDatasetStatsRequest request;
  request.set_id(features.id());
  ASSERT_OK_AND_ASSIGN(v1::GetDatasetStatsResponse stats, manager_->GetDatasetStats(request));
  ASSERT_THAT(stats.feature_coverage(), SizeIs(22));
  EXPECT_EQ(stats.feature_coverage(0).name(), "Avg min between sent tnx");
  EXPECT_EQ(stats.feature_coverage(0).record_count(), 3u);
  EXPECT_THAT(stats.feature_coverage(0).share(), DoubleEq(1.0));
  // The contract columns are empty in one row: not computed, so not covered.
  EXPECT_EQ(stats.feature_coverage(14).name(), "min value sent to contract");
  EXPECT_EQ(stats.feature_coverage(14).record_count(), 2u);
  EXPECT_THAT(stats.feature_coverage(14).share(), DoubleEq(2.0 / 3));
  EXPECT_EQ(stats.feature_coverage(9).name(), "max value received");  // Trimmed.
}

TEST_F(DatasetManagerMergeTest, CsvExportWritesCanonicalRowsThatUploadToTheSameRecords) {
  const v1::Dataset features = Upload("phish-features", PhishFeaturesFile());
  v1::ExportDatasetRequest request;
  request.set_id(features.id());
  request.set_format(v1::EXPORT_FORMAT_CSV);
  std::string csv;
  ASSERT_THAT(ExportAll(request, &csv), IsOk());
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, SizeIs(4));  // Header and three records; fewer than 10 is fine for CSV.
  EXPECT_THAT(lines[0],
              ::testing::StartsWith("address,chain_id,name,account_type,contract_type,entity,"
                                    "label,tags,original_label,source,note,line,feature:Avg min "
                                    "between sent tnx,"));
  EXPECT_THAT(lines[3], HasSubstr(",1000020000000,3.8e-05,"));

  v1::UploadMetadata metadata = Metadata("reuploaded");
  metadata.set_filename("export.csv");
  ASSERT_OK_AND_ASSIGN(v1::UploadDatasetResponse reuploaded,
                       manager_->Upload(metadata, Chunks(csv, 100)));
  EXPECT_EQ(reuploaded.dataset().format(), v1::DATASET_FORMAT_CANONICAL_CSV);
  std::vector<common::v1::AddressRecord> before = ReadAll(features.id());
  std::vector<common::v1::AddressRecord> after = ReadAll(reuploaded.dataset().id());
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    common::v1::AddressRecord expected = before[i];
    expected.set_line(i + 2);  // The CSV line.
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(after[i], expected))
        << after[i].DebugString() << "\nvs\n"
        << expected.DebugString();
  }
}

TEST_F(DatasetManagerMergeTest, ChatExportRefusesExamplesOverTheTokenLimit) {
  UploadThree();
  v1::ExportDatasetRequest request;
  request.set_id(mew_.id());
  request.set_max_example_tokens(200);
  std::string jsonl;
  int chunks = 0;
  const uint64_t tokens = ChatExampleTokens(BuildChatExample(ReadAll(mew_.id())[0]));
  ASSERT_GT(tokens, 200u);
  EXPECT_THAT(
      ExportAll(request, &jsonl, &chunks),
      StatusIs(
          absl::StatusCode::kFailedPrecondition,
          AllOf(HasSubstr(absl::StrCat("the example of ", kLazarus, " has ", tokens, " tokens")),
                HasSubstr("over the per-example limit of 200"), HasSubstr("9 more examples"))));
  EXPECT_EQ(chunks, 0);
  request.set_max_example_tokens(0);  // The default, 65,536.
  ASSERT_THAT(ExportAll(request, &jsonl, &chunks), IsOk());
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 10);
  request.set_format(static_cast<v1::ExportFormat>(99));
  EXPECT_THAT(ExportAll(request, &jsonl), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace ethscan::dataset

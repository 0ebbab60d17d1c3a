#include "services/dataset/dataset_merge.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

constexpr char kUni[] = "0x1f9840a85d5af5bf1d1762f925bdaddc4201f984";
constexpr char kUniChecksum[] = "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984";
constexpr char kA[] = "0x00000000000000000000000000000000000000aa";
constexpr char kB[] = "0x00000000000000000000000000000000000000bb";

v1::Dataset Parent(const std::string& id, const std::string& name, v1::DatasetFormat format,
                   int64_t seconds) {
  v1::Dataset d;
  d.set_id(id);
  d.set_name(name);
  d.set_format(format);
  d.set_chain_id(1);
  d.mutable_create_time()->set_seconds(seconds);
  return d;
}

common::v1::AddressRecord Record(const std::string& address, const std::string& label,
                                 const std::string& name, const std::string& source) {
  common::v1::AddressRecord r;
  r.set_address(address);
  r.set_chain_id(1);
  r.set_label(label);
  r.set_name(name);
  r.set_source(source);
  return r;
}

struct Merged {
  std::vector<common::v1::AddressRecord> records;
  std::vector<v1::MergeConflict> conflicts;
};

Merged Resolve(const DatasetMerger& merger) {
  Merged out;
  absl::Status status =
      merger.Resolve([&out](common::v1::AddressRecord record,
                            std::vector<v1::MergeConflict> conflicts) -> absl::Status {
        out.records.push_back(std::move(record));
        for (v1::MergeConflict& c : conflicts) out.conflicts.push_back(std::move(c));
        return absl::OkStatus();
      });
  EXPECT_THAT(status, IsOk());
  return out;
}

TEST(MergedDatasetIdTest, FollowsTheParentsInOrderAndTheName) {
  const std::string id = MergedDatasetId({"ds-a", "ds-b"}, "merged");
  EXPECT_THAT(id, MatchesRegex("ds-[0-9a-f]{16}"));
  EXPECT_EQ(id, MergedDatasetId({"ds-a", "ds-b"}, "merged"));
  EXPECT_NE(id, MergedDatasetId({"ds-b", "ds-a"}, "merged"));
  EXPECT_NE(id, MergedDatasetId({"ds-a", "ds-b"}, "other"));
  EXPECT_NE(id, MergedDatasetId({"ds-a", "ds-b", "ds-c"}, "merged"));
}

TEST(DatasetMergerTest, SettlesEachAddressAndReportsEveryConflict) {
  // The forta dataset is given first (higher request priority), but uniswap ranks above it.
  DatasetMerger merger({Parent("ds-forta", "forta", v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS, 200),
                        Parent("ds-uni", "uniswap", v1::DATASET_FORMAT_UNISWAP_TOKENS, 100)});
  common::v1::AddressRecord phish = Record(kUni, "Phish / Hack", "Fake_Phishing1", "forta");
  phish.set_account_type("EOA");
  phish.set_original_label("phish-hack");
  phish.add_tags("Phish");
  common::v1::AddressRecord token = Record(kUniChecksum, "Legit", "Uniswap (UNI)", "uniswap");
  token.set_account_type("Smart Contract");
  token.set_contract_type("Token");
  token.add_tags("DeFi");
  token.add_tags("phish");
  ASSERT_THAT(merger.Add(0, phish), IsOk());
  ASSERT_THAT(merger.Add(1, token), IsOk());
  ASSERT_THAT(merger.Add(0, Record(kA, "Phish / Hack", "Fake_Phishing2", "forta")), IsOk());
  EXPECT_EQ(merger.address_count(), 2u);
  EXPECT_EQ(merger.record_count(), 3u);

  Merged merged = Resolve(merger);
  ASSERT_THAT(merged.records, SizeIs(2));
  // Address order: 0x00…aa before 0x1f98….
  EXPECT_EQ(absl::AsciiStrToLower(merged.records[0].address()), kA);
  const common::v1::AddressRecord& uni = merged.records[1];
  EXPECT_EQ(uni.address(), kUniChecksum);
  EXPECT_EQ(uni.chain_id(), 1u);
  EXPECT_EQ(uni.label(), "Phish / Hack");
  EXPECT_EQ(uni.original_label(), "phish-hack");
  EXPECT_EQ(uni.name(), "Uniswap (UNI)");
  EXPECT_EQ(uni.account_type(), "Smart Contract");
  EXPECT_EQ(uni.contract_type(), "Token");
  EXPECT_THAT(uni.tags(), ElementsAre("DeFi", "phish"));
  EXPECT_EQ(uni.source(), "uniswap, forta");

  // Evidence in authority order, one per source record.
  ASSERT_THAT(uni.evidence(), SizeIs(2));
  const common::v1::Evidence& from_uniswap = uni.evidence(0);
  EXPECT_EQ(from_uniswap.source(), "uniswap");
  EXPECT_TRUE(from_uniswap.overruled());  // Its label lost.
  EXPECT_EQ(from_uniswap.observed_time().seconds(), 100);
  EXPECT_THAT(from_uniswap.fields(), ElementsAre("name", "account_type", "contract_type", "tags"));
  EXPECT_EQ(from_uniswap.claim(),
            "label \"Legit\" [overruled]; name \"Uniswap (UNI)\"; account_type \"Smart "
            "Contract\"; contract_type \"Token\"; tags \"DeFi\", \"phish\"");
  const common::v1::Evidence& from_forta = uni.evidence(1);
  EXPECT_EQ(from_forta.source(), "forta");
  EXPECT_TRUE(from_forta.overruled());  // Its name and account type lost.
  EXPECT_EQ(from_forta.observed_time().seconds(), 200);
  EXPECT_THAT(from_forta.fields(), ElementsAre("label", "tags"));
  EXPECT_THAT(from_forta.claim(), HasSubstr("label \"Phish / Hack\" (as \"phish-hack\")"));
  EXPECT_THAT(from_forta.claim(), HasSubstr("name \"Fake_Phishing1\" [overruled]"));

  ASSERT_THAT(merged.conflicts, SizeIs(3));
  const v1::MergeConflict& label = merged.conflicts[0];
  EXPECT_EQ(label.address(), kUniChecksum);
  EXPECT_EQ(label.field(), "label");
  EXPECT_EQ(label.chosen().value(), "Phish / Hack");
  EXPECT_EQ(label.chosen().source(), "forta");
  EXPECT_EQ(label.chosen().dataset_id(), "ds-forta");
  ASSERT_THAT(label.overruled(), SizeIs(1));
  EXPECT_EQ(label.overruled(0).value(), "Legit");
  EXPECT_EQ(label.overruled(0).dataset_id(), "ds-uni");
  EXPECT_EQ(label.rule(), "most severe label");
  EXPECT_EQ(merged.conflicts[1].field(), "name");
  EXPECT_EQ(merged.conflicts[1].chosen().value(), "Uniswap (UNI)");
  EXPECT_EQ(merged.conflicts[1].overruled(0).value(), "Fake_Phishing1");
  EXPECT_EQ(merged.conflicts[1].rule(),
            "source authority (UNISWAP_TOKENS rank 1 over FORTA_PHISHING_SCAMS rank 4)");
  EXPECT_EQ(merged.conflicts[2].field(), "account_type");

  // The address only forta knows merges without conflict, its evidence not overruled.
  const common::v1::AddressRecord& only = merged.records[0];
  EXPECT_EQ(only.name(), "Fake_Phishing2");
  ASSERT_THAT(only.evidence(), SizeIs(1));
  EXPECT_FALSE(only.evidence(0).overruled());
  EXPECT_THAT(only.evidence(0).fields(), ElementsAre("label", "name"));
}

TEST(DatasetMergerTest, RecencyThenRequestOrderDecideBetweenEqualSources) {
  DatasetMerger merger({Parent("ds-first", "first", v1::DATASET_FORMAT_MEW_DARKLIST, 100),
                        Parent("ds-newer", "newer", v1::DATASET_FORMAT_MEW_DARKLIST, 300),
                        Parent("ds-third", "third", v1::DATASET_FORMAT_MEW_DARKLIST, 100)});
  ASSERT_THAT(merger.Add(0, Record(kA, "Scam", "From first", "first")), IsOk());
  ASSERT_THAT(merger.Add(1, Record(kA, "Scam", "From newer", "newer")), IsOk());
  ASSERT_THAT(merger.Add(2, Record(kA, "Scam", "From third", "third")), IsOk());
  ASSERT_THAT(merger.Add(0, Record(kB, "Scam", "First again", "first")), IsOk());
  ASSERT_THAT(merger.Add(2, Record(kB, "Scam", "Third again", "third")), IsOk());
  Merged merged = Resolve(merger);
  ASSERT_THAT(merged.records, SizeIs(2));
  EXPECT_EQ(merged.records[0].name(), "From newer");
  EXPECT_EQ(merged.records[1].name(), "First again");
  ASSERT_THAT(merged.conflicts, SizeIs(2));
  EXPECT_EQ(merged.conflicts[0].rule(), "recency (the newer dataset at equal authority)");
  EXPECT_THAT(merged.conflicts[0].overruled(), SizeIs(2));
  EXPECT_EQ(merged.conflicts[1].rule(),
            "dataset priority (the dataset listed earlier, at equal authority and age)");
}

TEST(DatasetMergerTest, OfacDecidesSanctionsAndFeaturesComeFromTheHighestPriority) {
  DatasetMerger merger(
      {Parent("ds-labels", "labels", v1::DATASET_FORMAT_ETHERSCAN_LABELS, 100),
       Parent("ds-ofac", "ofac", v1::DATASET_FORMAT_OFAC_SDN, 100),
       Parent("ds-kaggle", "kaggle", v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES, 100)});
  common::v1::AddressRecord delisted = Record(kA, "Unknown", "TORNADO CASH", "");
  delisted.set_original_label("delisted");
  common::v1::AddressRecord features = Record(kA, "Scam", "", "kaggle");
  common::v1::Feature* f = features.add_features();
  f->set_name("Sent tnx");
  f->set_number(3);
  ASSERT_THAT(merger.Add(0, Record(kA, "Sanctioned", "Tornado.Cash", "labels")), IsOk());
  ASSERT_THAT(merger.Add(1, delisted), IsOk());
  ASSERT_THAT(merger.Add(2, features), IsOk());
  Merged merged = Resolve(merger);
  ASSERT_THAT(merged.records, SizeIs(1));
  const common::v1::AddressRecord& r = merged.records[0];
  EXPECT_EQ(r.label(), "Scam");
  ASSERT_EQ(r.features_size(), 1);
  EXPECT_EQ(r.features(0).number(), 3);
  // An empty source falls back to the dataset name.
  EXPECT_EQ(r.evidence(0).source(), "ofac");
  EXPECT_THAT(r.evidence(2).fields(), ElementsAre("label", "features"));
  EXPECT_THAT(r.evidence(2).claim(), HasSubstr("1 features"));
  ASSERT_THAT(merged.conflicts, SizeIs(2));
  EXPECT_EQ(merged.conflicts[0].field(), "label");
  EXPECT_EQ(merged.conflicts[0].rule(), "OFAC decides sanctions");
  EXPECT_EQ(merged.conflicts[0].overruled(0).value(), "Sanctioned");
  EXPECT_EQ(merged.conflicts[0].overruled(0).source(), "labels");
  EXPECT_EQ(merged.conflicts[1].field(), "name");
}

TEST(DatasetMergerTest, RejectsBadRecordsAndStopsOnEmitErrors) {
  DatasetMerger merger({Parent("ds-a", "a", v1::DATASET_FORMAT_MEW_DARKLIST, 1)});
  common::v1::AddressRecord bad = Record("0x5a27", "Scam", "", "a");
  bad.set_line(7);
  EXPECT_THAT(merger.Add(0, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 7")));
  EXPECT_THAT(merger.Add(1, Record(kA, "Scam", "", "a")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(merger.Add(0, Record(kA, "Scam", "", "a")), IsOk());
  ASSERT_THAT(merger.Add(0, Record(kB, "Scam", "", "a")), IsOk());
  int calls = 0;
  EXPECT_THAT(merger.Resolve([&calls](common::v1::AddressRecord, std::vector<v1::MergeConflict>) {
    ++calls;
    return absl::CancelledError("stop");
  }),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(calls, 1);
  Merged merged = Resolve(merger);
  EXPECT_THAT(merged.conflicts, IsEmpty());
}

}  // namespace
}  // namespace ethscan::dataset

#include "services/dataset/record_merge.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kChecksummed[] = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
constexpr char kLower[] = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
constexpr char kOther[] = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";

common::v1::AddressRecord Record(const std::string& address, const std::string& label,
                                 uint64_t line) {
  common::v1::AddressRecord record;
  record.set_address(address);
  record.set_label(label);
  record.set_line(line);
  record.set_source("test");
  record.set_chain_id(1);
  return record;
}

TEST(LabelSeverityTest, OrdersTheVocabulary) {
  EXPECT_EQ(common::LabelSeverity("Unknown"), 0);
  EXPECT_EQ(common::LabelSeverity("Legit"), 1);
  EXPECT_EQ(common::LabelSeverity("Scam"), 2);
  EXPECT_EQ(common::LabelSeverity("phish / hack"), 3);
  EXPECT_EQ(common::LabelSeverity("Exploit"), 4);
  EXPECT_EQ(common::LabelSeverity("Heist"), 5);
  EXPECT_EQ(common::LabelSeverity("SANCTIONED"), 6);
  EXPECT_EQ(common::LabelSeverity(""), -1);
  EXPECT_EQ(common::LabelSeverity("phish-hack"), -1);
  EXPECT_EQ(common::CanonicalReportLabel("phish / HACK"), "Phish / Hack");
  EXPECT_EQ(common::CanonicalReportLabel("bad"), "");
  EXPECT_EQ(ReportLabels().size(), 7u);
}

TEST(RecordMergerTest, MergesRowsOfOneAddressInFirstSeenOrder) {
  RecordMerger merger;
  common::v1::AddressRecord first = Record(kLower, "Scam", 2);
  first.add_tags("Airdrop");
  first.set_original_label("Scamming");
  first.set_note("http://a.example");
  common::v1::AddressRecord other = Record(kOther, "Legit", 3);
  common::v1::AddressRecord second = Record(kChecksummed, "Phish / Hack", 4);
  second.set_name("Fake_Phishing1");
  second.set_account_type("EOA");
  second.add_tags("airdrop");
  second.add_tags("MyEtherWallet");
  second.set_original_label("Phishing");
  second.set_note("http://b.example");
  common::v1::AddressRecord third = Record(kChecksummed, "Legit", 5);
  third.set_name("Other name");
  third.set_entity("Someone");
  third.add_tags("");
  ASSERT_THAT(merger.Add(first), IsOk());
  ASSERT_THAT(merger.Add(other), IsOk());
  ASSERT_THAT(merger.Add(second), IsOk());
  ASSERT_THAT(merger.Add(third), IsOk());

  ASSERT_EQ(merger.size(), 2u);
  const common::v1::AddressRecord& merged = merger.records()[0];
  EXPECT_EQ(merged.address(), kChecksummed);
  EXPECT_EQ(merged.label(), "Phish / Hack");
  EXPECT_EQ(merged.original_label(), "Phishing");
  EXPECT_EQ(merged.note(), "http://b.example");
  EXPECT_EQ(merged.name(), "Fake_Phishing1");
  EXPECT_EQ(merged.account_type(), "EOA");
  EXPECT_EQ(merged.entity(), "Someone");
  EXPECT_EQ(merged.contract_type(), "");
  EXPECT_THAT(merged.tags(), ElementsAre("Airdrop", "MyEtherWallet"));
  EXPECT_EQ(merged.line(), 2u);
  EXPECT_EQ(merged.source(), "test");
  EXPECT_EQ(merger.records()[1].address(), kOther);
  EXPECT_EQ(merger.records()[1].label(), "Legit");
}

TEST(RecordMergerTest, UnknownAndForeignLabelsGiveWay) {
  RecordMerger merger;
  ASSERT_THAT(merger.Add(Record(kOther, "", 1)), IsOk());
  ASSERT_THAT(merger.Add(Record(kOther, "custom", 2)), IsOk());
  EXPECT_EQ(merger.records()[0].label(), "custom");
  ASSERT_THAT(merger.Add(Record(kOther, "Unknown", 3)), IsOk());
  EXPECT_EQ(merger.records()[0].label(), "Unknown");
  ASSERT_THAT(merger.Add(Record(kOther, "Legit", 4)), IsOk());
  EXPECT_EQ(merger.records()[0].label(), "Legit");
  ASSERT_THAT(merger.Add(Record(kOther, "Unknown", 5)), IsOk());
  EXPECT_EQ(merger.records()[0].label(), "Legit");
}

TEST(RecordMergerTest, RejectsABadAddress) {
  RecordMerger merger;
  EXPECT_THAT(merger.Add(Record("0x12", "Scam", 9)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 9")));
  EXPECT_EQ(merger.size(), 0u);
}

}  // namespace
}  // namespace ethscan::dataset

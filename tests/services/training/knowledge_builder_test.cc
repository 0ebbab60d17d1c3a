#include "services/training/knowledge_builder.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/eth/address.h"
#include "common/model/package.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/training/fakes.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::training {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::MakeDataset;
using testing::MakeRecord;
using ::testing::SizeIs;

constexpr char kTornado[] = "0xd90e2f925da726b50c4ed8d0fb90ad053324f31b";
constexpr char kUni[] = "0x1f9840a85d5af5bf1d1762f925bdaddc4201f984";
constexpr char kPhish[] = "0x00000000000000000000000000000000000000aa";
constexpr char kOther[] = "0x00000000000000000000000000000000000000bb";

std::string Checksum(const std::string& lower) {
  return eth::Address::Parse(lower).value().ToChecksumHex();
}

model::v1::KnowledgeIndex Build(const std::vector<SourceDataset>& datasets,
                                BuildStats* stats = nullptr) {
  absl::StatusOr<model::v1::KnowledgeIndex> index = BuildKnowledgeIndex(datasets, stats);
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? *index : model::v1::KnowledgeIndex();
}

const model::v1::KnowledgeEntry* Find(const model::v1::KnowledgeIndex& model,
                                      const std::string& address) {
  for (const model::v1::KnowledgeEntry& e : model.entries()) {
    if (absl::AsciiStrToLower(e.merged().address()) == address) return &e;
  }
  return nullptr;
}

common::v1::AddressRecord OfacRecord(const std::string& address, bool listed) {
  common::v1::AddressRecord r =
      MakeRecord(address, listed ? "Sanctioned" : "Unknown", "TORNADO CASH");
  r.set_original_label(listed ? "listed" : "delisted");
  r.set_entity("Tornado Cash");
  if (!listed) r.add_tags("ofac delisted");
  return r;
}

TEST(KnowledgeBuilderTest, OfacDelistedOverrulesEtherscanSanctioned) {
  SourceDataset ofac{MakeDataset("ds-ofac", "ofac_sdn", dataset::v1::DATASET_FORMAT_OFAC_SDN, 100),
                     {OfacRecord(kTornado, /*listed=*/false)}};
  SourceDataset labels{MakeDataset("ds-labels", "etherscan_labels_2023",
                                   dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS, 200),
                       {MakeRecord(kTornado, "Sanctioned", "Tornado.Cash: Router",
                                   {"ofac-sanctions-lists", "tornado-cash"})}};
  model::v1::KnowledgeIndex model = Build({labels, ofac});
  const model::v1::KnowledgeEntry* e = Find(model, kTornado);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->merged().label(), "Unknown");
  EXPECT_EQ(e->merged().original_label(), "delisted");
  EXPECT_EQ(e->field_sources().at("label"), "ofac_sdn (ds-ofac)");
  // OFAC ranks above Etherscan labels: its name wins, the other is a noted conflict.
  EXPECT_EQ(e->merged().name(), "TORNADO CASH");
  EXPECT_THAT(e->merged().tags(),
              ElementsAre("ofac delisted", "ofac-sanctions-lists", "tornado-cash"));
  ASSERT_THAT(e->claims(), SizeIs(2));
  EXPECT_EQ(e->claims(0).source(), "ofac_sdn (ds-ofac)");
  EXPECT_EQ(e->claims(0).dataset_format(), "DATASET_FORMAT_OFAC_SDN");
  EXPECT_EQ(e->claims(1).record().label(), "Sanctioned");  // Kept as evidence.
  EXPECT_THAT(e->conflicts(),
              ElementsAre("label: Sanctioned (etherscan_labels_2023) overruled by OFAC (ofac_sdn: "
                          "delisted); only OFAC decides sanctions → Unknown",
                          "name: \"TORNADO CASH\" (ofac_sdn) vs \"Tornado.Cash: Router\" "
                          "(etherscan_labels_2023) → \"TORNADO CASH\""));
}

TEST(KnowledgeBuilderTest, OfacListedKeepsSanctionedWithoutConflict) {
  SourceDataset ofac{MakeDataset("ds-ofac", "ofac_sdn", dataset::v1::DATASET_FORMAT_OFAC_SDN, 100),
                     {OfacRecord(kTornado, /*listed=*/true)}};
  SourceDataset labels{
      MakeDataset("ds-labels", "labels", dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS, 200),
      {MakeRecord(kTornado, "Sanctioned", "TORNADO CASH")}};
  model::v1::KnowledgeIndex model = Build({ofac, labels});
  const model::v1::KnowledgeEntry* e = Find(model, kTornado);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->merged().label(), "Sanctioned");
  EXPECT_THAT(e->conflicts(), IsEmpty());
  EXPECT_EQ(e->merged().source(), "ofac_sdn");
}

TEST(KnowledgeBuilderTest, SanctionedFromOtherSourceStandsWithoutOfacClaim) {
  SourceDataset labels{
      MakeDataset("ds-labels", "labels", dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS, 200),
      {MakeRecord(kTornado, "Sanctioned")}};
  SourceDataset scams{
      MakeDataset("ds-scam", "scamdb", dataset::v1::DATASET_FORMAT_CRYPTOSCAMDB, 300),
      {MakeRecord(kTornado, "Scam")}};
  model::v1::KnowledgeIndex model = Build({labels, scams});
  const model::v1::KnowledgeEntry* e = Find(model, kTornado);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->merged().label(), "Sanctioned");
  EXPECT_THAT(e->conflicts(),
              ElementsAre("label: Sanctioned (labels) vs Scam (scamdb) → Sanctioned"));
}

TEST(KnowledgeBuilderTest, NewestOfacDatasetDecidesSanctions) {
  SourceDataset old_ofac{
      MakeDataset("ds-ofac-2024", "ofac_2024", dataset::v1::DATASET_FORMAT_OFAC_SDN, 100),
      {OfacRecord(kTornado, /*listed=*/true)}};
  SourceDataset new_ofac{
      MakeDataset("ds-ofac-2026", "ofac_2026", dataset::v1::DATASET_FORMAT_OFAC_SDN, 900),
      {OfacRecord(kTornado, /*listed=*/false)}};
  model::v1::KnowledgeIndex model = Build({old_ofac, new_ofac});
  const model::v1::KnowledgeEntry* e = Find(model, kTornado);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->merged().label(), "Unknown");
  EXPECT_EQ(e->claims(0).source(), "ofac_2026 (ds-ofac-2026)");
  EXPECT_THAT(e->conflicts(), ElementsAre(HasSubstr("Sanctioned (ofac_2024) overruled")));
}

TEST(KnowledgeBuilderTest, UniswapLegitLosesToPhishClaimAndConflictIsNoted) {
  common::v1::AddressRecord token = MakeRecord(kUni, "Legit", "Uniswap (UNI)");
  token.set_account_type("Smart Contract");
  token.set_contract_type("Token");
  common::v1::AddressRecord phish = MakeRecord(kUni, "Phish / Hack", "Fake_Phishing1");
  phish.set_account_type("EOA");
  SourceDataset forta{MakeDataset("ds-forta", "forta_phishing",
                                  dataset::v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS, 500),
                      {phish}};
  SourceDataset uniswap{
      MakeDataset("ds-uni", "uniswap_tokens", dataset::v1::DATASET_FORMAT_UNISWAP_TOKENS, 100),
      {token}};
  model::v1::KnowledgeIndex model = Build({forta, uniswap});
  const model::v1::KnowledgeEntry* e = Find(model, kUni);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->merged().address(), "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984");
  EXPECT_EQ(e->merged().label(), "Phish / Hack");
  EXPECT_EQ(e->merged().name(), "Uniswap (UNI)");
  EXPECT_EQ(e->merged().account_type(), "Smart Contract");
  EXPECT_EQ(e->merged().contract_type(), "Token");
  EXPECT_EQ(e->field_sources().at("label"), "forta_phishing (ds-forta)");
  EXPECT_EQ(e->field_sources().at("name"), "uniswap_tokens (ds-uni)");
  EXPECT_EQ(e->merged().source(), "uniswap_tokens, forta_phishing");
  EXPECT_THAT(e->conflicts(),
              ElementsAre("label: Legit (uniswap_tokens) vs Phish / Hack (forta_phishing) → "
                          "Phish / Hack",
                          "name: \"Uniswap (UNI)\" (uniswap_tokens) vs \"Fake_Phishing1\" "
                          "(forta_phishing) → \"Uniswap (UNI)\"",
                          "account_type: \"Smart Contract\" (uniswap_tokens) vs \"EOA\" "
                          "(forta_phishing) → \"Smart Contract\""));
}

TEST(KnowledgeBuilderTest, NameComesFromHighestAuthorityThenNewerThenEarlierDataset) {
  SourceDataset malicious{MakeDataset("ds-mal", "etherscan_malicious",
                                      dataset::v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS, 100),
                          {MakeRecord(kPhish, "Heist", "Bancor Hacker")}};
  SourceDataset forta_old{
      MakeDataset("ds-f1", "forta_old", dataset::v1::DATASET_FORMAT_FORTA_MALICIOUS_LABELS, 100),
      {MakeRecord(kPhish, "Phish / Hack", "Fake_Phishing5"),
       MakeRecord(kOther, "Phish / Hack", "Old name")}};
  SourceDataset forta_new{
      MakeDataset("ds-f2", "forta_new", dataset::v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS, 200),
      {MakeRecord(kOther, "Phish / Hack", "New name")}};
  SourceDataset forta_same_time{
      MakeDataset("ds-f3", "forta_same_time", dataset::v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS,
                  200),
      {MakeRecord(kOther, "Phish / Hack", "Later in the list")}};
  model::v1::KnowledgeIndex model = Build({forta_old, forta_new, forta_same_time, malicious});
  const model::v1::KnowledgeEntry* phish = Find(model, kPhish);
  ASSERT_NE(phish, nullptr);
  EXPECT_EQ(phish->merged().name(), "Bancor Hacker");  // Rank 3 beats rank 4.
  EXPECT_EQ(phish->merged().label(), "Heist");
  const model::v1::KnowledgeEntry* other = Find(model, kOther);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->merged().name(), "New name");  // Newer dataset, then list position.
  EXPECT_EQ(other->claims(0).source(), "forta_new (ds-f2)");
  EXPECT_EQ(other->claims(1).source(), "forta_same_time (ds-f3)");
  EXPECT_EQ(other->claims(2).source(), "forta_old (ds-f1)");
  EXPECT_THAT(other->conflicts(), ElementsAre(HasSubstr("name: \"New name\" (forta_new) vs")));
}

TEST(KnowledgeBuilderTest, TagsAreUnionInAuthorityOrderCaseInsensitive) {
  SourceDataset labels{
      MakeDataset("ds-labels", "labels", dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS, 100),
      {MakeRecord(kPhish, "", "", {"DeFi", "token-sale"})}};
  SourceDataset scams{
      MakeDataset("ds-scam", "scamdb", dataset::v1::DATASET_FORMAT_CRYPTOSCAMDB, 100),
      {MakeRecord(kPhish, "Scam", "", {"defi", "Trust-Trading", " ", "TOKEN-SALE"})}};
  model::v1::KnowledgeIndex model = Build({scams, labels});
  const model::v1::KnowledgeEntry* e = Find(model, kPhish);
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->merged().tags(), ElementsAre("DeFi", "token-sale", "Trust-Trading"));
  EXPECT_EQ(e->field_sources().at("tags"), "labels (ds-labels), scamdb (ds-scam)");
  EXPECT_EQ(e->merged().label(), "Scam");
  EXPECT_THAT(e->conflicts(), IsEmpty());  // An empty label abstains.
}

TEST(KnowledgeBuilderTest, CaseVariantDuplicatesWithinOneDatasetMergeAsClaims) {
  std::string mixed = Checksum(kUni);
  common::v1::AddressRecord first = MakeRecord(mixed, "Phish / Hack", "Fake_Phishing7", {"a"});
  first.set_line(2);
  common::v1::AddressRecord second = MakeRecord(kUni, "Heist", "Fake_Phishing7", {"A", "b"});
  second.set_line(9);
  common::v1::AddressRecord repeated = first;
  repeated.set_line(11);
  SourceDataset forta{
      MakeDataset("ds-forta", "forta", dataset::v1::DATASET_FORMAT_FORTA_MALICIOUS_LABELS, 100),
      {first, second, repeated}};
  BuildStats stats;
  model::v1::KnowledgeIndex model = Build({forta}, &stats);
  ASSERT_THAT(model.entries(), SizeIs(1));
  const model::v1::KnowledgeEntry& e = model.entries(0);
  EXPECT_EQ(e.merged().address(), mixed);
  ASSERT_THAT(e.claims(), SizeIs(3));
  EXPECT_EQ(e.claims(0).record().line(), 2u);  // Row order within the dataset.
  EXPECT_EQ(e.claims(1).record().line(), 9u);
  EXPECT_EQ(e.claims(2).record().line(), 11u);
  EXPECT_EQ(e.merged().label(), "Heist");
  EXPECT_THAT(e.merged().tags(), ElementsAre("a", "b"));
  EXPECT_THAT(e.conflicts(), ElementsAre("label: Phish / Hack (forta) vs Heist (forta) → Heist"));
  EXPECT_EQ(stats.trained_records, 3u);
  EXPECT_EQ(stats.addresses, 1u);
  EXPECT_EQ(stats.conflicts, 1u);
  EXPECT_EQ(stats.conflicting_addresses, 1u);
}

TEST(KnowledgeBuilderTest, EntriesAreSortedByLowercaseAddress) {
  SourceDataset mew{MakeDataset("ds-mew", "mew", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 100),
                    {MakeRecord(kUni, "Scam"), MakeRecord(kOther, "Scam"),
                     MakeRecord(Checksum(kTornado), "Scam"), MakeRecord(kPhish, "Scam")}};
  model::v1::KnowledgeIndex model = Build({mew});
  std::vector<std::string> addresses;
  for (const model::v1::KnowledgeEntry& e : model.entries()) {
    addresses.push_back(absl::AsciiStrToLower(e.merged().address()));
  }
  EXPECT_THAT(addresses, ElementsAre(kPhish, kOther, kUni, kTornado));
  EXPECT_EQ(model.conflict_policy().rfind("v1: ", 0), 0u);
}

TEST(KnowledgeBuilderTest, UnknownLabelAbstainsAndUnlabelledAddressIsUnknown) {
  SourceDataset labels{
      MakeDataset("ds-labels", "labels", dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS, 100),
      {MakeRecord(kPhish, "Unknown", "Some Exchange"), MakeRecord(kOther, "", "Named only")}};
  SourceDataset scams{
      MakeDataset("ds-scam", "scamdb", dataset::v1::DATASET_FORMAT_CRYPTOSCAMDB, 100),
      {MakeRecord(kPhish, "Scam")}};
  model::v1::KnowledgeIndex model = Build({labels, scams});
  const model::v1::KnowledgeEntry* phish = Find(model, kPhish);
  ASSERT_NE(phish, nullptr);
  EXPECT_EQ(phish->merged().label(), "Scam");
  EXPECT_THAT(phish->conflicts(), IsEmpty());
  const model::v1::KnowledgeEntry* other = Find(model, kOther);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->merged().label(), "Unknown");
  EXPECT_EQ(other->field_sources().count("label"), 0u);
  EXPECT_EQ(other->merged().source(), "labels");
}

TEST(KnowledgeBuilderTest, InvalidAddressesAreSkippedWithReason) {
  common::v1::AddressRecord bad = MakeRecord("0x5a27", "Phish / Hack");
  bad.set_line(7);
  SourceDataset forta{
      MakeDataset("ds-f", "forta", dataset::v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS, 1),
      {bad, MakeRecord(kPhish, "Phish / Hack")}};
  BuildStats stats;
  model::v1::KnowledgeIndex model = Build({forta}, &stats);
  EXPECT_THAT(model.entries(), SizeIs(1));
  EXPECT_EQ(stats.trained_records, 2u);
  EXPECT_EQ(stats.skipped_records, 1u);
  EXPECT_THAT(stats.first_skip_reason, HasSubstr("dataset \"forta\" line 7"));
}

TEST(KnowledgeBuilderTest, RejectsBadDatasetLists) {
  KnowledgeBuilder builder;
  EXPECT_THAT(builder.AddDataset(MakeDataset("", "x", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(
      builder.AddDataset(MakeDataset("ds-1", "x", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 1)),
      IsOk());
  EXPECT_THAT(
      builder.AddDataset(MakeDataset("ds-1", "y", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 1)),
      StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(builder.AddRecord("ds-2", MakeRecord(kPhish, "Scam")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ds-2")));
}

TEST(KnowledgeBuilderTest, BaseModelKnowledgeIsMergedUnderNewDatasets) {
  SourceDataset old_forta{
      MakeDataset("ds-old", "forta_old", dataset::v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS, 100),
      {MakeRecord(kPhish, "Phish / Hack", "Old name", {"old"}),
       MakeRecord(kOther, "Phish / Hack", "Only in base")}};
  SourceDataset ofac{MakeDataset("ds-ofac", "ofac", dataset::v1::DATASET_FORMAT_OFAC_SDN, 100),
                     {OfacRecord(kTornado, /*listed=*/true)}};
  model::v1::KnowledgeIndex base = Build({old_forta, ofac});

  // The new job re-reads ofac itself and adds a same-rank, same-time dataset.
  KnowledgeBuilder builder;
  ASSERT_THAT(builder.AddDataset(MakeDataset(
                  "ds-new", "forta_new", dataset::v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS, 100)),
              IsOk());
  ASSERT_THAT(builder.AddDataset(ofac.dataset), IsOk());
  ASSERT_THAT(builder.AddBaseModel("ft:ethscan-base:test:ftjob-0000000000000001",
                                   {"ds-old", "ds-ofac"}, base),
              IsOk());
  EXPECT_THAT(builder.AddDataset(
                  MakeDataset("ds-late", "late", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(builder.AddRecord("ds-new", MakeRecord(kPhish, "Phish / Hack", "New name", {"new"})),
              IsOk());
  ASSERT_THAT(builder.AddRecord("ds-ofac", OfacRecord(kTornado, /*listed=*/true)), IsOk());
  model::v1::KnowledgeIndex model = builder.Build();

  EXPECT_THAT(builder.training_datasets(), ElementsAre("ds-new", "ds-ofac", "ds-old"));
  EXPECT_EQ(builder.stats().base_claims, 2u);  // The base's ofac claim is not doubled.
  const model::v1::KnowledgeEntry* phish = Find(model, kPhish);
  ASSERT_NE(phish, nullptr);
  EXPECT_EQ(phish->merged().name(), "New name");  // The new dataset comes first.
  EXPECT_THAT(phish->merged().tags(), ElementsAre("new", "old"));
  ASSERT_THAT(phish->claims(), SizeIs(2));
  EXPECT_EQ(phish->claims(1).source(), "forta_old (ds-old)");
  EXPECT_EQ(phish->claims(1).dataset_format(), "DATASET_FORMAT_FORTA_PHISHING_SCAMS");
  const model::v1::KnowledgeEntry* other = Find(model, kOther);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->merged().name(), "Only in base");
  const model::v1::KnowledgeEntry* tornado = Find(model, kTornado);
  ASSERT_NE(tornado, nullptr);
  EXPECT_THAT(tornado->claims(), SizeIs(1));
  EXPECT_EQ(tornado->merged().label(), "Sanctioned");
}

common::v1::AddressRecord WithFeature(common::v1::AddressRecord r, double sent) {
  common::v1::Feature* f = r.add_features();
  f->set_name("sent_tnx");
  f->set_number(sent);
  common::v1::Feature* token = r.add_features();
  token->set_name("erc20_most_sent_token_type");
  token->set_text("Blockwell");
  return r;
}

// The features of `entry` as a reader of the index sees them.
std::vector<std::string> FeaturesOf(const model::v1::KnowledgeIndex& index,
                                    const model::v1::KnowledgeEntry& entry) {
  google::protobuf::RepeatedPtrField<common::v1::Feature> features;
  absl::Status s = model::AppendFeatures(index, entry, &features);
  if (!s.ok()) return {std::string(s.message())};
  std::vector<std::string> out;
  for (const common::v1::Feature& f : features) {
    out.push_back(f.value_case() == common::v1::Feature::kText
                      ? absl::StrCat(f.name(), "=\"", f.text(), "\"")
                      : absl::StrCat(f.name(), "=", f.number()));
  }
  return out;
}

// The behavioural features of an address are stored once, packed in its entry (each name once
// in the index): an index of the Kaggle file would otherwise hold each address's 47 features
// twice, and their names once per address.
TEST(KnowledgeBuilderTest, FeaturesAreKeptOncePackedAndSurviveContinuation) {
  SourceDataset kaggle{
      MakeDataset("ds-kaggle", "kaggle", dataset::v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES, 100),
      {WithFeature(MakeRecord(kPhish, "Scam"), 7), WithFeature(MakeRecord(kTornado, "Scam"), 3),
       MakeRecord(kOther, "Scam")}};
  SourceDataset labels{
      MakeDataset("ds-labels", "labels", dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS, 200),
      {MakeRecord(kPhish, "Phish / Hack", "Fake airdrop")}};
  model::v1::KnowledgeIndex base = Build({labels, kaggle});
  EXPECT_THAT(base.feature_names(), ElementsAre("sent_tnx", "erc20_most_sent_token_type"));
  const model::v1::KnowledgeEntry* e = Find(base, kPhish);
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->merged().features(), IsEmpty());
  EXPECT_THAT(FeaturesOf(base, *e),
              ElementsAre("sent_tnx=7", "erc20_most_sent_token_type=\"Blockwell\""));
  EXPECT_THAT(FeaturesOf(base, *Find(base, kTornado)),
              ElementsAre("sent_tnx=3", "erc20_most_sent_token_type=\"Blockwell\""));
  EXPECT_EQ(e->field_sources().at("features"), "kaggle (ds-kaggle)");
  ASSERT_THAT(e->claims(), SizeIs(2));
  for (const model::v1::SourceClaim& c : e->claims()) EXPECT_THAT(c.record().features(), IsEmpty());
  EXPECT_FALSE(Find(base, kOther)->field_sources().contains("features"));
  EXPECT_THAT(FeaturesOf(base, *Find(base, kOther)), IsEmpty());

  // A job continuing the model without the feature file keeps the features it learnt.
  auto continued = [&labels](const model::v1::KnowledgeIndex& from) {
    KnowledgeBuilder builder;
    EXPECT_THAT(builder.AddDataset(labels.dataset), IsOk());
    EXPECT_THAT(builder.AddBaseModel("ft:ethscan-base:test:ftjob-0000000000000001",
                                     {"ds-labels", "ds-kaggle"}, from),
                IsOk());
    EXPECT_THAT(builder.AddRecord("ds-labels", MakeRecord(kPhish, "Phish / Hack", "Fake airdrop")),
                IsOk());
    return builder.Build();
  };
  model::v1::KnowledgeIndex next = continued(base);
  e = Find(next, kPhish);
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(FeaturesOf(next, *e),
              ElementsAre("sent_tnx=7", "erc20_most_sent_token_type=\"Blockwell\""));
  EXPECT_EQ(e->field_sources().at("features"), "kaggle (ds-kaggle)");
  for (const model::v1::SourceClaim& c : e->claims()) EXPECT_THAT(c.record().features(), IsEmpty());

  // A model published before features were packed kept them in the merged record.
  model::v1::KnowledgeIndex old = base;
  old.clear_feature_names();
  for (model::v1::KnowledgeEntry& entry : *old.mutable_entries()) {
    ASSERT_THAT(model::AppendFeatures(base, entry, entry.mutable_merged()->mutable_features()),
                IsOk());
    entry.clear_features();
  }
  EXPECT_THAT(FeaturesOf(old, *Find(old, kPhish)),
              ElementsAre("sent_tnx=7", "erc20_most_sent_token_type=\"Blockwell\""));
  next = continued(old);
  EXPECT_THAT(FeaturesOf(next, *Find(next, kPhish)),
              ElementsAre("sent_tnx=7", "erc20_most_sent_token_type=\"Blockwell\""));
  EXPECT_THAT(next.feature_names(), ElementsAre("sent_tnx", "erc20_most_sent_token_type"));

  // A packed feature naming no name of the index is a damaged model, not a silent gap.
  model::v1::KnowledgeIndex damaged = base;
  damaged.mutable_feature_names()->RemoveLast();
  KnowledgeBuilder builder;
  ASSERT_THAT(builder.AddDataset(labels.dataset), IsOk());
  EXPECT_THAT(builder.AddBaseModel("ft:ethscan-base:test:ftjob-0000000000000001",
                                   {"ds-labels", "ds-kaggle"}, damaged),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("names feature 1 of 1")));
}

TEST(KnowledgeBuilderTest, RanksAndSeverities) {
  EXPECT_EQ(AuthorityRank(dataset::v1::DATASET_FORMAT_UNISWAP_TOKENS), 1);
  EXPECT_EQ(AuthorityRank(dataset::v1::DATASET_FORMAT_OFAC_SDN), 1);
  EXPECT_EQ(AuthorityRank(dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS), 2);
  EXPECT_EQ(AuthorityRank(dataset::v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS), 3);
  EXPECT_EQ(AuthorityRank(dataset::v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS), 4);
  EXPECT_EQ(AuthorityRank(dataset::v1::DATASET_FORMAT_CRYPTOSCAMDB), 5);
  EXPECT_EQ(AuthorityRank(dataset::v1::DATASET_FORMAT_MEW_DARKLIST), 6);
  EXPECT_EQ(AuthorityRank(dataset::v1::DATASET_FORMAT_UNSPECIFIED), 7);
  EXPECT_GT(common::LabelSeverity("Sanctioned"), common::LabelSeverity("Heist"));
  EXPECT_GT(common::LabelSeverity("Heist"), common::LabelSeverity("Exploit"));
  EXPECT_GT(common::LabelSeverity("Exploit"), common::LabelSeverity("Phish / Hack"));
  EXPECT_GT(common::LabelSeverity("phish / hack"), common::LabelSeverity("Scam"));
  EXPECT_GT(common::LabelSeverity("Scam"), common::LabelSeverity("Legit"));
  EXPECT_GT(common::LabelSeverity("Legit"), common::LabelSeverity("Unknown"));
  EXPECT_EQ(common::LabelSeverity("phish-hack"), -1);
  EXPECT_EQ(common::LabelSeverity(""), -1);
}

}  // namespace
}  // namespace ethscan::training

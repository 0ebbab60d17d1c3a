#include "common/report/conflict_policy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ethscan::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

v1::AddressRecord Record(const std::string& label, const std::string& name = "",
                         std::vector<std::string> tags = {}) {
  v1::AddressRecord r;
  r.set_label(label);
  r.set_name(name);
  for (std::string& t : tags) r.add_tags(std::move(t));
  return r;
}

PolicyClaim Claim(const v1::AddressRecord* record, const std::string& format, int64_t seconds,
                  uint64_t position, uint64_t sequence = 0) {
  PolicyClaim c;
  c.record = record;
  c.format = format;
  c.observed_time.set_seconds(seconds);
  c.position = position;
  c.sequence = sequence;
  return c;
}

TEST(ConflictPolicyTest, RanksFormatsByAuthority) {
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_UNISWAP_TOKENS"), 1);
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_OFAC_SDN"), 1);
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_ETHERSCAN_LABELS"), 2);
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_ETHERSCAN_MALICIOUS"), 3);
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_FORTA_PHISHING_SCAMS"), 4);
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_FORTA_MALICIOUS_LABELS"), 4);
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS"), 4);
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_CRYPTOSCAMDB"), 5);
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_MEW_DARKLIST"), 6);
  EXPECT_EQ(AuthorityRankOfFormat("DATASET_FORMAT_MERGED"), kLowestAuthorityRank);
  EXPECT_EQ(AuthorityRankOfFormat(""), kLowestAuthorityRank);
  EXPECT_TRUE(IsOfacFormat("DATASET_FORMAT_OFAC_SDN"));
  EXPECT_FALSE(IsOfacFormat("DATASET_FORMAT_UNISWAP_TOKENS"));
  EXPECT_EQ(std::string(kConflictPolicyText).rfind("v1: ", 0), 0u);
}

TEST(ConflictPolicyTest, AuthorityOrderIsRankThenRecencyThenPositionThenRow) {
  v1::AddressRecord r;
  const PolicyClaim uniswap = Claim(&r, "DATASET_FORMAT_UNISWAP_TOKENS", 100, 3);
  const PolicyClaim forta_old = Claim(&r, "DATASET_FORMAT_FORTA_PHISHING_SCAMS", 100, 0);
  const PolicyClaim forta_new = Claim(&r, "DATASET_FORMAT_FORTA_MALICIOUS_LABELS", 200, 2);
  const PolicyClaim forta_new_later = Claim(&r, "DATASET_FORMAT_FORTA_PHISHING_SCAMS", 200, 5);
  const PolicyClaim forta_new_later_row =
      Claim(&r, "DATASET_FORMAT_FORTA_PHISHING_SCAMS", 200, 5, 9);
  std::vector<PolicyClaim> claims = {forta_new_later_row, forta_old, forta_new_later, uniswap,
                                     forta_new};
  SortByAuthority(claims);
  std::vector<uint64_t> positions;
  for (const PolicyClaim& c : claims) positions.push_back(c.position * 10 + c.sequence);
  EXPECT_THAT(positions, ElementsAre(30, 20, 50, 59, 0));

  EXPECT_EQ(PrecedenceRule(uniswap, forta_old),
            "source authority (UNISWAP_TOKENS rank 1 over FORTA_PHISHING_SCAMS rank 4)");
  EXPECT_THAT(PrecedenceRule(forta_new, forta_old), HasSubstr("recency"));
  EXPECT_THAT(PrecedenceRule(forta_new, forta_new_later), HasSubstr("dataset priority"));
  EXPECT_THAT(PrecedenceRule(forta_new_later, forta_new_later_row), HasSubstr("row order"));
}

TEST(ConflictPolicyTest, MostSevereLabelWinsAndUnknownAbstains) {
  const v1::AddressRecord legit = Record("Legit", "Uniswap");
  const v1::AddressRecord unknown = Record("Unknown", "Something");
  const v1::AddressRecord phish = Record("phish / hack", "Fake_Phishing1");
  std::vector<PolicyClaim> claims = {Claim(&legit, "DATASET_FORMAT_UNISWAP_TOKENS", 1, 0),
                                     Claim(&unknown, "DATASET_FORMAT_ETHERSCAN_LABELS", 1, 1),
                                     Claim(&phish, "DATASET_FORMAT_FORTA_PHISHING_SCAMS", 1, 2)};
  Resolution r = ResolveClaims(claims);
  EXPECT_EQ(r.merged.label(), "Phish / Hack");
  EXPECT_THAT(r.label.winner, Optional(2u));
  EXPECT_THAT(r.label.overruled, ElementsAre(0u));  // Unknown abstains: not overruled.
  EXPECT_EQ(r.label.rule, "most severe label");
  ASSERT_EQ(r.label.values.size(), 2u);
  EXPECT_EQ(r.label.values[0].value, "Legit");
  EXPECT_EQ(r.label.values[1].value, "Phish / Hack");
  // The name of the highest authority wins; the others are overruled.
  EXPECT_EQ(r.merged.name(), "Uniswap");
  EXPECT_THAT(r.text_fields[0].overruled, ElementsAre(1u, 2u));
  EXPECT_EQ(r.text_fields[0].rule,
            "source authority (UNISWAP_TOKENS rank 1 over ETHERSCAN_LABELS rank 2)");
  EXPECT_TRUE(r.Overruled(0));
  EXPECT_TRUE(r.Overruled(1));
  EXPECT_TRUE(r.Overruled(2));
  EXPECT_EQ(r.Conflicts().size(), 2u);
}

TEST(ConflictPolicyTest, OfacDecidesSanctions) {
  v1::AddressRecord ofac = Record("Unknown", "TORNADO CASH", {"ofac delisted"});
  ofac.set_original_label("delisted");
  const v1::AddressRecord labels = Record("Sanctioned", "Tornado.Cash: Router", {"tornado-cash"});
  const v1::AddressRecord scam = Record("Scam");
  std::vector<PolicyClaim> claims = {Claim(&ofac, "DATASET_FORMAT_OFAC_SDN", 1, 1),
                                     Claim(&labels, "DATASET_FORMAT_ETHERSCAN_LABELS", 1, 0),
                                     Claim(&scam, "DATASET_FORMAT_CRYPTOSCAMDB", 1, 2)};
  Resolution r = ResolveClaims(claims);
  EXPECT_EQ(r.merged.label(), "Scam");
  EXPECT_THAT(r.label.ofac, Optional(0u));
  EXPECT_THAT(r.label.sanctions_overruled, ElementsAre(1u));
  EXPECT_THAT(r.label.overruled, ElementsAre(1u));
  EXPECT_EQ(r.label.rule, "OFAC decides sanctions");
  EXPECT_EQ(r.merged.original_label(), "");  // From the Scam claim, which won.
  EXPECT_THAT(r.merged.tags(), ElementsAre("ofac delisted", "tornado-cash"));
  EXPECT_THAT(r.tag_sources, ElementsAre(0u, 1u));

  // Listed by OFAC: Sanctioned stands, nothing overruled on the label.
  ofac.set_label("Sanctioned");
  r = ResolveClaims(claims);
  EXPECT_EQ(r.merged.label(), "Sanctioned");
  EXPECT_THAT(r.label.sanctions_overruled, IsEmpty());
  EXPECT_THAT(r.label.overruled, ElementsAre(2u));
  EXPECT_EQ(r.label.rule, "most severe label");
}

TEST(ConflictPolicyTest, NothingClaimedIsUnknownAndFeaturesComeFromTheFirstClaimWithAny) {
  v1::AddressRecord empty;
  v1::AddressRecord with_features = Record("", " Exchange ");
  v1::Feature* f = with_features.add_features();
  f->set_name("Sent tnx");
  f->set_number(5);
  std::vector<PolicyClaim> claims = {Claim(&empty, "DATASET_FORMAT_UNISWAP_TOKENS", 1, 0),
                                     Claim(&with_features, "DATASET_FORMAT_PHISH_FEATURES", 1, 1)};
  Resolution r = ResolveClaims(claims);
  EXPECT_EQ(r.merged.label(), "Unknown");
  EXPECT_FALSE(r.label.winner.has_value());
  EXPECT_EQ(r.merged.name(), "Exchange");  // Trimmed.
  EXPECT_THAT(r.features_from, Optional(1u));
  ASSERT_EQ(r.merged.features_size(), 1);
  EXPECT_EQ(r.merged.features(0).name(), "Sent tnx");
  EXPECT_THAT(r.Conflicts(), IsEmpty());
  EXPECT_FALSE(r.Overruled(0));
}

TEST(ConflictPolicyTest, CaseOnlyDifferencesAreNoConflict) {
  const v1::AddressRecord a = Record("Scam", "Binance");
  const v1::AddressRecord b = Record("scam", "BINANCE");
  std::vector<PolicyClaim> claims = {Claim(&a, "DATASET_FORMAT_MEW_DARKLIST", 1, 0),
                                     Claim(&b, "DATASET_FORMAT_MEW_DARKLIST", 1, 1)};
  Resolution r = ResolveClaims(claims);
  EXPECT_EQ(r.merged.name(), "Binance");
  EXPECT_EQ(r.merged.label(), "Scam");
  EXPECT_THAT(r.Conflicts(), IsEmpty());
  EXPECT_EQ(CanonicalReportLabel("phish / HACK"), "Phish / Hack");
  EXPECT_EQ(CanonicalReportLabel("phish-hack"), "");
}

}  // namespace
}  // namespace ethscan::common

#include "services/inference/report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/inference/knowledge_fixture.h"

namespace ethscan::inference {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

eth::Address Parse(const std::string& s) {
  return *eth::Address::Parse(s, eth::Address::ChecksumPolicy::kLenient);
}

TEST(RiskTest, FollowsTheLabel) {
  EXPECT_EQ(RiskOf("Sanctioned", nullptr).level, common::v1::RISK_LEVEL_CRITICAL);
  EXPECT_EQ(RiskOf("Heist", nullptr).level, common::v1::RISK_LEVEL_CRITICAL);
  EXPECT_EQ(RiskOf("Phish / Hack", nullptr).level, common::v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(RiskOf("Exploit", nullptr).level, common::v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(RiskOf("Scam", nullptr).level, common::v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(RiskOf("Legit", nullptr).level, common::v1::RISK_LEVEL_LOW);
  EXPECT_EQ(RiskOf("Unknown", nullptr).level, common::v1::RISK_LEVEL_UNSPECIFIED);
  EXPECT_GT(RiskOf("Sanctioned", nullptr).score, RiskOf("Scam", nullptr).score);
  EXPECT_LT(RiskOf("Legit", nullptr).score, 0.1);
}

TEST(RiskTest, RiskyTagsMakeAKnownUnlabelledAddressMedium) {
  model::v1::KnowledgeEntry e;
  e.mutable_merged()->add_tags("gambling");
  EXPECT_EQ(RiskOf("Unknown", &e).level, common::v1::RISK_LEVEL_LOW);
  e.mutable_merged()->add_tags("Tornado-Cash");
  EXPECT_EQ(RiskOf("Unknown", &e).level, common::v1::RISK_LEVEL_MEDIUM);
}

TEST(BuildPredictionTest, LegitTokenHasEveryField) {
  model::v1::KnowledgeEntry e = testing::UniswapEntry();
  inference::v1::PredictResponse p =
      BuildPrediction(Parse(e.merged().address()), &e, "ft:ethscan-base:t:ftjob-1");
  EXPECT_EQ(p.address(), "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984");
  EXPECT_EQ(p.name(), "Uniswap (UNI)");
  EXPECT_EQ(p.account_type(), "Smart Contract");
  EXPECT_EQ(p.contract_type(), "Token");
  EXPECT_EQ(p.label(), "Legit");
  EXPECT_THAT(p.tags(), ElementsAre("Token Contract"));
  EXPECT_EQ(p.risk_level(), common::v1::RISK_LEVEL_LOW);
  EXPECT_TRUE(p.known());
  EXPECT_EQ(p.model(), "ft:ethscan-base:t:ftjob-1");
  EXPECT_THAT(p.description(), HasSubstr("Token contract \"Uniswap (UNI)\""));
  EXPECT_THAT(p.description(), HasSubstr("listed as legitimate according to uniswap_tokens"));
  ASSERT_THAT(p.next_steps(), SizeIs(1));
  ASSERT_THAT(p.evidence(), SizeIs(1));
  EXPECT_EQ(p.evidence(0).source(), "uniswap_tokens");
  EXPECT_THAT(p.evidence(0).fields(),
              ElementsAre("account_type", "contract_type", "label", "name", "tags"));
  EXPECT_THAT(p.evidence(0).claim(), HasSubstr("uniswap-default-list → Legit"));
  EXPECT_FALSE(p.evidence(0).overruled());
}

TEST(BuildPredictionTest, SanctionedIsCriticalAndMarksOverruledEvidence) {
  model::v1::KnowledgeEntry e = testing::SanctionedEntry();
  inference::v1::PredictResponse p = BuildPrediction(Parse(e.merged().address()), &e, "m");
  EXPECT_EQ(p.label(), "Sanctioned");
  EXPECT_EQ(p.risk_level(), common::v1::RISK_LEVEL_CRITICAL);
  EXPECT_THAT(p.description(), HasSubstr("is on a sanctions list according to ofac_sdn."));
  EXPECT_THAT(p.description(),
              HasSubstr("Sources disagree on the label: Sanctioned (ofac_sdn) is reported over "
                        "Legit (etherscan_labels) as the most severe."));
  EXPECT_THAT(p.description(),
              HasSubstr("Sources disagree on the name: \"LAZARUS GROUP\" (ofac_sdn) is reported "
                        "over \"Ronin Bridge Exploiter\" (etherscan_labels) by source authority "
                        "(OFAC_SDN rank 1 over ETHERSCAN_LABELS rank 2)."));
  EXPECT_THAT(p.next_steps(0), HasSubstr("Do not send funds"));
  ASSERT_THAT(p.evidence(), SizeIs(2));
  EXPECT_FALSE(p.evidence(0).overruled());
  EXPECT_TRUE(p.evidence(1).overruled());
  EXPECT_EQ(p.evidence(1).source(), "etherscan_labels");
  EXPECT_THAT(p.conflicts(), SizeIs(2));
}

// A delisted Tornado Cash pool as the knowledge builder merges it: OFAC says delisted (Unknown),
// Etherscan's label cloud still says Sanctioned.
model::v1::KnowledgeEntry DelistedEntry() {
  model::v1::KnowledgeEntry e;
  const std::string address = "0x03893a7c7463ae47d46bc7f091665f1893656003";
  model::v1::SourceClaim ofac = testing::Claim("ofac_sdn", address, "Unknown", "TORNADO CASH",
                                               "delisted", "DATASET_FORMAT_OFAC_SDN");
  ofac.mutable_record()->set_note("delisted from the OFAC SDN list; added 2022-08-08");
  ofac.mutable_record()->add_tags("OFAC delisted");
  *e.add_claims() = ofac;
  *e.add_claims() = testing::Claim("etherscan_labels", address, "Sanctioned", "TORNADO CASH",
                                   "ofac-sanctions-lists", "DATASET_FORMAT_ETHERSCAN_LABELS");
  common::v1::AddressRecord* m = e.mutable_merged();
  m->set_address(address);
  m->set_name("TORNADO CASH");
  m->set_label("Unknown");
  m->set_original_label("delisted");
  m->set_note(ofac.record().note());
  m->add_tags("OFAC delisted");
  e.add_conflicts(
      "label: Sanctioned (etherscan_labels) overruled by OFAC (ofac_sdn: delisted); only OFAC "
      "decides sanctions → Unknown");
  return e;
}

TEST(BuildPredictionTest, DelistingSaysOfacNoLongerListsItAndWhySanctionedIsOverruled) {
  model::v1::KnowledgeEntry e = DelistedEntry();
  inference::v1::PredictResponse p = BuildPrediction(Parse(e.merged().address()), &e, "m");
  EXPECT_EQ(p.label(), "Unknown");
  EXPECT_EQ(p.risk_level(), common::v1::RISK_LEVEL_MEDIUM);
  EXPECT_EQ(p.description(),
            "Address \"TORNADO CASH\" carries no risk label. OFAC no longer lists it as "
            "sanctioned (ofac_sdn: delisted from the OFAC SDN list; added 2022-08-08). The "
            "Sanctioned label from etherscan_labels is overruled: only OFAC decides sanctions. "
            "Tags: OFAC delisted.");
  EXPECT_THAT(p.next_steps(), Contains(HasSubstr("It was on the OFAC sanctions list")));
  ASSERT_THAT(p.evidence(), SizeIs(2));
  EXPECT_FALSE(p.evidence(0).overruled());
  EXPECT_TRUE(p.evidence(1).overruled());
}

TEST(BuildPredictionTest, AfterTheSanctionsRuleTheMostSevereRemainingLabelIsNamed) {
  model::v1::KnowledgeEntry e = DelistedEntry();
  const std::string address = e.merged().address();
  *e.add_claims() = testing::Claim("forta", address, "Phish / Hack", "", "phish-hack",
                                   "DATASET_FORMAT_FORTA_PHISHING_SCAMS");
  *e.add_claims() = testing::Claim("cryptoscamdb", address, "Scam", "", "Scamming",
                                   "DATASET_FORMAT_CRYPTOSCAMDB");
  e.mutable_merged()->set_label("Phish / Hack");
  e.mutable_merged()->set_note("");
  e.clear_conflicts();
  e.add_conflicts("label: Phish / Hack (forta) vs Scam (cryptoscamdb) → Phish / Hack");
  e.add_conflicts(
      "label: Sanctioned (etherscan_labels) overruled by OFAC (ofac_sdn: delisted); only OFAC "
      "decides sanctions → Phish / Hack");
  inference::v1::PredictResponse p = BuildPrediction(Parse(address), &e, "m");
  EXPECT_EQ(p.description(),
            "Address \"TORNADO CASH\" is reported for phishing or hacking according to forta. "
            "OFAC no longer lists it as sanctioned (ofac_sdn: delisted from the OFAC SDN list; "
            "added 2022-08-08). The Sanctioned label from etherscan_labels is overruled: only "
            "OFAC decides sanctions. Sources disagree on the label: Phish / Hack (forta) is "
            "reported over Scam (cryptoscamdb) as the most severe of the labels left.");
  EXPECT_THAT(p.next_steps(0), HasSubstr("Do not send funds"));
  ASSERT_THAT(p.evidence(), SizeIs(4));
  EXPECT_FALSE(p.evidence(0).overruled());
  EXPECT_TRUE(p.evidence(1).overruled());
  EXPECT_FALSE(p.evidence(2).overruled());
  EXPECT_TRUE(p.evidence(3).overruled());
}

TEST(BuildPredictionTest, EntryThePolicyDoesNotReproduceOnlyCountsItsConflicts) {
  // A hand-made entry whose notes miss the name conflict its claims imply: the description
  // claims nothing about the conflicts beyond their number.
  model::v1::KnowledgeEntry e = testing::SanctionedEntry();
  e.mutable_conflicts()->RemoveLast();
  inference::v1::PredictResponse p = BuildPrediction(Parse(e.merged().address()), &e, "m");
  EXPECT_EQ(p.description(),
            "Address \"LAZARUS GROUP\" is on a sanctions list according to ofac_sdn. Its sources "
            "disagree: the conflict policy settled 1 conflict when the model was built (listed "
            "under conflicts).");
  EXPECT_TRUE(p.evidence(1).overruled());
}

TEST(BuildPredictionTest, AppendsTheSourceNoteAsASentence) {
  model::v1::KnowledgeEntry e = testing::SanctionedEntry();
  e.mutable_merged()->set_note("on the OFAC SDN list since 2022-04-14");
  inference::v1::PredictResponse p = BuildPrediction(Parse(e.merged().address()), &e, "m");
  EXPECT_THAT(p.description(), HasSubstr(". On the OFAC SDN list since 2022-04-14."));
}

TEST(BuildPredictionTest, EvidenceNamesEveryFieldASourceContributed) {
  model::v1::KnowledgeEntry e = testing::SanctionedEntry();
  (*e.mutable_field_sources())["tags"] = "ofac_sdn, etherscan_labels";
  inference::v1::PredictResponse p = BuildPrediction(Parse(e.merged().address()), &e, "m");
  EXPECT_THAT(p.evidence(0).fields(), ElementsAre("label", "name", "tags"));
  EXPECT_THAT(p.evidence(1).fields(), ElementsAre("tags"));
}

TEST(BuildPredictionTest, UnknownAddressSaysSoPlainly) {
  inference::v1::PredictResponse p =
      BuildPrediction(Parse("0x0000000000000000000000000000000000000001"), nullptr, "m");
  EXPECT_EQ(p.label(), "Unknown");
  EXPECT_FALSE(p.known());
  EXPECT_EQ(p.risk_level(), common::v1::RISK_LEVEL_UNSPECIFIED);
  EXPECT_THAT(p.description(), HasSubstr("none of the datasets model m was trained on lists it"));
  EXPECT_TRUE(p.evidence().empty());
  EXPECT_TRUE(p.name().empty());
  EXPECT_THAT(p.next_steps(0), HasSubstr("treat it as unverified"));
}

}  // namespace
}  // namespace ethscan::inference

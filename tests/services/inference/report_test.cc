#include "services/inference/report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/inference/knowledge_fixture.h"

namespace ethscan::inference {
namespace {

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
  training::v1::KnowledgeEntry e;
  e.mutable_merged()->add_tags("gambling");
  EXPECT_EQ(RiskOf("Unknown", &e).level, common::v1::RISK_LEVEL_LOW);
  e.mutable_merged()->add_tags("Tornado-Cash");
  EXPECT_EQ(RiskOf("Unknown", &e).level, common::v1::RISK_LEVEL_MEDIUM);
}

TEST(BuildPredictionTest, LegitTokenHasEveryField) {
  training::v1::KnowledgeEntry e = testing::UniswapEntry();
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
  training::v1::KnowledgeEntry e = testing::SanctionedEntry();
  inference::v1::PredictResponse p = BuildPrediction(Parse(e.merged().address()), &e, "m");
  EXPECT_EQ(p.label(), "Sanctioned");
  EXPECT_EQ(p.risk_level(), common::v1::RISK_LEVEL_CRITICAL);
  EXPECT_THAT(p.description(), HasSubstr("is on a sanctions list according to ofac_sdn"));
  EXPECT_THAT(p.description(), HasSubstr("Sources disagree (1 conflict)"));
  EXPECT_THAT(p.next_steps(0), HasSubstr("Do not send funds"));
  ASSERT_THAT(p.evidence(), SizeIs(2));
  EXPECT_FALSE(p.evidence(0).overruled());
  EXPECT_TRUE(p.evidence(1).overruled());
  EXPECT_EQ(p.evidence(1).source(), "etherscan_labels");
  EXPECT_THAT(p.conflicts(), SizeIs(1));
}

TEST(BuildPredictionTest, AppendsTheSourceNoteAsASentence) {
  training::v1::KnowledgeEntry e = testing::SanctionedEntry();
  e.mutable_merged()->set_note("on the OFAC SDN list since 2022-04-14");
  inference::v1::PredictResponse p = BuildPrediction(Parse(e.merged().address()), &e, "m");
  EXPECT_THAT(p.description(), HasSubstr(". On the OFAC SDN list since 2022-04-14."));
}

TEST(BuildPredictionTest, EvidenceNamesEveryFieldASourceContributed) {
  training::v1::KnowledgeEntry e = testing::SanctionedEntry();
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

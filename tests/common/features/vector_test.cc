#include "common/features/vector.h"

#include <cmath>

#include "common/features/schema.h"
#include "gtest/gtest.h"

namespace ethscan::features {
namespace {

common::v1::AddressRecord Record(const std::string& label, const std::string& tag) {
  common::v1::AddressRecord record;
  record.set_label(label);
  if (!tag.empty()) record.add_tags(tag);
  common::v1::Feature* sent = record.add_features();
  sent->set_name("Sent tnx");
  sent->set_number(5);
  common::v1::Feature* erc20 = record.add_features();
  erc20->set_name("Total ERC20 tnxs");
  erc20->set_number(12);
  common::v1::Feature* token = record.add_features();
  token->set_name("ERC20 most sent token type");
  token->set_text("Blockwell say NOTSAFU");
  return record;
}

TEST(FeatureVectorTest, PlacesEachNumberAtItsSchemaPositionAndLeavesTheRestMissing) {
  std::vector<float> v = DenseVector(Record("Scam", ""));
  ASSERT_EQ(v.size(), NumericFeatures().size());
  EXPECT_EQ(v[*NumericIndexOf("sent_tnx")], 5);
  EXPECT_EQ(v[*NumericIndexOf("erc20_total_tnxs")], 12);
  EXPECT_TRUE(std::isnan(v[*NumericIndexOf("received_tnx")]));  // missing, never 0
  size_t present = 0;
  for (float x : v) present += std::isnan(x) ? 0 : 1;
  EXPECT_EQ(present, 2u);
}

TEST(FeatureVectorTest, TargetsFlaggedAndNotFlaggedOnly) {
  EXPECT_EQ(TargetOf(Record("Scam", "")), Target::kFlagged);
  EXPECT_EQ(TargetOf(Record("Phish / Hack", "")), Target::kFlagged);
  EXPECT_EQ(TargetOf(Record("Unknown", "not flagged")), Target::kNotFlagged);
  EXPECT_EQ(TargetOf(Record("Unknown", "")), Target::kNone);
  EXPECT_EQ(TargetOf(Record("Legit", "")), Target::kNone);
  common::v1::AddressRecord no_features;
  no_features.set_label("Scam");
  EXPECT_EQ(TargetOf(no_features), Target::kNone);
}

TEST(FeatureVectorTest, NamedValuesAcceptCanonicalAndSourceNamesAndRefuseOthers) {
  absl::StatusOr<std::vector<float>> v =
      DenseVector({{"sent_tnx", 3}, {"max value received ", 0.5}});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)[*NumericIndexOf("sent_tnx")], 3);
  EXPECT_EQ((*v)[*NumericIndexOf("max_value_received")], 0.5f);
  EXPECT_EQ(DenseVector({{"no such feature", 1}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DenseVector({{"erc20_most_sent_token_type", 1}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DenseVector({{"sent_tnx", std::nan("")}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ethscan::features

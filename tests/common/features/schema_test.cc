#include "common/features/schema.h"

#include <fstream>
#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/test_paths.h"

namespace ethscan::features {
namespace {

TEST(FeatureSchemaTest, HasTheKaggleLayoutsFeaturesEachNamedOnce) {
  EXPECT_EQ(Schema().size(), 47u);
  EXPECT_EQ(NumericFeatures().size(), 45u);
  EXPECT_EQ(NumericFeatureCount(/*erc20=*/false), 22u);
  std::set<std::string> names;
  for (const FeatureDef& def : Schema()) {
    EXPECT_TRUE(names.insert(std::string(def.name)).second) << def.name;
    EXPECT_FALSE(def.definition.empty()) << def.name;
    EXPECT_FALSE(def.unit.empty()) << def.name;
  }
  // The transaction block comes first, so the first 22 columns are what both sets share.
  for (size_t i = 0; i < 22; ++i) EXPECT_EQ(NumericFeatures()[i]->block, Block::kTransactions);
  EXPECT_EQ(NumericIndexOf("sent_tnx"), 3u);
  EXPECT_EQ(NumericIndexOf("no_such_feature"), std::nullopt);
}

TEST(FeatureSchemaTest, ResolvesTheSourcesColumnQuirks) {
  EXPECT_EQ(Schema()[*SchemaIndexOfColumn("max value received ")].name, "max_value_received");
  EXPECT_EQ(Schema()[*SchemaIndexOfColumn(" Total ERC20 tnxs")].name, "erc20_total_tnxs");
  EXPECT_EQ(Schema()[*SchemaIndexOfColumn(" ERC20 uniq sent addr.1")].name,
            "erc20_uniq_sent_contract_addr");
  EXPECT_EQ(
      Schema()[*SchemaIndexOfColumn("total transactions (including tnx to create contract")].name,
      "total_transactions");
  EXPECT_EQ(
      Schema()[*SchemaIndexOfColumn("total transactions (including tnx to create contract)")].name,
      "total_transactions");
  EXPECT_EQ(Schema()[*SchemaIndexOfColumn("SENT_TNX")].name, "sent_tnx");
  EXPECT_EQ(SchemaIndexOfColumn("Address"), std::nullopt);
  EXPECT_EQ(SchemaIndexOfColumn("FLAG"), std::nullopt);
  EXPECT_EQ(SchemaIndexOfColumn("Index"), std::nullopt);
}

std::vector<std::string> Header(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return absl::StrSplit(line, ',');
}

TEST(FeatureSchemaTest, EveryFeatureColumnOfBothFeatureFilesMapsOntoIt) {
  const std::string data = testing::SharedDataDir();
  if (data.empty()) GTEST_SKIP() << "../shared/data not found beside the checkout";
  std::set<size_t> kaggle;
  for (const std::string& column : Header(data + "/kaggle_fraud/transaction_dataset.csv")) {
    if (column == "Index" || column == "Address" || column == "FLAG") continue;
    std::optional<size_t> index = SchemaIndexOfColumn(column);
    ASSERT_TRUE(index.has_value()) << "Kaggle column \"" << column << "\"";
    EXPECT_TRUE(kaggle.insert(*index).second) << "two columns map to " << Schema()[*index].name;
  }
  EXPECT_EQ(kaggle.size(), 47u);
  std::set<size_t> phish;
  for (const std::string& column : Header(data + "/etherscan_phish_features/address_data_e.csv")) {
    if (column == "Address" || column == "FLAG") continue;
    std::optional<size_t> index = SchemaIndexOfColumn(column);
    ASSERT_TRUE(index.has_value()) << "phish-feature column \"" << column << "\"";
    EXPECT_EQ(Schema()[*index].block, Block::kTransactions) << column;
    phish.insert(*index);
  }
  EXPECT_EQ(phish.size(), 22u);
}

}  // namespace
}  // namespace ethscan::features

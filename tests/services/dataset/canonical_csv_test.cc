#include "services/dataset/canonical_csv.h"

#include <cstdlib>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ethscan::dataset {
namespace {

using ::testing::ElementsAre;

common::v1::Feature* AddNumber(common::v1::AddressRecord* record, const std::string& name,
                               double value) {
  common::v1::Feature* f = record->add_features();
  f->set_name(name);
  f->set_number(value);
  return f;
}

TEST(CanonicalCsvTest, QuotesOnlyWhatRfc4180Needs) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(CsvField(" padded "), "\" padded \"");
}

TEST(CanonicalCsvTest, NumbersReadBackExactly) {
  EXPECT_EQ(FormatFeatureNumber(0.5), "0.5");
  EXPECT_EQ(FormatFeatureNumber(100), "100");
  EXPECT_EQ(FormatFeatureNumber(-3), "-3");
  EXPECT_EQ(FormatFeatureNumber(1.00002e12), "1000020000000");
  EXPECT_EQ(FormatFeatureNumber(3.8e-05), "3.8e-05");
  EXPECT_EQ(FormatFeatureNumber(1e300), "1e+300");
  for (double v : {0.1, 1.0 / 3, 5151.676667, 2.5e-310, 123456789.123456789}) {
    EXPECT_EQ(std::strtod(FormatFeatureNumber(v).c_str(), nullptr), v) << v;
  }
  EXPECT_EQ(FormatFeatureNumber(std::numeric_limits<double>::infinity()), "inf");
}

TEST(CanonicalCsvTest, HeaderAndRowsWithFeatureColumnsInFirstAppearanceOrder) {
  common::v1::AddressRecord first;
  first.set_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  first.set_chain_id(1);
  first.set_name("Akropolis, (AKRO)");
  first.set_account_type("Smart Contract");
  first.set_contract_type("Token");
  first.set_entity("DeFi");
  first.set_label("Legit");
  first.add_tags("DeFi");
  first.add_tags("Token Contract");
  first.set_original_label("listed");
  first.set_source("uniswap");
  first.set_note("a \"note\"");
  first.set_line(2);
  AddNumber(&first, "Sent tnx", 5);
  common::v1::AddressRecord second;
  second.set_address("0x8888801aF4d980682e47f1A9036e589479e835C5");
  second.set_chain_id(1);
  second.set_label("Scam");
  second.set_line(3);
  AddNumber(&second, "max value received", 0.25);
  AddNumber(&second, "Sent tnx", 7);
  common::v1::Feature* text = second.add_features();
  text->set_name("ERC20 most sent token type");
  text->set_text("Blockwell, say");

  CanonicalCsvWriter writer;
  writer.AddFeatureNames(first);
  writer.AddFeatureNames(second);
  EXPECT_THAT(writer.feature_names(),
              ElementsAre("Sent tnx", "max value received", "ERC20 most sent token type"));
  EXPECT_EQ(writer.Header(),
            "address,chain_id,name,account_type,contract_type,entity,label,tags,original_label,"
            "source,note,line,feature:Sent tnx,feature:max value received,"
            "feature:ERC20 most sent token type\n");
  EXPECT_EQ(writer.Row(first),
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed,1,\"Akropolis, (AKRO)\",Smart Contract,"
            "Token,DeFi,Legit,DeFi;Token Contract,listed,uniswap,\"a \"\"note\"\"\",2,5,,\n");
  EXPECT_EQ(writer.Row(second),
            "0x8888801aF4d980682e47f1A9036e589479e835C5,1,,,,,Scam,,,,,3,7,0.25,"
            "\"Blockwell, say\"\n");
}

TEST(CanonicalCsvTest, FeatureNamesNeedingQuotesAreQuotedInTheHeader) {
  common::v1::AddressRecord record;
  AddNumber(&record, "total transactions (including tnx to create contract", 1);
  AddNumber(&record, "a,b", 2);
  CanonicalCsvWriter writer;
  writer.AddFeatureNames(record);
  EXPECT_EQ(writer.Header().substr(writer.Header().find(",line,") + 6),
            "feature:total transactions (including tnx to create contract,\"feature:a,b\"\n");
}

}  // namespace
}  // namespace ethscan::dataset

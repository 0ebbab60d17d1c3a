#include "tools/cli/feature_csv.h"

#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/features/schema.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::cli {
namespace {

using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kA[] = "0x00009277775ac7d0d59eaad8fee3d10ac6c805e8";
constexpr char kB[] = "0x0002b44ddb1476db43c868bd494422ee4c136fed";

absl::StatusOr<std::unique_ptr<FeatureCsvReader>> Reader(const std::string& text) {
  return FeatureCsvReader::FromStream(std::make_unique<std::istringstream>(text), "f.csv");
}

// Every row, and every skipped row as "line: reason".
struct ReadAll {
  std::vector<FeatureRow> rows;
  std::vector<std::string> skipped;
  absl::Status status;
};

ReadAll Drain(FeatureCsvReader& reader) {
  ReadAll all;
  while (true) {
    absl::StatusOr<std::optional<FeatureRow>> row = reader.Next([&all](const SkippedRow& s) {
      all.skipped.push_back(absl::StrCat(s.line, ": ", s.reason));
    });
    if (!row.ok()) {
      all.status = row.status();
      return all;
    }
    if (!row->has_value()) return all;
    all.rows.push_back(**std::move(row));
  }
}

TEST(FeatureCsvReaderTest, MapsKaggleColumnsAndIgnoresFlagIndexAndText) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<FeatureCsvReader> reader,
      Reader(absl::StrCat("Index,Address,FLAG,Sent tnx,max value received , ERC20 most sent "
                          "token type\n1,",
                          kA, ",1,3,0.5,Cofoundit\n")));
  EXPECT_EQ(reader->feature_column_count(), 2u);
  EXPECT_THAT(reader->unknown_columns(), IsEmpty());
  ReadAll all = Drain(*reader);
  ASSERT_TRUE(all.status.ok()) << all.status;
  ASSERT_EQ(all.rows.size(), 1u);
  EXPECT_EQ(all.rows[0].line, 2u);
  EXPECT_EQ(all.rows[0].address, kA);
  EXPECT_THAT(all.rows[0].features,
              ElementsAre(Pair("sent_tnx", 3.0), Pair("max_value_received", 0.5)));
}

TEST(FeatureCsvReaderTest, ReadsACanonicalExport) {
  // `ethscan datasets export --format csv`: record columns, then "feature:<source column>".
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureCsvReader> reader,
                       Reader(absl::StrCat("address,chain_id,name,label,tags,line,feature:Sent tnx,"
                                           "feature:max value received \n",
                                           kA, ",1,,Scam,,2,3,0.5\n")));
  EXPECT_EQ(reader->feature_column_count(), 2u);
  EXPECT_THAT(reader->unknown_columns(), IsEmpty());
  ReadAll all = Drain(*reader);
  ASSERT_EQ(all.rows.size(), 1u);
  EXPECT_THAT(all.rows[0].features,
              ElementsAre(Pair("sent_tnx", 3.0), Pair("max_value_received", 0.5)));
}

TEST(FeatureCsvReaderTest, EmptyAndNanCellsAreMissingNotZero) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<FeatureCsvReader> reader,
      Reader(absl::StrCat("address,Sent tnx,Received Tnx,total Ether sent\n", kA, ",,  7 ,NaN\n")));
  ReadAll all = Drain(*reader);
  ASSERT_EQ(all.rows.size(), 1u);
  EXPECT_THAT(all.rows[0].features, ElementsAre(Pair("received_tnx", 7.0)));
}

TEST(FeatureCsvReaderTest, FeaturesComeInSchemaOrderWhateverTheColumnOrder) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureCsvReader> reader,
                       Reader(absl::StrCat("Received Tnx,sent_tnx,Address\n2,1,", kA, "\n")));
  ReadAll all = Drain(*reader);
  ASSERT_EQ(all.rows.size(), 1u);
  EXPECT_THAT(all.rows[0].features, ElementsAre(Pair("sent_tnx", 1.0), Pair("received_tnx", 2.0)));
}

TEST(FeatureCsvReaderTest, BadRowsAreSkippedWithLineAndColumn) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureCsvReader> reader,
                       Reader(absl::StrCat("Address,Sent tnx,Received Tnx\n",  // line 1
                                           kA, ",1,2\n",                       // 2: fine
                                           "0x1234,1,2\n",                     // 3: short address
                                           kB, ",abc,2\n",                     // 4: not a number
                                           kB, ",inf,2\n",                     // 5: not finite
                                           kB, ",,\n",                         // 6: no value
                                           ",1,2\n",                           // 7: no address
                                           kB, ",1\n",                         // 8: short row
                                           "\"", kB, "\",\"4\",5\n")));        // 9: fine, quoted
  ReadAll all = Drain(*reader);
  ASSERT_TRUE(all.status.ok()) << all.status;
  ASSERT_EQ(all.rows.size(), 2u);
  EXPECT_EQ(all.rows[1].line, 9u);
  EXPECT_EQ(all.rows[1].address, kB);
  ASSERT_EQ(all.skipped.size(), 6u);
  EXPECT_THAT(all.skipped[0], HasSubstr("3: column \"Address\": "));
  EXPECT_EQ(all.skipped[1], "4: column \"Sent tnx\": \"abc\" is not a number");
  EXPECT_EQ(all.skipped[2], "5: column \"Sent tnx\": \"inf\" is not a finite number");
  EXPECT_EQ(all.skipped[3], "6: no feature value (every feature cell is empty)");
  EXPECT_EQ(all.skipped[4], "7: column \"Address\" is empty");
  EXPECT_EQ(all.skipped[5], "8: 2 fields, the header has 3");
}

TEST(FeatureCsvReaderTest, MixedCaseAddressMustCarryItsChecksum) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureCsvReader> reader,
                       Reader("Address,Sent tnx\n"
                              "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984,1\n"
                              "0x1F9840a85d5aF5bf1D1762F925BDADdC4201F984,1\n"));
  ReadAll all = Drain(*reader);
  ASSERT_EQ(all.rows.size(), 1u);
  EXPECT_EQ(all.rows[0].address, "0x1f9840a85d5af5bf1d1762f925bdaddc4201f984");
  ASSERT_EQ(all.skipped.size(), 1u);
  EXPECT_THAT(all.skipped[0], HasSubstr("checksum"));
}

TEST(FeatureCsvReaderTest, PandasIndexColumnWithoutNameIsIgnored) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<FeatureCsvReader> reader,
      Reader(absl::StrCat(",Index,Address,Unnamed: 3,Sent tnx\n0,1,", kA, ",x,5\n")));
  EXPECT_THAT(reader->unknown_columns(), IsEmpty());
  ReadAll all = Drain(*reader);
  ASSERT_EQ(all.rows.size(), 1u);
  EXPECT_THAT(all.rows[0].features, ElementsAre(Pair("sent_tnx", 5.0)));
}

TEST(FeatureCsvReaderTest, UnknownColumnsAreListed) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureCsvReader> reader,
                       Reader(absl::StrCat("Address,Sent tnx,colour\n", kA, ",1,red\n")));
  EXPECT_THAT(reader->unknown_columns(), ElementsAre("colour"));
  EXPECT_EQ(Drain(*reader).rows.size(), 1u);
}

TEST(FeatureCsvReaderTest, HeaderProblemsAreErrors) {
  EXPECT_THAT(Reader("Sent tnx\n1\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no Address column")));
  EXPECT_THAT(Reader("Address,FLAG,colour\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no numeric column")));
  EXPECT_THAT(
      Reader("Address,Sent tnx,sent_tnx\n").status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("columns \"Sent tnx\" and \"sent_tnx\" both hold feature sent_tnx")));
  EXPECT_THAT(Reader("").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty file")));
  EXPECT_THAT(FeatureCsvReader::Open("/nonexistent/f.csv").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/f.csv")));
}

TEST(FeatureCsvReaderTest, StructuralErrorComesAfterTheRowsBeforeIt) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureCsvReader> reader,
                       Reader(absl::StrCat("Address,Sent tnx\n", kA, ",1\n", kB, ",2\"x\n")));
  ReadAll all = Drain(*reader);
  EXPECT_EQ(all.rows.size(), 1u);
  EXPECT_THAT(all.status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f.csv line 3")));
}

TEST(FeatureCsvReaderTest, RowsSpanningChunksAreReadWhole) {
  std::string text = "Address,Sent tnx,Received Tnx\n";
  for (int i = 0; i < 5000; ++i) absl::StrAppend(&text, kA, ",", i, ",", i % 7, "\n");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureCsvReader> reader, Reader(text));
  ReadAll all = Drain(*reader);
  ASSERT_TRUE(all.status.ok()) << all.status;
  ASSERT_EQ(all.rows.size(), 5000u);
  EXPECT_EQ(all.rows[4999].line, 5001u);
  EXPECT_THAT(all.rows[4999].features,
              ElementsAre(Pair("sent_tnx", 4999.0), Pair("received_tnx", 4999 % 7)));
}

TEST(FeatureCsvReaderTest, ReadsTheSharedKaggleAndPhishFiles) {
  const std::string data = ethscan::testing::SharedDataDir();
  if (data.empty()) GTEST_SKIP() << "shared data folder (../shared/data) is absent";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureCsvReader> kaggle,
                       FeatureCsvReader::Open(data + "/kaggle_fraud/transaction_dataset.csv"));
  EXPECT_THAT(kaggle->unknown_columns(), IsEmpty());
  EXPECT_EQ(kaggle->feature_column_count(), features::NumericFeatureCount());
  ReadAll k = Drain(*kaggle);
  ASSERT_TRUE(k.status.ok()) << k.status;
  EXPECT_EQ(k.rows.size() + k.skipped.size(), 8363u);
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<FeatureCsvReader> phish,
      FeatureCsvReader::Open(data + "/etherscan_phish_features/address_data_e.csv"));
  EXPECT_THAT(phish->unknown_columns(), IsEmpty());
  EXPECT_EQ(phish->feature_column_count(), features::NumericFeatureCount(/*erc20=*/false));
  ReadAll p = Drain(*phish);
  ASSERT_TRUE(p.status.ok()) << p.status;
  // One address of the file is mixed case with a wrong EIP-55 checksum, which the inference
  // service refuses too.
  EXPECT_EQ(p.rows.size(), 3687u);
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_THAT(p.skipped[0], HasSubstr("1173: column \"Address\": bad EIP-55 checksum"));
}

}  // namespace
}  // namespace ethscan::cli

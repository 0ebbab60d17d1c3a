#include "tools/cli/mapping_file.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::cli {
namespace {

using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MappingFileTest, ParsesProtoAndCamelCaseFieldNames) {
  ASSERT_OK_AND_ASSIGN(dataset::v1::ColumnMapping mapping, ParseColumnMapping("m.json", R"({
    "address_column": " Address",
    "label": {"value": "Scam"},
    "accountType": {"column": "is_contract", "values": {"True": "Smart Contract", "False": "EOA"}},
    "features": [{"column": "Sent tnx"}, {"column": "ERC20 most sent token type", "kind": "KIND_TEXT"}],
    "missing_values": ["None"],
    "strictChecksum": true
  })"));
  EXPECT_EQ(mapping.address_column(), " Address");
  EXPECT_EQ(mapping.label().value(), "Scam");
  EXPECT_EQ(mapping.account_type().values().at("True"), "Smart Contract");
  ASSERT_EQ(mapping.features_size(), 2);
  EXPECT_EQ(mapping.features(1).kind(), dataset::v1::FeatureColumn::KIND_TEXT);
  EXPECT_THAT(mapping.missing_values(), ElementsAre("None"));
  EXPECT_TRUE(mapping.strict_checksum());
}

TEST(MappingFileTest, SyntaxErrorNamesLineAndColumn) {
  EXPECT_THAT(ParseColumnMapping("m.json", "{\n  \"address_column\": \"a\",\n}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.json:3:1: not valid JSON: syntax error while parsing object "
                                 "key - unexpected '}'; expected string literal")));
  EXPECT_THAT(ParseColumnMapping("m.json", ""), StatusIs(absl::StatusCode::kInvalidArgument,
                                                         HasSubstr("m.json:1:1: not valid JSON")));
}

TEST(MappingFileTest, UnknownFieldIsNamedWithTheKnownOnes) {
  EXPECT_THAT(ParseColumnMapping("m.json", R"({"adress_column": "a"})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.json: not a ColumnMapping: unknown field \"adress_column\" "
                                 "in a ColumnMapping (its fields: address_column, name, "
                                 "account_type, contract_type, entity, label, tags, note, "
                                 "features, missing_values, strict_checksum)")));
  EXPECT_THAT(ParseColumnMapping("m.json", R"({"address_column": "a", "label": {"colum": "x"}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown field \"colum\" in \"label\" (its fields: column, "
                                 "value, values, separator)")));
}

TEST(MappingFileTest, WrongValueTypeNamesTheField) {
  EXPECT_THAT(ParseColumnMapping("m.json", R"({"address_column": 5})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.json: not a ColumnMapping: (address_column)")));
  EXPECT_THAT(
      ParseColumnMapping(
          "m.json", R"({"address_column": "a", "features": [{"column": "x", "kind": "NUMBER"}]})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
  EXPECT_THAT(ParseColumnMapping("m.json", "[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a ColumnMapping")));
}

TEST(MappingFileTest, RequiresAddressColumnAndLabel) {
  EXPECT_THAT(ParseColumnMapping("m.json", R"({"label": {"value": "Scam"}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.json: \"address_column\" is required")));
  EXPECT_THAT(ParseColumnMapping("m.json",
                                 R"({"address_column": "a", "label": {"values": {"x": "Scam"}}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.json: \"label\" needs a \"column\" or a constant \"value\"")));
}

TEST(MappingFileTest, ReadsFilesAndNamesUnreadableOnes) {
  const std::string dir = ethscan::testing::MakeTempDir("ethscan-mapping-test");
  const std::string path = dir + "/m.json";
  std::ofstream(path) << R"({"address_column": "a", "label": {"column": "l"}})";
  ASSERT_OK_AND_ASSIGN(dataset::v1::ColumnMapping mapping, ReadColumnMappingFile(path));
  EXPECT_EQ(mapping.label().column(), "l");
  EXPECT_THAT(
      ReadColumnMappingFile(dir + "/missing.json"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot read mapping file " + dir +
                                                      "/missing.json: No such file or directory")));
  EXPECT_THAT(ReadColumnMappingFile(dir),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is a directory")));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ethscan::cli

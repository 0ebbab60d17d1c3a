#include "services/dataset/column_mapping.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/eth/address.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/dataset/csv_reader.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kWeth[] = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2";
constexpr char kDai[] = "0x6B175474E89094C44Da98b954EedeAC495271d0F";
// Printed by Etherscan with a wrong EIP-55 checksum.
constexpr char kBadChecksum[] = "0xf299f6B031Cc4dd1BfcB86A5e5590f99336a29c6";

v1::ColumnMapping Mapping(const std::string& text) {
  v1::ColumnMapping mapping;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &mapping)) << text;
  return mapping;
}

std::string Checksum(absl::string_view address) {
  return eth::Address::Parse(address, eth::Address::ChecksumPolicy::kLenient)->ToChecksumHex();
}

// Reads a CSV with the real reader and maps every row through one mapper.
class Rows : public CsvReader::Handler {
 public:
  absl::Status OnHeader(uint64_t, const std::vector<std::string>& columns) override {
    header = columns;
    return absl::OkStatus();
  }
  absl::Status OnRow(const CsvRow& r) override {
    rows.push_back(r);
    return absl::OkStatus();
  }
  absl::Status OnMalformedRow(uint64_t, absl::string_view reason) override {
    return absl::InternalError(reason);
  }
  std::vector<std::string> header;
  std::vector<CsvRow> rows;
};

Rows Read(absl::string_view csv) {
  Rows parsed;
  CsvReader reader(CsvReaderOptions{"m.csv", 1 << 20}, &parsed);
  absl::Status status = reader.Feed(csv);
  if (status.ok()) status = reader.Finish();
  EXPECT_THAT(status, IsOk());
  return parsed;
}

MapperContext Context(uint64_t chain_id = 1) { return MapperContext{"my-set", chain_id, "m.csv"}; }

absl::StatusOr<std::unique_ptr<RecordMapper>> Compile(const v1::ColumnMapping& mapping,
                                                      absl::string_view csv) {
  return ColumnMapper::Create(mapping, Read(csv).header, Context(), "column_mapping.");
}

// Maps every row of `csv` through `mapping`; the mapping must compile.
std::vector<LineResult> MapAll(const v1::ColumnMapping& mapping, absl::string_view csv) {
  Rows parsed = Read(csv);
  absl::StatusOr<std::unique_ptr<RecordMapper>> mapper =
      ColumnMapper::Create(mapping, parsed.header, Context(), "column_mapping.");
  EXPECT_TRUE(mapper.ok()) << mapper.status();
  std::vector<LineResult> results;
  if (!mapper.ok()) return results;
  for (const CsvRow& row : parsed.rows) {
    results.emplace_back();
    (*mapper)->Map(row, &results.back());
  }
  return results;
}

LineResult MapOne(const v1::ColumnMapping& mapping, absl::string_view csv) {
  std::vector<LineResult> results = MapAll(mapping, csv);
  EXPECT_EQ(results.size(), 1u);
  return results.empty() ? LineResult() : results[0];
}

const char kWalletMapping[] = R"pb(
  address_column: "wallet"
  label {
    column: "label"
    values { key: "phishing" value: "Phish / Hack" }
    values { key: "scam" value: "Scam" }
    values { key: "ok" value: "Legit" }
  }
  name { column: "owner" }
  account_type {
    column: "is_contract"
    values { key: "true" value: "Smart Contract" }
    values { key: "false" value: "EOA" }
  }
  contract_type { value: "Token" }
  entity { column: "project" value: "unknown project" }
  tags { column: "tags" separator: "|" }
  note { column: "notes" }
)pb";

TEST(ColumnMappingTest, MapsEveryFieldFromColumnsConstantsAndDefaults) {
  LineResult result = MapOne(
      Mapping(kWalletMapping),
      absl::StrCat(" Wallet ,LABEL,owner,is_contract,project,tags,notes,ignored\n", kWeth,
                   ", Phishing ,Wrapped Ether,TRUE,,defi| token||,seen in a drainer kit,x\n"));
  EXPECT_FALSE(result.invalid);
  EXPECT_THAT(result.issues, IsEmpty());
  ASSERT_EQ(result.records.size(), 1u);
  const common::v1::AddressRecord& record = result.records[0];
  EXPECT_EQ(record.address(), kWeth);
  EXPECT_EQ(record.label(), "Phish / Hack");
  EXPECT_EQ(record.original_label(), "Phishing");
  EXPECT_EQ(record.name(), "Wrapped Ether");
  EXPECT_EQ(record.account_type(), "Smart Contract");
  EXPECT_EQ(record.contract_type(), "Token");
  // The empty cell takes the default.
  EXPECT_EQ(record.entity(), "unknown project");
  EXPECT_THAT(record.tags(), ElementsAre("defi", "token"));
  EXPECT_EQ(record.note(), "seen in a drainer kit");
  EXPECT_EQ(record.source(), "my-set");
  EXPECT_EQ(record.chain_id(), 1u);
  EXPECT_EQ(record.line(), 2u);
  EXPECT_THAT(record.features(), IsEmpty());
}

TEST(ColumnMappingTest, AnUntranslatedLabelMustBeAReportLabelAndGetsASuggestion) {
  const v1::ColumnMapping mapping = Mapping(R"pb(
    address_column: "address"
    label { column: "label" }
  )pb");
  std::vector<LineResult> results = MapAll(
      mapping,
      absl::StrCat("address,label\n", kWeth, ",phish / HACK\n", kDai, ",Phish\n", kDai, ",\n"));
  ASSERT_EQ(results.size(), 3u);
  ASSERT_EQ(results[0].records.size(), 1u);
  EXPECT_EQ(results[0].records[0].label(), "Phish / Hack");
  EXPECT_EQ(results[0].records[0].original_label(), "phish / HACK");

  EXPECT_TRUE(results[1].invalid);
  EXPECT_THAT(results[1].records, IsEmpty());
  ASSERT_EQ(results[1].issues.size(), 1u);
  EXPECT_EQ(results[1].issues[0].field(), "label");
  EXPECT_EQ(results[1].issues[0].line(), 3u);
  EXPECT_EQ(results[1].issues[0].file(), "m.csv");
  EXPECT_EQ(results[1].issues[0].severity(), v1::ValidationIssue::SEVERITY_ERROR);
  EXPECT_THAT(results[1].issues[0].reason(),
              AllOf(HasSubstr("\"Phish\" is not a report label"),
                    HasSubstr("did you mean \"Phish / Hack\"?"), HasSubstr("allowed: Unknown")));

  EXPECT_TRUE(results[2].invalid);
  EXPECT_THAT(results[2].issues[0].reason(), HasSubstr("empty label in column label"));
}

TEST(ColumnMappingTest, ATranslatedCellOutsideTheKeysIsAnErrorListingThem) {
  LineResult result = MapOne(Mapping(kWalletMapping),
                             absl::StrCat("wallet,label,owner,is_contract,project,tags,notes\n",
                                          kWeth, ",phish,x,maybe,,,\n"));
  EXPECT_TRUE(result.invalid);
  ASSERT_EQ(result.issues.size(), 2u);
  EXPECT_EQ(result.issues[0].field(), "label");
  EXPECT_EQ(result.issues[0].reason(),
            "unknown value \"phish\" in column label; the mapping allows ok, phishing, scam");
  EXPECT_EQ(result.issues[1].field(), "is_contract");
  EXPECT_THAT(result.issues[1].reason(), HasSubstr("the mapping allows false, true"));
}

TEST(ColumnMappingTest, EmptyCellsAreAbsentAndAnEmptyKeyCanTranslateThem) {
  const v1::ColumnMapping mapping = Mapping(R"pb(
    address_column: "address"
    label { value: "Scam" }
    account_type {
      column: "is_contract"
      values { key: "True" value: "Smart Contract" }
      values { key: "False" value: "EOA" }
    }
    name {
      column: "name"
      values { key: "" value: "(unnamed)" }
      values { key: "x" value: "X" }
    }
  )pb");
  LineResult result = MapOne(mapping, absl::StrCat("address,is_contract,name\n", kWeth, ",,\n"));
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].account_type(), "");
  EXPECT_EQ(result.records[0].name(), "(unnamed)");
  // A constant label is kept as written as the original label.
  EXPECT_EQ(result.records[0].label(), "Scam");
  EXPECT_EQ(result.records[0].original_label(), "Scam");
}

TEST(ColumnMappingTest, AnUntranslatedAccountTypeMustBeEoaOrSmartContract) {
  const v1::ColumnMapping mapping = Mapping(R"pb(
    address_column: "address"
    label { value: "Legit" }
    account_type { column: "type" }
  )pb");
  std::vector<LineResult> results = MapAll(
      mapping, absl::StrCat("address,type\n", kWeth, ",smart contract\n", kDai, ",contract\n"));
  ASSERT_EQ(results.size(), 2u);
  ASSERT_EQ(results[0].records.size(), 1u);
  EXPECT_EQ(results[0].records[0].account_type(), "Smart Contract");
  EXPECT_TRUE(results[1].invalid);
  EXPECT_THAT(results[1].issues[0].reason(), AllOf(HasSubstr("\"contract\" is not an account type"),
                                                   HasSubstr("did you mean \"Smart Contract\"?"),
                                                   HasSubstr("account_type.values")));
}

TEST(ColumnMappingTest, FeaturesParseDecimalsAndScientificNotationAndSkipMissingCells) {
  const v1::ColumnMapping mapping = Mapping(R"pb(
    address_column: "address"
    label { value: "Unknown" }
    features { column: "total ether received" }
    features { column: "min val sent" kind: KIND_NUMBER }
    features { column: "token" kind: KIND_TEXT missing_values: "0" }
    features { column: "count" }
    missing_values: "None"
  )pb");
  std::vector<LineResult> results =
      MapAll(mapping,
             absl::StrCat("address, total ether received ,min val sent,token,count\n",  //
                          kWeth, ",1.00002E+12,3.80E-05, OmiseGO ,0\n",                 //
                          kDai, ",, none ,0,-12.5\n",                                   //
                          kWeth, ",  ,0.0,None, \n"));
  ASSERT_EQ(results.size(), 3u);
  for (const LineResult& result : results) EXPECT_THAT(result.issues, IsEmpty());

  const auto& first = results[0].records[0].features();
  ASSERT_EQ(first.size(), 4);
  // Feature names are the header's spelling without the surrounding spaces.
  EXPECT_EQ(first[0].name(), "total ether received");
  EXPECT_DOUBLE_EQ(first[0].number(), 1.00002e12);
  EXPECT_EQ(first[1].name(), "min val sent");
  EXPECT_DOUBLE_EQ(first[1].number(), 3.8e-05);
  EXPECT_EQ(first[2].name(), "token");
  EXPECT_EQ(first[2].text(), "OmiseGO");
  // "0" is a missing value only in the column that lists it: in "count" it is a number.
  EXPECT_EQ(first[3].name(), "count");
  EXPECT_TRUE(first[3].has_number());
  EXPECT_EQ(first[3].number(), 0);

  // Empty, "None" (any case) and the text "0" are absent.
  const auto& second = results[1].records[0].features();
  ASSERT_EQ(second.size(), 1);
  EXPECT_EQ(second[0].name(), "count");
  EXPECT_EQ(second[0].number(), -12.5);

  const auto& third = results[2].records[0].features();
  ASSERT_EQ(third.size(), 1);
  EXPECT_EQ(third[0].name(), "min val sent");
  EXPECT_EQ(third[0].number(), 0);
}

TEST(ColumnMappingTest, ANonNumericFeatureCellIsAnErrorNamingTheCell) {
  const v1::ColumnMapping mapping = Mapping(R"pb(
    address_column: "address"
    label { value: "Unknown" }
    features { column: "Sent tnx" }
    features { column: "balance" }
  )pb");
  std::vector<LineResult> results = MapAll(
      mapping,
      absl::StrCat("address,Sent tnx,balance\n", kWeth, ",12 tx,inf\n", kDai, ",1e999,0x10\n"));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].invalid);
  EXPECT_THAT(results[0].records, IsEmpty());
  ASSERT_EQ(results[0].issues.size(), 2u);
  EXPECT_EQ(results[0].issues[0].line(), 2u);
  EXPECT_EQ(results[0].issues[0].field(), "Sent tnx");
  EXPECT_THAT(results[0].issues[0].reason(),
              AllOf(HasSubstr("feature column \"Sent tnx\": \"12 tx\" is not a finite number"),
                    HasSubstr("missing_values")));
  EXPECT_THAT(results[0].issues[1].reason(), HasSubstr("\"inf\" is not a finite number"));
  // Out of range and hexadecimal are not numbers either.
  ASSERT_EQ(results[1].issues.size(), 2u);
  EXPECT_THAT(results[1].issues[0].reason(), HasSubstr("\"1e999\""));
  EXPECT_THAT(results[1].issues[1].reason(), HasSubstr("\"0x10\""));
}

TEST(ColumnMappingTest, AddressesFollowTheRulesOfTheOtherMappers) {
  const v1::ColumnMapping lenient = Mapping(R"pb(
    address_column: "address"
    label { value: "Phish / Hack" }
  )pb");
  std::vector<LineResult> results =
      MapAll(lenient, absl::StrCat("address\n", kBadChecksum, "\n\" ", kWeth, " \"\n0x123\n"));
  ASSERT_EQ(results.size(), 3u);
  ASSERT_EQ(results[0].records.size(), 1u);
  EXPECT_EQ(results[0].records[0].address(), Checksum(kBadChecksum));
  ASSERT_EQ(results[0].issues.size(), 1u);
  EXPECT_EQ(results[0].issues[0].severity(), v1::ValidationIssue::SEVERITY_WARNING);
  EXPECT_THAT(results[0].issues[0].reason(), HasSubstr("bad EIP-55 checksum"));
  ASSERT_EQ(results[1].records.size(), 1u);
  EXPECT_EQ(results[1].issues[0].severity(), v1::ValidationIssue::SEVERITY_WARNING);
  EXPECT_THAT(results[1].issues[0].reason(), HasSubstr("whitespace around address"));
  EXPECT_TRUE(results[2].invalid);
  EXPECT_EQ(results[2].issues[0].severity(), v1::ValidationIssue::SEVERITY_ERROR);
  EXPECT_EQ(results[2].issues[0].field(), "address");

  v1::ColumnMapping strict = lenient;
  strict.set_strict_checksum(true);
  LineResult rejected = MapOne(strict, absl::StrCat("address\n", kBadChecksum, "\n"));
  EXPECT_TRUE(rejected.invalid);
  EXPECT_THAT(rejected.issues[0].reason(),
              AllOf(HasSubstr("bad EIP-55 checksum"), HasSubstr("strict_checksum")));
  // Lowercase addresses carry no checksum and pass the strict check.
  EXPECT_FALSE(
      MapOne(strict, absl::StrCat("address\n", absl::AsciiStrToLower(kWeth), "\n")).invalid);
}

TEST(ColumnMappingTest, AMissingColumnNamesTheMappingFieldAndTheHeader) {
  v1::ColumnMapping mapping = Mapping(kWalletMapping);
  EXPECT_THAT(Compile(mapping, "wallet,label,owner,is_contract,tags,notes\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "m.csv: column_mapping.entity.column names column \"project\", which is "
                       "not in the header (header: wallet,label,owner,is_contract,tags,notes)"));
  mapping = Mapping(R"pb(
    address_column: "address"
    label { value: "Scam" }
    features { column: "a" }
    features { column: "b" }
  )pb");
  EXPECT_THAT(Compile(mapping, "address,a\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("column_mapping.features[1].column names column \"b\"")));
  // The CSV reader refuses such a header; a mapper built over one names both columns.
  EXPECT_THAT(ColumnMapper::Create(mapping, {"address", "A", "a "}, Context(), "column_mapping."),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("matches the header columns \"A\" and \"a \"")));
}

TEST(ColumnMappingTest, ValidationNamesTheFieldAndTheFix) {
  struct Case {
    const char* mapping;
    const char* message;
  };
  const Case cases[] = {
      {R"pb(label { value: "Scam" })pb", "column_mapping.address_column is required"},
      {R"pb(address_column: "a")pb", "column_mapping.label is required"},
      {R"pb(address_column: "a"
            label { value: "phish" })pb",
       "column_mapping.label.value: \"phish\" is not a report label; did you mean \"Phish / "
       "Hack\"?"},
      {R"pb(address_column: "a"
            label {
              column: "l"
              values { key: "1" value: "Fraud" }
            })pb",
       "column_mapping.label.values[\"1\"]: \"Fraud\" is not a report label"},
      {R"pb(address_column: "a"
            label {
              column: "l"
              values { key: "1" value: "" }
            })pb",
       "column_mapping.label.values[\"1\"]: the label is empty"},
      {R"pb(address_column: "a"
            label { value: "Scam" }
            account_type {
              column: "c"
              values { key: "yes" value: "contract" }
            })pb",
       "column_mapping.account_type.values[\"yes\"]: \"contract\" is not an account type"},
      {R"pb(address_column: "a"
            label { value: "Scam" }
            name { values { key: "a" value: "b" } })pb",
       "column_mapping.name.values needs column_mapping.name.column"},
      {R"pb(address_column: "a"
            label { value: "Scam" }
            note { column: "n" separator: "," })pb",
       "column_mapping.note.separator is set, but a separator applies to tags only"},
      {R"pb(address_column: "a"
            label {
              column: "l"
              values { key: "True" value: "Scam" }
              values { key: " true" value: "Legit" }
            })pb",
       "column_mapping.label.values has the keys \" true\" and \"True\""},
      {R"pb(address_column: "a"
            label { value: "Scam" }
            features { column: "x" }
            features { column: " X " })pb",
       "column_mapping.features[1] repeats column \" X \" of features[0]"},
      {R"pb(address_column: "a"
            label { value: "Scam" }
            features { kind: KIND_TEXT })pb",
       "column_mapping.features[0].column is required"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ValidateColumnMapping(Mapping(c.mapping)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.mapping;
  }
  EXPECT_THAT(ValidateColumnMapping(Mapping(kWalletMapping)), IsOk());
  // Create applies the same checks, naming the file.
  EXPECT_THAT(Compile(Mapping(R"pb(address_column: "a")pb"), "a\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.csv: column_mapping.label is required")));
}

TEST(ColumnMappingTest, SerializationForTheIdIsDeterministic) {
  v1::ColumnMapping a = Mapping(kWalletMapping);
  v1::ColumnMapping b = Mapping(kWalletMapping);
  // The same entries inserted in another order serialize to the same bytes.
  b.mutable_label()->mutable_values()->clear();
  (*b.mutable_label()->mutable_values())["ok"] = "Legit";
  (*b.mutable_label()->mutable_values())["scam"] = "Scam";
  (*b.mutable_label()->mutable_values())["phishing"] = "Phish / Hack";
  EXPECT_EQ(SerializeMappingForId(a), SerializeMappingForId(b));
  b.mutable_note()->set_column("other");
  EXPECT_NE(SerializeMappingForId(a), SerializeMappingForId(b));
}

TEST(ColumnMappingTest, BuiltInMappingsAreValidColumnMappings) {
  for (v1::DatasetFormat format :
       {v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES, v1::DATASET_FORMAT_PHISH_FEATURES}) {
    const v1::ColumnMapping* mapping = BuiltInMapping(format);
    ASSERT_NE(mapping, nullptr);
    EXPECT_THAT(ValidateColumnMapping(*mapping), IsOk());
  }
  EXPECT_EQ(BuiltInMapping(v1::DATASET_FORMAT_OFAC_SDN), nullptr);
  const v1::ColumnMapping& kaggle = *BuiltInMapping(v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES);
  EXPECT_EQ(kaggle.features_size(), 47);
  int text = 0;
  for (const v1::FeatureColumn& feature : kaggle.features()) {
    text += feature.kind() == v1::FeatureColumn::KIND_TEXT ? 1 : 0;
  }
  EXPECT_EQ(text, 2);
  EXPECT_EQ(BuiltInMapping(v1::DATASET_FORMAT_PHISH_FEATURES)->features_size(), 22);
  EXPECT_THAT(MappedColumns(kaggle)[0], "address");
  EXPECT_THAT(MappedColumns(kaggle)[1], "flag");
}

TEST(ColumnMappingTest, TheKaggleMappingReadsFlagsAndPlaceholders) {
  const v1::ColumnMapping& kaggle = *BuiltInMapping(v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES);
  std::string header = "Index,Address,FLAG";
  std::string flagged = absl::StrCat("1,", kWeth, ",1");
  std::string unflagged = absl::StrCat("2,", kDai, ",0");
  for (const v1::FeatureColumn& feature : kaggle.features()) {
    absl::StrAppend(&header, ", ", feature.column());
    const bool text = feature.kind() == v1::FeatureColumn::KIND_TEXT;
    absl::StrAppend(&flagged, ",", text ? "Blockwell say NOTSAFU" : "1.00E-06");
    absl::StrAppend(&unflagged, ",", text ? "0" : "");
  }
  std::vector<LineResult> results =
      MapAll(kaggle, absl::StrCat(header, "\n", flagged, "\n", unflagged, "\n"));
  ASSERT_EQ(results.size(), 2u);
  ASSERT_EQ(results[0].records.size(), 1u);
  const common::v1::AddressRecord& scam = results[0].records[0];
  EXPECT_EQ(scam.label(), "Scam");
  EXPECT_EQ(scam.original_label(), "1");
  EXPECT_THAT(scam.tags(), IsEmpty());
  ASSERT_EQ(scam.features_size(), 47);
  EXPECT_EQ(scam.features(0).name(), "Avg min between sent tnx");
  EXPECT_DOUBLE_EQ(scam.features(0).number(), 1e-06);
  EXPECT_EQ(scam.features(46).name(), "ERC20_most_rec_token_type");
  EXPECT_EQ(scam.features(46).text(), "Blockwell say NOTSAFU");

  ASSERT_EQ(results[1].records.size(), 1u);
  const common::v1::AddressRecord& unknown = results[1].records[0];
  EXPECT_EQ(unknown.label(), "Unknown");
  EXPECT_THAT(unknown.tags(), ElementsAre("not flagged"));
  EXPECT_THAT(unknown.features(), IsEmpty());

  // FLAG feeds the label and the tags; an unknown FLAG is reported once.
  std::string other_flag = unflagged;
  other_flag.replace(other_flag.find(",0,"), 3, ",2,");
  LineResult bad = MapOne(kaggle, absl::StrCat(header, "\n", other_flag, "\n"));
  EXPECT_TRUE(bad.invalid);
  ASSERT_EQ(bad.issues.size(), 1u);
  EXPECT_EQ(bad.issues[0].reason(), "unknown value \"2\" in column FLAG; the mapping allows 0, 1");
}

TEST(ColumnMappingTest, ThePhishMappingOnlyAcceptsFlagOne) {
  const v1::ColumnMapping& phish = *BuiltInMapping(v1::DATASET_FORMAT_PHISH_FEATURES);
  std::string header = "Address,FLAG";
  std::string row = absl::StrCat(kWeth, ",0");
  for (const v1::FeatureColumn& feature : phish.features()) {
    absl::StrAppend(&header, ",", feature.column());
    absl::StrAppend(&row, ",1");
  }
  LineResult result = MapOne(phish, absl::StrCat(header, "\n", row, "\n"));
  EXPECT_TRUE(result.invalid);
  EXPECT_THAT(result.issues[0].reason(), HasSubstr("unknown value \"0\" in column FLAG"));
}

TEST(ColumnMappingTest, AddressListMappingChecksLabelAndTags) {
  ASSERT_OK_AND_ASSIGN(v1::ColumnMapping mapping,
                       AddressListMapping(" phish / hack ", {"drainer", " airdrop "}));
  EXPECT_EQ(mapping.address_column(), "address");
  LineResult result = MapOne(mapping, absl::StrCat("address\n", kWeth, "\n"));
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].label(), "Phish / Hack");
  EXPECT_EQ(result.records[0].original_label(), "phish / hack");
  EXPECT_THAT(result.records[0].tags(), ElementsAre("drainer", "airdrop"));

  EXPECT_THAT(AddressListMapping("", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("format address_list needs UploadMetadata.label")));
  EXPECT_THAT(AddressListMapping("Sanctionned", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadMetadata.label: \"Sanctionned\" is not a report label; "
                                 "did you mean \"Sanctioned\"?")));
  EXPECT_THAT(AddressListMapping("Scam", {"a", " "}),
              StatusIs(absl::StatusCode::kInvalidArgument, "UploadMetadata.tags[1] is empty"));
  EXPECT_THAT(AddressListMapping("Scam", {"a;b"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holds ';'")));
  EXPECT_THAT(AddressListMapping("Scam", {"a\nb"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("control character")));
}

TEST(ColumnMappingTest, TheCanonicalCsvKeepsSourceOriginalLabelAndTypedFeatures) {
  const std::string csv = absl::StrCat(
      "address,chain_id,name,account_type,contract_type,entity,label,tags,original_label,"
      "source,note,line,feature:Sent tnx,feature: token\n",
      kWeth,
      ",1,Wrapped Ether,Smart Contract,Token,WETH,Legit,DeFi;Token Contract,"
      "uniswap-default-list,uniswap,decimals 18,7,12,OmiseGO\n",
      kDai, ",,,,,,Scam,,,,,9,3.80E-05,\n",  //
      kDai, ",137,,,,,Scam,,,,,,,\n",        //
      kDai, ",1,,EOA,,,Scum,,,,,,,\n");
  Rows parsed = Read(csv);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RecordMapper> mapper,
                       ColumnMapper::CreateCanonicalCsv(parsed.header, Context()));
  ASSERT_EQ(parsed.rows.size(), 4u);
  LineResult result;
  mapper->Map(parsed.rows[0], &result);
  ASSERT_EQ(result.records.size(), 1u);
  const common::v1::AddressRecord& weth = result.records[0];
  EXPECT_EQ(weth.name(), "Wrapped Ether");
  EXPECT_EQ(weth.account_type(), "Smart Contract");
  EXPECT_EQ(weth.contract_type(), "Token");
  EXPECT_EQ(weth.entity(), "WETH");
  EXPECT_EQ(weth.label(), "Legit");
  EXPECT_THAT(weth.tags(), ElementsAre("DeFi", "Token Contract"));
  EXPECT_EQ(weth.original_label(), "uniswap-default-list");
  EXPECT_EQ(weth.source(), "uniswap");
  EXPECT_EQ(weth.note(), "decimals 18");
  // The record's line is the CSV line, not the exported one.
  EXPECT_EQ(weth.line(), 2u);
  ASSERT_EQ(weth.features_size(), 2);
  EXPECT_EQ(weth.features(0).name(), "Sent tnx");
  EXPECT_EQ(weth.features(0).number(), 12);
  EXPECT_EQ(weth.features(1).name(), "token");
  EXPECT_EQ(weth.features(1).text(), "OmiseGO");

  mapper->Map(parsed.rows[1], &result);
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].source(), "my-set");
  EXPECT_EQ(result.records[0].original_label(), "");
  ASSERT_EQ(result.records[0].features_size(), 1);
  EXPECT_DOUBLE_EQ(result.records[0].features(0).number(), 3.8e-05);

  mapper->Map(parsed.rows[2], &result);
  EXPECT_TRUE(result.invalid);
  EXPECT_EQ(result.issues[0].field(), "chain_id");
  EXPECT_THAT(result.issues[0].reason(),
              HasSubstr("chain id 137 differs from the dataset's chain id 1"));

  mapper->Map(parsed.rows[3], &result);
  EXPECT_TRUE(result.invalid);
  EXPECT_THAT(result.issues[0].reason(), HasSubstr("did you mean \"Scam\"?"));

  EXPECT_THAT(ColumnMapper::CreateCanonicalCsv(Read("address,label\n").header, Context()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("format canonical_csv: name.column names column \"name\"")));
  std::vector<std::string> header = CanonicalCsvColumns();
  header.push_back("feature: ");
  EXPECT_THAT(ColumnMapper::CreateCanonicalCsv(header, Context()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a feature column without a feature name")));
}

}  // namespace
}  // namespace ethscan::dataset

#include "services/dataset/dataset_format.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Header(absl::string_view text) { return absl::StrSplit(text, ','); }

absl::StatusOr<FormatChoice> Detect(absl::string_view header) {
  return ChooseFormat(v1::DATASET_FORMAT_UNSPECIFIED, Header(header), "f.csv", 1);
}

TEST(DatasetFormatTest, FormatNamesAreShortAndLowercase) {
  EXPECT_EQ(FormatName(v1::DATASET_FORMAT_OFAC_SDN), "ofac_sdn");
  EXPECT_EQ(FormatName(v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS), "forta_malicious_contracts");
  EXPECT_EQ(FormatName(v1::DATASET_FORMAT_UNSPECIFIED), "unspecified");
}

TEST(DatasetFormatTest, DetectsEveryFormatFromItsHeader) {
  struct Case {
    const char* header;
    v1::DatasetFormat format;
  };
  const Case cases[] = {
      {"address,name,labels,listed_as", v1::DATASET_FORMAT_ETHERSCAN_LABELS},
      {"address,name_tag,label,balance,txn_count", v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS},
      {"address,etherscan_tag,etherscan_labels,is_contract",
       v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS},
      {"banned_address,wallet_tag,data_source", v1::DATASET_FORMAT_FORTA_MALICIOUS_LABELS},
      {"contract_address,contract_tag,contract_creator,contract_creation_tx,"
       "contract_creator_tag,source,notes,contract_creator_etherscan_label",
       v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS},
      {"address,name,symbol,decimals,chainId", v1::DATASET_FORMAT_UNISWAP_TOKENS},
      {"address,name,status,date_added", v1::DATASET_FORMAT_OFAC_SDN},
      {"address,comment,date", v1::DATASET_FORMAT_MEW_DARKLIST},
      {"address,category,subcategory,site_name,url,reporter", v1::DATASET_FORMAT_CRYPTOSCAMDB},
  };
  for (const Case& c : cases) {
    absl::StatusOr<FormatChoice> choice = Detect(c.header);
    ASSERT_TRUE(choice.ok()) << c.header << ": " << choice.status();
    EXPECT_EQ(choice->format, c.format) << c.header;
  }
}

TEST(DatasetFormatTest, ExplainsTheDetectionInWords) {
  absl::StatusOr<FormatChoice> choice = Detect("address,name,status,date_added");
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->explanation,
            "detected ofac_sdn from header columns address,name,status,date_added");
}

TEST(DatasetFormatTest, IgnoresLetterCaseColumnOrderAndExtraColumns) {
  absl::StatusOr<FormatChoice> choice = Detect("Date,Comment,ADDRESS,extra");
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->format, v1::DATASET_FORMAT_MEW_DARKLIST);
}

// The Kaggle fraud-detection header as the source writes it (stray spaces included).
std::string KaggleHeader() {
  return "Index,Address,FLAG,Avg min between sent tnx,Avg min between received tnx,"
         "Time Diff between first and last (Mins),Sent tnx,Received Tnx,"
         "Number of Created Contracts,Unique Received From Addresses,Unique Sent To Addresses,"
         "min value received,max value received ,avg val received,min val sent,max val sent,"
         "avg val sent,min value sent to contract,max val sent to contract,"
         "avg value sent to contract,total transactions (including tnx to create contract,"
         "total Ether sent,total ether received,total ether sent contracts,total ether balance,"
         " Total ERC20 tnxs, ERC20 total Ether received, ERC20 total ether sent,"
         " ERC20 total Ether sent contract, ERC20 uniq sent addr, ERC20 uniq rec addr,"
         " ERC20 uniq sent addr.1, ERC20 uniq rec contract addr,"
         " ERC20 avg time between sent tnx, ERC20 avg time between rec tnx,"
         " ERC20 avg time between rec 2 tnx, ERC20 avg time between contract tnx,"
         " ERC20 min val rec, ERC20 max val rec, ERC20 avg val rec, ERC20 min val sent,"
         " ERC20 max val sent, ERC20 avg val sent, ERC20 min val sent contract,"
         " ERC20 max val sent contract, ERC20 avg val sent contract,"
         " ERC20 uniq sent token name, ERC20 uniq rec token name, ERC20 most sent token type,"
         " ERC20_most_rec_token_type";
}

// The phish-feature header: Address, FLAG and the first 22 Kaggle features.
std::string PhishHeader() {
  std::vector<std::string> columns = Header(KaggleHeader());
  columns.erase(columns.begin());  // Index
  columns.resize(24);
  return absl::StrJoin(columns, ",");
}

// The CSV reader trims header names; so does this.
std::vector<std::string> TrimmedHeader(absl::string_view text) {
  std::vector<std::string> columns;
  for (absl::string_view column : absl::StrSplit(text, ',')) {
    columns.emplace_back(absl::StripAsciiWhitespace(column));
  }
  return columns;
}

TEST(DatasetFormatTest, DetectsTheBehaviouralFeatureLayouts) {
  absl::StatusOr<FormatChoice> kaggle =
      ChooseFormat(v1::DATASET_FORMAT_UNSPECIFIED, TrimmedHeader(KaggleHeader()), "k.csv", 1);
  ASSERT_TRUE(kaggle.ok()) << kaggle.status();
  // Every phish-feature column is also a Kaggle column; the layout needing more columns wins.
  EXPECT_EQ(kaggle->format, v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES);
  EXPECT_EQ(kaggle->explanation,
            "detected kaggle_fraud_features from header columns Index,Address,FLAG and 47 more "
            "columns");
  absl::StatusOr<FormatChoice> phish =
      ChooseFormat(v1::DATASET_FORMAT_UNSPECIFIED, TrimmedHeader(PhishHeader()), "p.csv", 1);
  ASSERT_TRUE(phish.ok()) << phish.status();
  EXPECT_EQ(phish->format, v1::DATASET_FORMAT_PHISH_FEATURES);
  EXPECT_EQ(RequiredColumns(v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES).size(), 49u);
  EXPECT_EQ(RequiredColumns(v1::DATASET_FORMAT_PHISH_FEATURES).size(), 24u);
  EXPECT_EQ(RequiredColumns(v1::DATASET_FORMAT_PHISH_FEATURES)[0], "address");
  EXPECT_EQ(RequiredColumns(v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES).back(),
            "erc20_most_rec_token_type");
}

TEST(DatasetFormatTest, AnIncompleteFeatureLayoutNamesWhatEachFormatLacks) {
  EXPECT_THAT(Detect("Address,FLAG,Avg min between sent tnx,Sent tnx,total ether balance"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("f.csv line 1: header columns Address,FLAG,"),
                             HasSubstr("look like a behavioural feature layout"),
                             HasSubstr("phish_features lacks 19 of its 24 columns (avg min between "
                                       "received tnx,"),
                             HasSubstr("kaggle_fraud_features lacks 44 of its 49 columns"),
                             HasSubstr("column mapping (format csv_mapping)"))));
}

TEST(DatasetFormatTest, DetectsTheCanonicalCsv) {
  absl::StatusOr<FormatChoice> choice = Detect(
      "address,chain_id,name,account_type,contract_type,entity,label,tags,"
      "original_label,source,note,line,feature:Sent tnx,feature:total ether balance");
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->format, v1::DATASET_FORMAT_CANONICAL_CSV);
  // Without the feature columns too.
  choice = Detect(
      "address,chain_id,name,account_type,contract_type,entity,label,tags,original_label,"
      "source,note,line");
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->format, v1::DATASET_FORMAT_CANONICAL_CSV);
}

TEST(DatasetFormatTest, DetectsAnAddressListFromItsFirstLine) {
  absl::StatusOr<FormatChoice> headed = Detect("Address");
  ASSERT_TRUE(headed.ok()) << headed.status();
  EXPECT_EQ(headed->format, v1::DATASET_FORMAT_ADDRESS_LIST);
  EXPECT_EQ(headed->explanation,
            "detected address_list: line 1 is the single header column \"Address\"");
  absl::StatusOr<FormatChoice> bare = Detect("0xa153a6ef80fb5d60de18688bdc82684d48fc8de1");
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(bare->format, v1::DATASET_FORMAT_ADDRESS_LIST);
  EXPECT_EQ(bare->explanation,
            "detected address_list: line 1 is a single address and there is no header");
  EXPECT_TRUE(IsAddressListHeader(" ADDRESS "));
  EXPECT_FALSE(IsAddressListHeader("0xa153a6ef80fb5d60de18688bdc82684d48fc8de1"));
  // One column that is neither is no address list.
  EXPECT_THAT(Detect("wallet"), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("unknown format: header columns wallet")));
  EXPECT_THAT(Detect("0x123"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown format")));
  // Two columns with an address column are no address list either.
  EXPECT_THAT(Detect("address,foo"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DatasetFormatTest, RequestedAddressListNeedsOneColumn) {
  absl::StatusOr<FormatChoice> choice =
      ChooseFormat(v1::DATASET_FORMAT_ADDRESS_LIST, Header("address"), "l.txt", 3);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->explanation,
            "format address_list given in the upload metadata; line 3 is the single header "
            "column \"address\"");
  // A first line that tries to be an address is data, even when it is invalid.
  EXPECT_TRUE(ChooseFormat(v1::DATASET_FORMAT_ADDRESS_LIST, Header("0x123"), "l.txt", 1).ok());
  EXPECT_THAT(ChooseFormat(v1::DATASET_FORMAT_ADDRESS_LIST, Header("address,label"), "l.txt", 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("l.txt line 1: format address_list has one address per "
                                       "line, but this line has 2 columns"),
                             HasSubstr("column mapping"))));
  EXPECT_THAT(ChooseFormat(v1::DATASET_FORMAT_ADDRESS_LIST, Header("wallet"), "l.txt", 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("starts with the header \"address\" or with an address, not "
                                 "\"wallet\"")));
}

TEST(DatasetFormatTest, CsvMappingIsNeverDetectedAndAcceptsAnyHeader) {
  absl::StatusOr<FormatChoice> choice =
      ChooseFormat(v1::DATASET_FORMAT_CSV_MAPPING, Header("wallet,tag"), "m.csv", 1);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->format, v1::DATASET_FORMAT_CSV_MAPPING);
  EXPECT_THAT(choice->explanation, HasSubstr("header columns wallet,tag"));
  EXPECT_TRUE(RequiredColumns(v1::DATASET_FORMAT_CSV_MAPPING).empty());
  EXPECT_THAT(ChooseFormat(v1::DATASET_FORMAT_MERGED, Header("address"), "m.csv", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("made by MergeDatasets")));
}

TEST(DatasetFormatTest, UnknownHeaderListsTheKnownFormats) {
  EXPECT_THAT(
      Detect("wallet,score"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("f.csv line 1: unknown format: header columns "
                               "wallet,score match none"),
                     HasSubstr("mew_darklist (address,comment,date)"),
                     HasSubstr("kaggle_fraud_features (address,flag,avg min between sent tnx and "
                               "46 more columns)"),
                     HasSubstr("address_list (one column"),
                     HasSubstr("give a column mapping (format csv_mapping)"))));
}

TEST(DatasetFormatTest, RequestedFormatNeedsItsColumns) {
  EXPECT_THAT(
      ChooseFormat(v1::DATASET_FORMAT_OFAC_SDN, Header("address,name,date_added"), "sdn.csv", 1),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          AllOf(HasSubstr("sdn.csv line 1: format ofac_sdn needs"), HasSubstr("missing status"))));
  absl::StatusOr<FormatChoice> choice =
      ChooseFormat(v1::DATASET_FORMAT_MEW_DARKLIST, Header("address,comment,date"), "d.csv", 1);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->format, v1::DATASET_FORMAT_MEW_DARKLIST);
  EXPECT_THAT(choice->explanation, HasSubstr("format mew_darklist given in the upload metadata"));
}

TEST(DatasetFormatTest, JsonLinesFormatsAreNotCsvFormats) {
  EXPECT_TRUE(IsJsonlFormat(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL));
  EXPECT_TRUE(IsJsonlFormat(v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION));
  EXPECT_FALSE(IsJsonlFormat(v1::DATASET_FORMAT_OFAC_SDN));
  EXPECT_FALSE(IsJsonlFormat(v1::DATASET_FORMAT_UNSPECIFIED));
  EXPECT_EQ(FormatName(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL), "openai_chat_jsonl");
  EXPECT_EQ(FormatName(v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION), "legacy_prompt_completion");
  EXPECT_TRUE(RequiredColumns(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL).empty());
  // A CSV header never detects them, and the list of known CSV formats leaves them out.
  absl::StatusOr<FormatChoice> unknown = Detect("messages");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(std::string(unknown.status().message()), Not(HasSubstr("jsonl")));
  EXPECT_THAT(
      ChooseFormat(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL, Header("address,name"), "f.csv", 1),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("f.csv line 1: format openai_chat_jsonl is JSON Lines")));
}

TEST(DatasetFormatTest, RejectsAnUnknownRequestedFormat) {
  EXPECT_THAT(ChooseFormat(static_cast<v1::DatasetFormat>(77), Header("address"), "f.csv", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown dataset format 77")));
}

}  // namespace
}  // namespace ethscan::dataset

#include "services/dataset/dataset_format.h"

#include <string>
#include <vector>

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

TEST(DatasetFormatTest, RejectsTheBehaviouralFeatureLayouts) {
  // Kaggle fraud-detection layout and the phish-feature subset, typed from their headers.
  EXPECT_THAT(Detect("Index,Address,FLAG,Avg min between sent tnx,Avg min between received tnx,"
                     "Sent tnx,Received Tnx,total ether balance, Total ERC20 tnxs"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("f.csv line 1"), HasSubstr("behavioural feature format"),
                             HasSubstr("does not support yet"))));
  EXPECT_THAT(
      Detect("Address,FLAG,Avg min between sent tnx,Sent tnx,total ether balance"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("behavioural feature format")));
}

TEST(DatasetFormatTest, UnknownHeaderListsTheKnownFormats) {
  EXPECT_THAT(Detect("wallet,score"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("f.csv line 1: unknown format: header columns "
                                       "wallet,score match none"),
                             HasSubstr("mew_darklist (address,comment,date)"))));
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

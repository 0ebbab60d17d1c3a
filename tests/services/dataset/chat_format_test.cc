#include "services/dataset/chat_format.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ethscan::dataset {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

common::v1::AddressRecord Token() {
  common::v1::AddressRecord record;
  record.set_address("0x8888801aF4d980682e47f1A9036e589479e835C5");
  record.set_name("Akropolis (AKRO)");
  record.set_account_type("Smart Contract");
  record.set_contract_type("Token");
  record.set_entity("DeFi");
  record.set_label("Legit");
  record.add_tags("DeFi");
  record.add_tags("Token Contract");
  return record;
}

TEST(ChatFormatTest, ExampleHasTheThreeRolesAndTheReportFields) {
  const std::string line = ChatExampleLine(Token());
  EXPECT_THAT(line, EndsWith("}\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per example";
  Json example = Json::parse(line);
  ASSERT_TRUE(example.is_object());
  EXPECT_EQ(example.size(), 1u);
  const Json& messages = example.at("messages");
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].at("role"), "system");
  EXPECT_EQ(messages[0].at("content"), kChatSystemPrompt);
  EXPECT_EQ(messages[1].at("role"), "user");
  EXPECT_EQ(messages[1].at("content"), "0x8888801aF4d980682e47f1A9036e589479e835C5");
  EXPECT_EQ(messages[2].at("role"), "assistant");

  Json fields = Json::parse(messages[2].at("content").get<std::string>());
  std::vector<std::string> keys;
  for (auto it = fields.begin(); it != fields.end(); ++it) keys.push_back(it.key());
  EXPECT_THAT(keys,
              ElementsAre("Name", "Account Type", "Contract Type", "Entity", "Label", "Tags"));
  EXPECT_EQ(fields["Name"], "Akropolis (AKRO)");
  EXPECT_EQ(fields["Account Type"], "Smart Contract");
  EXPECT_EQ(fields["Contract Type"], "Token");
  EXPECT_EQ(fields["Entity"], "DeFi");
  EXPECT_EQ(fields["Label"], "Legit");
  EXPECT_EQ(fields["Tags"], Json::array({"DeFi", "Token Contract"}));
}

TEST(ChatFormatTest, UnknownFieldsAreEmptyAndTheLabelUnknown) {
  common::v1::AddressRecord record;
  record.set_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  EXPECT_EQ(ReportFieldsJson(record),
            "{\"Name\":\"\",\"Account Type\":\"\",\"Contract Type\":\"\",\"Entity\":\"\","
            "\"Label\":\"Unknown\",\"Tags\":[]}");
}

TEST(ChatFormatTest, EscapesQuotesAndReplacesInvalidUtf8) {
  common::v1::AddressRecord record = Token();
  record.set_name("Say \"hi\"\n\xC3\xA9 \xFF");
  const std::string line = ChatExampleLine(record);
  Json example = Json::parse(line);
  Json fields = Json::parse(example["messages"][2]["content"].get<std::string>());
  EXPECT_EQ(fields["Name"], "Say \"hi\"\n\xC3\xA9 \xEF\xBF\xBD");
}

TEST(ChatFormatTest, SystemPromptNamesEveryField) {
  for (const char* field : kReportFieldNames) {
    EXPECT_THAT(kChatSystemPrompt, HasSubstr(absl::StrCat("\"", field, "\"")));
  }
}

}  // namespace
}  // namespace ethscan::dataset

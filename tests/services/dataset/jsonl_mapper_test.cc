#include "services/dataset/jsonl_mapper.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dataset/chat_format.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kAkro[] = "0x8888801aF4d980682e47f1A9036e589479e835C5";

// The legacy example from the OpenAI-style datasets people bring.
constexpr char kLegacyLine[] =
    R"({"prompt": "0x8888801af4d980682e47f1a9036e589479e835c5", "completion": "\"Name\": )"
    R"(\" Akropolis (AKRO)\", \"Account Type\": \"Smart Contract\", \"Contract Type\": )"
    R"(\"Token\", \"Entity\": \"DeFi\", \"Label\": \"Legit\", \"Tags\": \"DeFi\""})";

std::unique_ptr<JsonlMapper> Mapper(v1::DatasetFormat format) {
  absl::StatusOr<std::unique_ptr<JsonlMapper>> mapper =
      JsonlMapper::Create(format, MapperContext{"ds", 1, "f.jsonl"});
  EXPECT_THAT(mapper.status(), IsOk());
  return *std::move(mapper);
}

// A chat line whose user message is `user` and assistant message is `assistant` (both JSON
// string literals' contents, already escaped).
std::string ChatLine(const std::string& user, const std::string& assistant) {
  return absl::StrCat(R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":")",
                      user, R"("},{"role":"assistant","content":")", assistant, R"("}]})");
}

LineResult MapChat(const std::string& line, bool has_line_break = true) {
  LineResult result;
  Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL)->Map(7, line, has_line_break, &result);
  return result;
}

LineResult MapLegacy(const std::string& line) {
  LineResult result;
  Mapper(v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION)->Map(7, line, true, &result);
  return result;
}

// "field: reason" of every issue.
std::vector<std::string> Issues(const LineResult& result) {
  std::vector<std::string> issues;
  for (const v1::ValidationIssue& issue : result.issues) {
    EXPECT_EQ(issue.file(), "f.jsonl");
    EXPECT_EQ(issue.line(), 7u);
    issues.push_back(absl::StrCat(issue.field(), ": ", issue.reason()));
  }
  return issues;
}

TEST(JsonlMapperTest, ReadsTheLegacyPromptCompletionExample) {
  LineResult result = MapLegacy(kLegacyLine);
  EXPECT_THAT(Issues(result), IsEmpty());
  ASSERT_EQ(result.records.size(), 1u);
  const common::v1::AddressRecord& record = result.records[0];
  EXPECT_EQ(record.address(), kAkro);
  EXPECT_EQ(record.name(), "Akropolis (AKRO)");
  EXPECT_EQ(record.account_type(), "Smart Contract");
  EXPECT_EQ(record.contract_type(), "Token");
  EXPECT_EQ(record.entity(), "DeFi");
  EXPECT_EQ(record.label(), "Legit");
  EXPECT_EQ(record.original_label(), "Legit");
  EXPECT_THAT(record.tags(), ElementsAre("DeFi"));
  EXPECT_EQ(record.source(), "ds");
  EXPECT_EQ(record.chain_id(), 1u);
  EXPECT_EQ(record.line(), 7u);
}

TEST(JsonlMapperTest, ReadsTheChatExportForm) {
  common::v1::AddressRecord original;
  original.set_address(kAkro);
  original.set_name("Akropolis: \"AKRO\" Token");
  original.set_account_type("Smart Contract");
  original.set_contract_type("Token");
  original.set_entity("Akropolis");
  original.set_label("Phish / Hack");
  original.add_tags("blocked");
  original.add_tags("Token Contract");
  std::string line = ChatExampleLine(original);
  line.pop_back();  // The reader hands lines over without their line break.
  LineResult result = MapChat(line);
  EXPECT_THAT(Issues(result), IsEmpty());
  ASSERT_EQ(result.records.size(), 1u);
  const common::v1::AddressRecord& record = result.records[0];
  EXPECT_EQ(record.address(), original.address());
  EXPECT_EQ(record.name(), original.name());
  EXPECT_EQ(record.account_type(), original.account_type());
  EXPECT_EQ(record.contract_type(), original.contract_type());
  EXPECT_EQ(record.entity(), original.entity());
  EXPECT_EQ(record.label(), original.label());
  EXPECT_THAT(record.tags(), ElementsAre("blocked", "Token Contract"));
}

TEST(JsonlMapperTest, ChatAssistantMayUseTheLegacyText) {
  LineResult result = MapChat(ChatLine(
      "What is 0x8888801aF4d980682e47f1A9036e589479e835C5?",
      R"(\"Name\": \" Akropolis (AKRO)\", \"label\": \"legit\", \"Tags\": \"DeFi, Token\")"));
  EXPECT_THAT(Issues(result), IsEmpty());
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].address(), kAkro);
  EXPECT_EQ(result.records[0].label(), "Legit");
  EXPECT_EQ(result.records[0].original_label(), "legit");
  EXPECT_THAT(result.records[0].tags(), ElementsAre("DeFi", "Token"));
}

TEST(JsonlMapperTest, AStrayDoubleColonNamesTheColumn) {
  // The legacy text with "Name":: — a typical hand-edit mistake.
  LineResult result = MapLegacy(
      R"({"prompt": "0x8888801af4d980682e47f1a9036e589479e835c5", "completion": "\"Name\":: )"
      R"(\"Akropolis\", \"Label\": \"Legit\""})");
  EXPECT_TRUE(result.invalid);
  EXPECT_THAT(result.records, IsEmpty());
  EXPECT_THAT(Issues(result),
              ElementsAre(AllOf(HasSubstr("completion: malformed report fields"),
                                HasSubstr("at byte column 8"), HasSubstr("unexpected ':'"))));
}

TEST(JsonlMapperTest, MalformedLinesNameTheByteColumn) {
  // The column is the byte where the parser gave up: the ']' after "tru".
  EXPECT_THAT(Issues(MapChat(R"({"messages": [tru]})")),
              ElementsAre(AllOf(HasSubstr("malformed JSON at byte column 18"),
                                HasSubstr("invalid literal"))));
  EXPECT_THAT(Issues(MapChat(R"({"messages": [)", /*has_line_break=*/false)),
              ElementsAre(AllOf(HasSubstr("malformed JSON at the end of the line"),
                                HasSubstr("the file may be truncated"))));
  EXPECT_THAT(Issues(MapChat("{\"messages\": \"\xFF\"}")),
              ElementsAre(AllOf(HasSubstr("byte column 15"), HasSubstr("UTF-8"))));
  EXPECT_THAT(Issues(MapChat("[1, 2]")), ElementsAre(": the line is a JSON array, not an object"));
}

TEST(JsonlMapperTest, ChatStructureErrors) {
  EXPECT_THAT(Issues(MapChat(kLegacyLine)),
              ElementsAre(AllOf(HasSubstr("messages: missing the \"messages\" array"),
                                HasSubstr("looks like legacy prompt/completion"))));
  EXPECT_THAT(Issues(MapChat(R"({"messages": []})")),
              ElementsAre("messages: the \"messages\" array is empty"));
  EXPECT_THAT(Issues(MapChat(R"({"messages": [{"role": "tool", "content": "x"}]})")),
              ElementsAre(HasSubstr("messages[0].role: unknown role \"tool\"")));
  EXPECT_THAT(
      Issues(MapChat(R"({"messages": [{"role": "user", "content": ""},)"
                     R"({"role": "assistant", "content": "{\"Label\":\"Scam\"}", "weight": 2}]})")),
      ElementsAre("messages[0].content: empty user content",
                  "messages[1].weight: weight must be 0 or 1, not 2"));
  EXPECT_THAT(
      Issues(MapChat(
          R"({"messages": [{"role": "assistant", "content": "{}"},)"
          R"({"role": "user", "content": "0x8888801af4d980682e47f1a9036e589479e835c5"}]})")),
      ElementsAre(HasSubstr("messages: the last message is the user's")));
  EXPECT_THAT(Issues(MapChat(R"({"messages": [{"role": "assistant", "content": "{}"}]})")),
              ElementsAre("messages: no user message; the user message holds the address"));
  EXPECT_THAT(Issues(MapChat(R"({"messages": [{"role": "user"}]})")),
              ElementsAre("messages[0].content: missing content"));
  // weight 0 is allowed (the message is not trained on).
  LineResult weighted = MapChat(
      R"({"messages": [{"role": "user", "content": "0x8888801af4d980682e47f1a9036e589479e835c5"},)"
      R"({"role": "assistant", "content": "{\"Label\":\"Scam\"}", "weight": 0}]})");
  EXPECT_THAT(Issues(weighted), IsEmpty());
  EXPECT_EQ(weighted.records.size(), 1u);
}

TEST(JsonlMapperTest, AddressProblems) {
  const std::string fields = R"({\"Label\":\"Scam\"})";
  EXPECT_THAT(Issues(MapChat(ChatLine("0x8888801af4d980682e47f1a9036e589479e835c", fields))),
              ElementsAre(HasSubstr(
                  "messages[1].content: invalid address "
                  "\"0x8888801af4d980682e47f1a9036e589479e835c\": 39 hex digits, need 40")));
  EXPECT_THAT(Issues(MapChat(ChatLine("hello", fields))),
              ElementsAre(HasSubstr("messages[1].content: holds no address")));
  EXPECT_THAT(Issues(MapChat(ChatLine("0x8888801af4d980682e47f1a9036e589479e835c5 or "
                                      "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                                      fields))),
              ElementsAre(HasSubstr("holds 2 different addresses")));
  LineResult bad_checksum = MapChat(ChatLine("0x8888801Af4d980682e47f1A9036e589479e835C5", fields));
  ASSERT_EQ(bad_checksum.records.size(), 1u);
  EXPECT_EQ(bad_checksum.records[0].address(), kAkro);
  ASSERT_EQ(bad_checksum.issues.size(), 1u);
  EXPECT_EQ(bad_checksum.issues[0].severity(), v1::ValidationIssue::SEVERITY_WARNING);
  EXPECT_THAT(bad_checksum.issues[0].reason(), HasSubstr("bad EIP-55 checksum"));
}

TEST(JsonlMapperTest, ReportFieldProblems) {
  const std::string address = "0x8888801af4d980682e47f1a9036e589479e835c5";
  EXPECT_THAT(
      Issues(MapChat(ChatLine(address, R"({\"Label\":\"Phish-Hack\"})"))),
      ElementsAre(AllOf(HasSubstr("messages[2].content.Label: unknown label \"Phish-Hack\""),
                        HasSubstr("did you mean \"Phish / Hack\"?"))));
  EXPECT_THAT(Issues(MapChat(ChatLine(address, R"({\"Label\":\"Sanctoined\"})"))),
              ElementsAre(HasSubstr("did you mean \"Sanctioned\"?")));
  EXPECT_THAT(Issues(MapChat(ChatLine(address, R"({\"Name\":\"x\"})"))),
              ElementsAre("messages[2].content.Label: missing required report field Label"));
  EXPECT_THAT(Issues(MapChat(ChatLine(address, R"({\"Label\":\"\"})"))),
              ElementsAre("messages[2].content.Label: the required report field Label is empty"));
  EXPECT_THAT(Issues(MapChat(ChatLine(address, R"({\"Label\":3})"))),
              ElementsAre("messages[2].content.Label: must be a string, not number"));
  EXPECT_THAT(
      Issues(MapChat(ChatLine(address, R"({\"Label\":\"Scam\",\"Account Type\":\"EAO\"})"))),
      ElementsAre(AllOf(HasSubstr("messages[2].content.Account Type: unknown account "
                                  "type \"EAO\""),
                        HasSubstr("did you mean \"EOA\"?"))));
  EXPECT_THAT(Issues(MapChat(ChatLine(address, R"({\"Label\":\"Scam\",\"Tags\":[1]})"))),
              ElementsAre("messages[2].content.Tags[0]: a tag must be a string, not number"));
  EXPECT_THAT(Issues(MapChat(ChatLine(address, R"([\"Scam\"])"))),
              ElementsAre(HasSubstr("malformed report fields")));
  EXPECT_THAT(Issues(MapChat(ChatLine(address, R"({\"Label\": Scam})"))),
              ElementsAre(AllOf(HasSubstr("messages[2].content: malformed JSON in the report "
                                          "fields at byte column 11"))));
  // An unknown key is only a warning; null values count as empty.
  LineResult extra = MapChat(
      ChatLine(address, R"({\"Label\":\"scam\",\"Risk\":\"HIGH\",\"Name\":null,\"Tags\":null})"));
  ASSERT_EQ(extra.records.size(), 1u);
  EXPECT_EQ(extra.records[0].label(), "Scam");
  ASSERT_EQ(extra.issues.size(), 1u);
  EXPECT_EQ(extra.issues[0].severity(), v1::ValidationIssue::SEVERITY_WARNING);
  EXPECT_EQ(extra.issues[0].field(), "messages[2].content.Risk");
}

TEST(JsonlMapperTest, LegacyStructureErrors) {
  EXPECT_THAT(Issues(MapLegacy(R"({"prompt": "0x8888801af4d980682e47f1a9036e589479e835c5"})")),
              ElementsAre(HasSubstr("completion: missing \"completion\" (keys: prompt)")));
  EXPECT_THAT(Issues(MapLegacy(R"({"prompt": 5, "completion": "\"Label\": \"Scam\""})")),
              ElementsAre("prompt: \"prompt\" must be a string, not number"));
}

TEST(ChooseJsonlFormatTest, DetectsFromTheFirstLine) {
  ASSERT_OK_AND_ASSIGN(FormatChoice chat, ChooseJsonlFormat(v1::DATASET_FORMAT_UNSPECIFIED,
                                                            R"({"messages": []})", "f.jsonl", 2));
  EXPECT_EQ(chat.format, v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
  EXPECT_EQ(chat.explanation,
            "detected openai_chat_jsonl from line 2: a JSON object with a \"messages\" key");
  ASSERT_OK_AND_ASSIGN(FormatChoice legacy,
                       ChooseJsonlFormat(v1::DATASET_FORMAT_UNSPECIFIED, kLegacyLine, "f", 1));
  EXPECT_EQ(legacy.format, v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION);
  ASSERT_OK_AND_ASSIGN(FormatChoice given,
                       ChooseJsonlFormat(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL, " {", "f", 1));
  EXPECT_THAT(given.explanation, HasSubstr("given in the upload metadata"));
}

TEST(ChooseJsonlFormatTest, ExplainsWhatItCannotDetect) {
  EXPECT_THAT(
      ChooseJsonlFormat(v1::DATASET_FORMAT_UNSPECIFIED, R"({"a": 1, "b": 2})", "f.jsonl", 1),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          AllOf(HasSubstr("f.jsonl line 1: unknown JSON Lines format"), HasSubstr("keys a, b"))));
  EXPECT_THAT(ChooseJsonlFormat(v1::DATASET_FORMAT_UNSPECIFIED, R"({"a": )", "f.jsonl", 3),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("f.jsonl line 3: cannot detect the format"),
                             HasSubstr("at the end of the line"))));
  EXPECT_THAT(ChooseJsonlFormat(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL, "address,name", "f", 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is JSON Lines, but the line is not a JSON object")));
  EXPECT_THAT(ChooseJsonlFormat(v1::DATASET_FORMAT_OFAC_SDN, "{}", "f", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a CSV format")));
  EXPECT_THAT(JsonlMapper::Create(v1::DATASET_FORMAT_OFAC_SDN, MapperContext{}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NearestValueTest, PicksTheClosest) {
  const std::vector<std::string> labels = {"Legit", "Scam", "Phish / Hack"};
  EXPECT_EQ(NearestValue("scma", labels), "Scam");
  EXPECT_EQ(NearestValue("phish/hack", labels), "Phish / Hack");
  EXPECT_EQ(NearestValue("x", {}), "");
}

}  // namespace
}  // namespace ethscan::dataset

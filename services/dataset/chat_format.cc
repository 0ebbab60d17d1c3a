#include "services/dataset/chat_format.h"

#include "nlohmann/json.hpp"
#include "services/dataset/record_mapper.h"

namespace ethscan::dataset {
namespace {

using Json = nlohmann::ordered_json;

// Compact JSON; invalid UTF-8 is replaced instead of throwing.
std::string Dump(const Json& json) {
  return json.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace

const char kChatSystemPrompt[] =
    "You are ethscan, an Ethereum address intelligence assistant. The user sends one Ethereum "
    "address. Reply with one JSON object and nothing else, with these keys in this order: "
    "\"Name\" (public name of the address), \"Account Type\" (\"EOA\" or \"Smart Contract\"), "
    "\"Contract Type\" (for example \"Token\", \"DEX\", \"Bridge\"), \"Entity\" (organisation "
    "or project behind it), \"Label\" (one of \"Legit\", \"Phish / Hack\", \"Scam\", "
    "\"Exploit\", \"Heist\", \"Sanctioned\", \"Unknown\") and \"Tags\" (an array of strings). "
    "Use an empty string or an empty array for what is not known, and the label \"Unknown\" "
    "when no label is known.";

std::string ReportFieldsJson(const common::v1::AddressRecord& record) {
  Json tags = Json::array();
  for (const std::string& tag : record.tags()) tags.push_back(tag);
  Json fields = Json::object();
  fields["Name"] = record.name();
  fields["Account Type"] = record.account_type();
  fields["Contract Type"] = record.contract_type();
  fields["Entity"] = record.entity();
  fields["Label"] = record.label().empty() ? std::string(kLabelUnknown) : record.label();
  fields["Tags"] = std::move(tags);
  return Dump(fields);
}

std::vector<ChatMessage> BuildChatExample(const common::v1::AddressRecord& record) {
  return {ChatMessage{"system", kChatSystemPrompt, ""}, ChatMessage{"user", record.address(), ""},
          ChatMessage{"assistant", ReportFieldsJson(record), ""}};
}

std::string ChatExampleLine(const std::vector<ChatMessage>& messages) {
  Json list = Json::array();
  for (const ChatMessage& message : messages) {
    Json item = Json::object();
    item["role"] = message.role;
    item["content"] = message.content;
    if (!message.name.empty()) item["name"] = message.name;
    list.push_back(std::move(item));
  }
  Json example = Json::object();
  example["messages"] = std::move(list);
  std::string line = Dump(example);
  line.push_back('\n');
  return line;
}

std::string ChatExampleLine(const common::v1::AddressRecord& record) {
  return ChatExampleLine(BuildChatExample(record));
}

uint64_t ChatExampleTokens(const std::vector<ChatMessage>& messages) {
  static const uint64_t system_tokens =
      EstimateMessageTokens(ChatMessage{"system", kChatSystemPrompt, ""});
  uint64_t tokens = kTokensPerExamplePriming;
  for (const ChatMessage& message : messages) {
    tokens +=
        message.role == "system" && message.content == kChatSystemPrompt && message.name.empty()
            ? system_tokens
            : EstimateMessageTokens(message);
  }
  return tokens;
}

}  // namespace ethscan::dataset

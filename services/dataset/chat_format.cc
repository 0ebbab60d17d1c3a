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

std::string ChatExampleLine(const common::v1::AddressRecord& record) {
  Json messages = Json::array();
  messages.push_back(Json{{"role", "system"}, {"content", kChatSystemPrompt}});
  messages.push_back(Json{{"role", "user"}, {"content", record.address()}});
  messages.push_back(Json{{"role", "assistant"}, {"content", ReportFieldsJson(record)}});
  Json example = Json::object();
  example["messages"] = std::move(messages);
  std::string line = Dump(example);
  line.push_back('\n');
  return line;
}

}  // namespace ethscan::dataset

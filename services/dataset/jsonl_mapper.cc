#include "services/dataset/jsonl_mapper.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/eth/address.h"
#include "nlohmann/json.hpp"
#include "services/dataset/chat_format.h"
#include "services/dataset/record_merge.h"

namespace ethscan::dataset {
namespace {

using Json = nlohmann::json;
using common::v1::AddressRecord;
using v1::ValidationIssue;

constexpr ValidationIssue::Severity kError = ValidationIssue::SEVERITY_ERROR;
constexpr ValidationIssue::Severity kWarning = ValidationIssue::SEVERITY_WARNING;

// Why a text is not valid JSON.
struct ParseFailure {
  // 1-based byte position of the error within the text; 0 when unknown.
  size_t column = 0;
  std::string reason;
};

// nlohmann's message without its "[json.exception…] parse error at line 1, column 7: " prefix.
std::string CleanMessage(absl::string_view what) {
  if (absl::StartsWith(what, "[json.exception.")) {
    const size_t end = what.find("] ");
    if (end != absl::string_view::npos) what.remove_prefix(end + 2);
  }
  if (absl::StartsWith(what, "parse error")) {
    const size_t colon = what.find(": ");
    if (colon != absl::string_view::npos) what.remove_prefix(colon + 2);
  }
  return static_cast<std::string>(what);
}

// Parses `text` as one JSON value. Exceptions stay inside this function.
bool ParseJson(absl::string_view text, Json* out, ParseFailure* failure) {
  try {
    *out = Json::parse(text.data(), text.data() + text.size());
    return true;
  } catch (const Json::parse_error& e) {
    failure->column = e.byte;
    failure->reason = CleanMessage(e.what());
  } catch (const Json::exception& e) {
    failure->column = 0;
    failure->reason = CleanMessage(e.what());
  }
  return false;
}

// "at byte column 7" or "at the end of the line" for a position within a text of `size`.
std::string DescribeColumn(size_t column, size_t size, absl::string_view what) {
  if (column == 0) return "";
  if (column > size) return absl::StrCat(" at the end of the ", what);
  return absl::StrCat(" at byte column ", column);
}

// The keys of an object, for messages.
std::string KeysOf(const Json& object) {
  std::vector<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys.push_back(it.key());
  return keys.empty() ? "none" : absl::StrJoin(keys, ", ");
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same = absl::ascii_tolower(static_cast<unsigned char>(a[i - 1])) ==
                        absl::ascii_tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const std::vector<std::string>& AccountTypes() {
  static const auto* types = new std::vector<std::string>{kAccountEoa, kAccountContract};
  return *types;
}

// Collects the issues of one line.
class LineIssues {
 public:
  LineIssues(const MapperContext& context, uint64_t line, LineResult* result)
      : context_(context), line_(line), result_(result) {}

  void Add(std::string field, std::string reason, ValidationIssue::Severity severity) {
    ValidationIssue issue;
    issue.set_file(context_.file);
    issue.set_line(line_);
    issue.set_field(std::move(field));
    issue.set_reason(std::move(reason));
    issue.set_severity(severity);
    result_->issues.push_back(std::move(issue));
    if (severity == kError) result_->invalid = true;
  }
  void Error(std::string field, std::string reason) {
    Add(std::move(field), std::move(reason), kError);
  }

 private:
  const MapperContext& context_;
  const uint64_t line_;
  LineResult* const result_;
};

// Finds the address in a prompt or user message: the whole trimmed text, or the one
// "0x" + 40 hex digit token in it. Returns it in EIP-55 form, adding issues to `issues`.
std::optional<std::string> ExtractAddress(absl::string_view raw, const std::string& field,
                                          LineIssues& issues) {
  const absl::string_view text = absl::StripAsciiWhitespace(raw);
  if (text.empty()) {
    issues.Error(field, "empty; it must hold the address");
    return std::nullopt;
  }
  absl::string_view found = text;
  absl::StatusOr<eth::Address> address =
      eth::Address::Parse(text, eth::Address::ChecksumPolicy::kLenient);
  if (!address.ok()) {
    std::vector<absl::string_view> tokens;
    for (size_t i = 0; i + 42 <= text.size(); ++i) {
      if (text[i] != '0' || (text[i + 1] != 'x' && text[i + 1] != 'X')) continue;
      if (i > 0 && absl::ascii_isalnum(static_cast<unsigned char>(text[i - 1]))) continue;
      size_t j = i + 2;
      while (j < text.size() && absl::ascii_isxdigit(static_cast<unsigned char>(text[j]))) ++j;
      if (j - i != 42) continue;
      if (j < text.size() && absl::ascii_isalnum(static_cast<unsigned char>(text[j]))) continue;
      tokens.push_back(text.substr(i, 42));
      i = j - 1;
    }
    std::vector<std::string> distinct;
    for (absl::string_view token : tokens) {
      std::string lower = absl::AsciiStrToLower(token);
      if (std::find(distinct.begin(), distinct.end(), lower) == distinct.end()) {
        distinct.push_back(std::move(lower));
      }
    }
    if (distinct.empty()) {
      const bool hex_like = absl::StartsWith(text, "0x") || absl::StartsWith(text, "0X");
      issues.Error(field, hex_like ? static_cast<std::string>(address.status().message())
                                   : absl::StrCat("holds no address (\"0x\" and 40 hex digits): \"",
                                                  text.substr(0, 80), "\""));
      return std::nullopt;
    }
    if (distinct.size() > 1) {
      issues.Error(field, absl::StrCat("holds ", distinct.size(),
                                       " different addresses; an example is about one address"));
      return std::nullopt;
    }
    found = tokens.front();
    address = eth::Address::Parse(found, eth::Address::ChecksumPolicy::kLenient);
    if (!address.ok()) {
      issues.Error(field, static_cast<std::string>(address.status().message()));
      return std::nullopt;
    }
  }
  std::string checksummed = address->ToChecksumHex();
  if (!eth::Address::HasValidChecksum(found)) {
    issues.Add(field,
               absl::StrCat("bad EIP-55 checksum in address \"", found,
                            "\"; kept as the source published it, stored as ", checksummed),
               kWarning);
  }
  return checksummed;
}

// Reads a string report field; null counts as empty.
std::optional<std::string> StringField(const Json& value, const std::string& field,
                                       LineIssues& issues) {
  if (value.is_null()) return std::string();
  if (!value.is_string()) {
    issues.Error(field, absl::StrCat("must be a string, not ", value.type_name()));
    return std::nullopt;
  }
  return std::string(absl::StripAsciiWhitespace(value.get_ref<const std::string&>()));
}

// Fills the report fields of `record` from an assistant message or a completion.
void ParseReportFields(absl::string_view raw, const std::string& field, LineIssues& issues,
                       AddressRecord* record) {
  const absl::string_view text = absl::StripAsciiWhitespace(raw);
  const size_t leading = static_cast<size_t>(text.data() - raw.data());
  if (text.empty()) {
    issues.Error(field, "empty; it must hold the report fields");
    return;
  }
  const bool object_form = text.front() == '{';
  const std::string wrapped =
      object_form ? static_cast<std::string>(text) : absl::StrCat("{", text, "}");
  Json fields;
  ParseFailure failure;
  if (!ParseJson(wrapped, &fields, &failure)) {
    size_t column = failure.column;
    if (column > 0 && !object_form) column = column > 1 ? column - 1 : 1;
    if (column > 0 && column <= text.size()) column += leading;
    issues.Error(field,
                 absl::StrCat(object_form ? "malformed JSON in the report fields"
                                          : "malformed report fields (expected JSON or "
                                            "\"Name\": \"…\", \"Label\": \"…\" text)",
                              DescribeColumn(column, raw.size(), "text"), ": ", failure.reason));
    return;
  }
  if (!fields.is_object()) {
    issues.Error(field,
                 absl::StrCat("the report fields must be a JSON object, not ", fields.type_name()));
    return;
  }
  std::optional<std::string> label;
  bool label_present = false;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    const std::string key(absl::StripAsciiWhitespace(it.key()));
    const std::string subfield = absl::StrCat(field, ".", key);
    if (absl::EqualsIgnoreCase(key, "Tags")) {
      const Json& tags = it.value();
      if (tags.is_string()) {
        for (absl::string_view tag : absl::StrSplit(tags.get_ref<const std::string&>(), ',')) {
          tag = absl::StripAsciiWhitespace(tag);
          if (!tag.empty()) record->add_tags(static_cast<std::string>(tag));
        }
      } else if (tags.is_array()) {
        for (size_t i = 0; i < tags.size(); ++i) {
          if (!tags[i].is_string()) {
            issues.Error(absl::StrCat(subfield, "[", i, "]"),
                         absl::StrCat("a tag must be a string, not ", tags[i].type_name()));
            continue;
          }
          absl::string_view tag = absl::StripAsciiWhitespace(tags[i].get_ref<const std::string&>());
          if (!tag.empty()) record->add_tags(static_cast<std::string>(tag));
        }
      } else if (!tags.is_null()) {
        issues.Error(subfield, absl::StrCat("must be an array of strings or a string, not ",
                                            tags.type_name()));
      }
      continue;
    }
    std::string* target = nullptr;
    if (absl::EqualsIgnoreCase(key, "Name")) {
      target = record->mutable_name();
    } else if (absl::EqualsIgnoreCase(key, "Account Type")) {
      target = record->mutable_account_type();
    } else if (absl::EqualsIgnoreCase(key, "Contract Type")) {
      target = record->mutable_contract_type();
    } else if (absl::EqualsIgnoreCase(key, "Entity")) {
      target = record->mutable_entity();
    } else if (absl::EqualsIgnoreCase(key, "Label")) {
      label_present = true;
    } else {
      issues.Add(subfield,
                 absl::StrCat("unknown report field \"", key,
                              "\" ignored; known: ", absl::StrJoin(kReportFieldNames, ", ")),
                 kWarning);
      continue;
    }
    std::optional<std::string> value = StringField(it.value(), subfield, issues);
    if (!value.has_value()) continue;
    if (target == nullptr) {
      label = std::move(value);
    } else {
      *target = *std::move(value);
    }
  }
  const std::string label_field = absl::StrCat(field, ".Label");
  // A Label of the wrong type was reported by StringField.
  if (!label_present) {
    issues.Error(label_field, "missing required report field Label");
  } else if (label.has_value() && label->empty()) {
    issues.Error(label_field, "the required report field Label is empty");
  } else if (label.has_value()) {
    const std::string canonical = CanonicalLabel(*label);
    if (canonical.empty()) {
      issues.Error(label_field, absl::StrCat("unknown label \"", *label, "\"; did you mean \"",
                                             NearestValue(*label, ReportLabels()),
                                             "\"? allowed: ", absl::StrJoin(ReportLabels(), ", ")));
    } else {
      record->set_label(canonical);
      record->set_original_label(*label);
    }
  }
  if (!record->account_type().empty()) {
    bool known = false;
    for (const std::string& type : AccountTypes()) {
      if (absl::EqualsIgnoreCase(record->account_type(), type)) {
        record->set_account_type(type);
        known = true;
      }
    }
    if (!known) {
      issues.Error(
          absl::StrCat(field, ".Account Type"),
          absl::StrCat("unknown account type \"", record->account_type(), "\"; did you mean \"",
                       NearestValue(record->account_type(), AccountTypes()),
                       "\"? allowed: EOA, Smart Contract, or empty"));
    }
  }
}

}  // namespace

std::string NearestValue(absl::string_view value, const std::vector<std::string>& allowed) {
  std::string best;
  size_t best_distance = 0;
  for (const std::string& candidate : allowed) {
    const size_t distance = EditDistance(value, candidate);
    if (best.empty() || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

absl::StatusOr<FormatChoice> ChooseJsonlFormat(DatasetFormat requested, absl::string_view text,
                                               absl::string_view file, uint64_t line) {
  if (requested != v1::DATASET_FORMAT_UNSPECIFIED) {
    if (!IsJsonlFormat(requested)) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, " line ", line, ": format ", FormatName(requested),
                       " is a CSV format, but the file starts with a JSON object"));
    }
    const absl::string_view start = absl::StripLeadingAsciiWhitespace(text);
    if (start.empty() || start.front() != '{') {
      return absl::InvalidArgumentError(absl::StrCat(
          file, " line ", line, ": format ", FormatName(requested),
          " is JSON Lines, but the line is not a JSON object: \"", start.substr(0, 80), "\""));
    }
    return FormatChoice{
        requested, absl::StrCat("format ", FormatName(requested), " given in the upload metadata")};
  }
  Json first;
  ParseFailure failure;
  if (!ParseJson(text, &first, &failure)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, " line ", line,
                     ": cannot detect the format: the first line starts like JSON but "
                     "is malformed",
                     DescribeColumn(failure.column, text.size(), "line"), ": ", failure.reason));
  }
  if (!first.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, " line ", line, ": cannot detect the format: the first line is a JSON ",
                     first.type_name(), ", not an object"));
  }
  if (first.contains("messages")) {
    return FormatChoice{
        v1::DATASET_FORMAT_OPENAI_CHAT_JSONL,
        absl::StrCat("detected ", FormatName(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL), " from line ",
                     line, ": a JSON object with a \"messages\" key")};
  }
  if (first.contains("prompt") || first.contains("completion")) {
    return FormatChoice{
        v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION,
        absl::StrCat("detected ", FormatName(v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION),
                     " from line ", line, ": a JSON object with \"prompt\"/\"completion\" keys")};
  }
  return absl::InvalidArgumentError(
      absl::StrCat(file, " line ", line,
                   ": unknown JSON Lines format: the first object has the keys ", KeysOf(first),
                   "; expected \"messages\" (OpenAI chat) or \"prompt\" and \"completion\" "
                   "(legacy)"));
}

absl::StatusOr<std::unique_ptr<JsonlMapper>> JsonlMapper::Create(DatasetFormat format,
                                                                 MapperContext context) {
  if (!IsJsonlFormat(format)) {
    return absl::InvalidArgumentError(
        absl::StrCat("format ", FormatName(format), " is not a JSON Lines format"));
  }
  return std::unique_ptr<JsonlMapper>(new JsonlMapper(format, std::move(context)));
}

void JsonlMapper::Map(uint64_t line, absl::string_view text, bool has_line_break,
                      LineResult* result) const {
  result->records.clear();
  result->issues.clear();
  result->invalid = false;
  LineIssues issues(context_, line, result);
  Json example;
  ParseFailure failure;
  if (!ParseJson(text, &example, &failure)) {
    issues.Error("",
                 absl::StrCat("malformed JSON", DescribeColumn(failure.column, text.size(), "line"),
                              ": ", failure.reason,
                              has_line_break ? ""
                                             : " (the last line has no line break; "
                                               "the file may be truncated)"));
    return;
  }
  if (!example.is_object()) {
    issues.Error("", absl::StrCat("the line is a JSON ", example.type_name(), ", not an object"));
    return;
  }
  AddressRecord record;
  std::optional<std::string> address;
  if (format_ == v1::DATASET_FORMAT_OPENAI_CHAT_JSONL) {
    auto messages_it = example.find("messages");
    if (messages_it == example.end()) {
      const bool legacy = example.contains("prompt") || example.contains("completion");
      issues.Error("messages",
                   absl::StrCat("missing the \"messages\" array (keys: ", KeysOf(example), ")",
                                legacy ? "; this looks like legacy prompt/completion: "
                                         "upload it with that format or let the "
                                         "format be detected"
                                       : ""));
      return;
    }
    const Json& messages = *messages_it;
    if (!messages.is_array() || messages.empty()) {
      issues.Error("messages",
                   messages.is_array()
                       ? std::string("the \"messages\" array is empty")
                       : absl::StrCat("\"messages\" must be an array, not ", messages.type_name()));
      return;
    }
    std::optional<size_t> last_user;
    for (size_t i = 0; i < messages.size(); ++i) {
      const std::string prefix = absl::StrCat("messages[", i, "]");
      const Json& message = messages[i];
      if (!message.is_object()) {
        issues.Error(prefix,
                     absl::StrCat("a message must be an object, not ", message.type_name()));
        continue;
      }
      auto role_it = message.find("role");
      if (role_it == message.end() || !role_it->is_string()) {
        issues.Error(absl::StrCat(prefix, ".role"), "missing role (a string)");
        continue;
      }
      const std::string& role = role_it->get_ref<const std::string&>();
      if (role != "system" && role != "user" && role != "assistant") {
        issues.Error(absl::StrCat(prefix, ".role"),
                     absl::StrCat("unknown role \"", role, "\"; allowed: system, user, assistant"));
        continue;
      }
      auto content_it = message.find("content");
      if (content_it == message.end() || !content_it->is_string()) {
        issues.Error(absl::StrCat(prefix, ".content"),
                     content_it == message.end()
                         ? std::string("missing content")
                         : absl::StrCat("content must be a string, not ", content_it->type_name()));
        continue;
      }
      if (role != "system" &&
          absl::StripAsciiWhitespace(content_it->get_ref<const std::string&>()).empty()) {
        issues.Error(absl::StrCat(prefix, ".content"), absl::StrCat("empty ", role, " content"));
        continue;
      }
      auto weight_it = message.find("weight");
      if (weight_it != message.end()) {
        if (role != "assistant") {
          issues.Error(absl::StrCat(prefix, ".weight"), "only assistant messages take a weight");
        } else if (!weight_it->is_number_integer() ||
                   (weight_it->get<int64_t>() != 0 && weight_it->get<int64_t>() != 1)) {
          issues.Error(absl::StrCat(prefix, ".weight"),
                       absl::StrCat("weight must be 0 or 1, not ", weight_it->dump()));
        }
      }
      if (role == "user") last_user = i;
    }
    if (result->invalid) return;
    const size_t last = messages.size() - 1;
    if (messages[last]["role"] != "assistant") {
      issues.Error("messages", absl::StrCat("the last message is the ",
                                            messages[last]["role"].get<std::string>(),
                                            "'s; an example must end with the assistant's answer"));
      return;
    }
    if (!last_user.has_value()) {
      issues.Error("messages", "no user message; the user message holds the address");
      return;
    }
    address = ExtractAddress(messages[*last_user]["content"].get_ref<const std::string&>(),
                             absl::StrCat("messages[", *last_user, "].content"), issues);
    ParseReportFields(messages[last]["content"].get_ref<const std::string&>(),
                      absl::StrCat("messages[", last, "].content"), issues, &record);
  } else {
    for (const char* key : {"prompt", "completion"}) {
      auto it = example.find(key);
      if (it == example.end() || !it->is_string()) {
        issues.Error(key,
                     it == example.end()
                         ? absl::StrCat("missing \"", key, "\" (keys: ", KeysOf(example), ")")
                         : absl::StrCat("\"", key, "\" must be a string, not ", it->type_name()));
      }
    }
    if (result->invalid) return;
    address = ExtractAddress(example["prompt"].get_ref<const std::string&>(), "prompt", issues);
    ParseReportFields(example["completion"].get_ref<const std::string&>(), "completion", issues,
                      &record);
  }
  if (result->invalid || !address.has_value()) {
    result->invalid = true;
    return;
  }
  record.set_address(*std::move(address));
  record.set_chain_id(context_.chain_id);
  record.set_source(context_.source);
  record.set_line(line);
  result->records.push_back(std::move(record));
}

}  // namespace ethscan::dataset

#include "services/dataset/jsonl_mapper.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/eth/address.h"
#include "common/eth/hash.h"
#include "common/text/quote.h"
#include "nlohmann/json.hpp"
#include "services/dataset/chat_format.h"
#include "services/dataset/record_merge.h"
#include "simdjson.h"

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

// The parser's message quotes the token it stopped at, which may be most of the line; messages
// keep this many characters of it.
constexpr size_t kMaxJsonReasonChars = 160;

// Parses `text` as one JSON value. Exceptions stay inside this function.
bool ParseJson(absl::string_view text, Json* out, ParseFailure* failure) {
  try {
    *out = Json::parse(text.data(), text.data() + text.size());
    return true;
  } catch (const Json::parse_error& e) {
    failure->column = e.byte;
    failure->reason = text::SingleLine(CleanMessage(e.what()), kMaxJsonReasonChars);
  } catch (const Json::exception& e) {
    failure->column = 0;
    failure->reason = text::SingleLine(CleanMessage(e.what()), kMaxJsonReasonChars);
  }
  return false;
}

// "at byte column 7" or "at the end of the line" for a position within a text of `size`.
std::string DescribeColumn(size_t column, size_t size, absl::string_view what) {
  if (column == 0) return "";
  if (column > size) return absl::StrCat(" at the end of the ", what);
  return absl::StrCat(" at byte column ", column);
}

// The keys of an object, for messages: the first few, each escaped and cut short.
std::string KeysOf(const Json& object) {
  constexpr size_t kShownKeys = 10;
  std::string keys;
  size_t count = 0;
  for (auto it = object.begin(); it != object.end(); ++it, ++count) {
    if (count < kShownKeys)
      absl::StrAppend(&keys, count == 0 ? "" : ", ", text::Escape(it.key(), 40));
  }
  if (count > kShownKeys) absl::StrAppend(&keys, " and ", count - kShownKeys, " more");
  return count == 0 ? "none" : keys;
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

// Collects the issues of one line.
class LineIssues {
 public:
  LineIssues(const MapperContext& context, uint64_t line, LineResult* result)
      : context_(context), line_(line), result_(result) {}

  void Add(std::string field, absl::string_view kind, std::string reason,
           ValidationIssue::Severity severity) {
    result_->issues.push_back(
        MakeIssue(context_.file, line_, field, kind, std::move(reason), severity));
    if (severity == kError) result_->invalid = true;
  }
  void Error(std::string field, absl::string_view kind, std::string reason) {
    Add(std::move(field), kind, std::move(reason), kError);
  }

 private:
  const MapperContext& context_;
  const uint64_t line_;
  LineResult* const result_;
};

// The address found in a prompt or user message, or why there is none.
struct AddressLookup {
  // Set when exactly one address was found.
  std::optional<eth::Address> address;
  // Its spelling in the text.
  absl::string_view found;
  // Why no address was found, when `address` is unset.
  std::string error;
};

// Finds the address in a prompt or user message: the whole trimmed text, or the one
// "0x" + 40 hex digit token in it.
AddressLookup LookUpAddress(absl::string_view raw) {
  AddressLookup lookup;
  const absl::string_view text = absl::StripAsciiWhitespace(raw);
  if (text.empty()) {
    lookup.error = "empty; it must hold the address";
    return lookup;
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
      lookup.error = hex_like ? AddressError(text, address.status())
                              : absl::StrCat("holds no address (\"0x\" and 40 hex digits): ",
                                             text::Quote(text));
      return lookup;
    }
    if (distinct.size() > 1) {
      lookup.error = absl::StrCat("holds ", distinct.size(),
                                  " different addresses; an example is about one address");
      return lookup;
    }
    found = tokens.front();
    address = eth::Address::Parse(found, eth::Address::ChecksumPolicy::kLenient);
    if (!address.ok()) {
      lookup.error = AddressError(found, address.status());
      return lookup;
    }
  }
  lookup.address = *address;
  lookup.found = found;
  return lookup;
}

// LookUpAddress for the reference path: returns the address in EIP-55 form, adding issues
// to `issues`.
std::optional<std::string> ExtractAddress(absl::string_view raw, const std::string& field,
                                          LineIssues& issues) {
  AddressLookup lookup = LookUpAddress(raw);
  if (!lookup.address.has_value()) {
    issues.Error(field, issue_kind::kInvalidAddress, std::move(lookup.error));
    return std::nullopt;
  }
  std::string checksummed = lookup.address->ToChecksumHex();
  if (!eth::Address::HasValidChecksum(lookup.found, checksummed)) {
    issues.Add(field, issue_kind::kBadChecksum,
               absl::StrCat("bad EIP-55 checksum in address ", text::Quote(lookup.found),
                            "; kept as the source published it, stored as ", checksummed),
               kWarning);
  }
  return checksummed;
}

// Reads a string report field; null counts as empty.
std::optional<std::string> StringField(const Json& value, const std::string& field,
                                       LineIssues& issues) {
  if (value.is_null()) return std::string();
  if (!value.is_string()) {
    issues.Error(field, issue_kind::kBadExample,
                 absl::StrCat("must be a string, not ", value.type_name()));
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
    issues.Error(field, issue_kind::kBadExample, "empty; it must hold the report fields");
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
    issues.Error(field, issue_kind::kMalformedJson,
                 absl::StrCat(object_form ? "malformed JSON in the report fields"
                                          : "malformed report fields (expected JSON or "
                                            "\"Name\": \"…\", \"Label\": \"…\" text)",
                              DescribeColumn(column, raw.size(), "text"), ": ", failure.reason));
    return;
  }
  if (!fields.is_object()) {
    issues.Error(field, issue_kind::kBadExample,
                 absl::StrCat("the report fields must be a JSON object, not ", fields.type_name()));
    return;
  }
  std::optional<std::string> label;
  bool label_present = false;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    const std::string key(absl::StripAsciiWhitespace(it.key()));
    const std::string subfield = absl::StrCat(field, ".", text::Escape(key, 40));
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
            issues.Error(absl::StrCat(subfield, "[", i, "]"), issue_kind::kBadExample,
                         absl::StrCat("a tag must be a string, not ", tags[i].type_name()));
            continue;
          }
          absl::string_view tag = absl::StripAsciiWhitespace(tags[i].get_ref<const std::string&>());
          if (!tag.empty()) record->add_tags(static_cast<std::string>(tag));
        }
      } else if (!tags.is_null()) {
        issues.Error(
            subfield, issue_kind::kBadExample,
            absl::StrCat("must be an array of strings or a string, not ", tags.type_name()));
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
      issues.Add(subfield, issue_kind::kUnknownField,
                 absl::StrCat("unknown report field ", text::Quote(key),
                              " ignored; known: ", absl::StrJoin(kReportFieldNames, ", ")),
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
    issues.Error(label_field, issue_kind::kEmptyLabel, "missing required report field Label");
  } else if (label.has_value() && label->empty()) {
    issues.Error(label_field, issue_kind::kEmptyLabel, "the required report field Label is empty");
  } else if (label.has_value()) {
    const std::string canonical = common::CanonicalReportLabel(*label);
    if (canonical.empty()) {
      issues.Error(label_field, issue_kind::kUnknownLabel,
                   absl::StrCat("unknown label ", text::Quote(*label), "; did you mean ",
                                text::Quote(NearestValue(*label, ReportLabels())),
                                "? allowed: ", absl::StrJoin(ReportLabels(), ", ")));
    } else {
      record->set_label(canonical);
      record->set_original_label(*label);
    }
  }
  if (!record->account_type().empty()) {
    std::optional<std::string> type = CanonicalAccountType(record->account_type());
    if (type.has_value()) {
      record->set_account_type(*std::move(type));
    } else {
      issues.Error(absl::StrCat(field, ".Account Type"), issue_kind::kUnknownAccountType,
                   absl::StrCat("unknown account type ", text::Quote(record->account_type()),
                                "; did you mean ",
                                text::Quote(NearestValue(record->account_type(), AccountTypes())),
                                "? allowed: EOA, Smart Contract, or empty"));
    }
  }
}

}  // namespace

std::string NearestValue(absl::string_view value, const std::vector<std::string>& allowed) {
  // The allowed values are short: only the start of a long value is compared, which is far
  // from all of them either way, so that a megabyte cell costs no more than a word.
  constexpr size_t kComparedChars = 64;
  value = value.substr(0, kComparedChars);
  const std::string* best = nullptr;
  size_t best_distance = 0;
  auto consider = [&](absl::string_view spelling, const std::string& candidate) {
    const size_t distance = EditDistance(value, spelling);
    if (best == nullptr || distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  };
  for (const std::string& candidate : allowed) consider(candidate, candidate);
  // Each single word of a several-word value also stands for it ("phish" -> "Phish / Hack").
  for (const std::string& candidate : allowed) {
    for (absl::string_view word :
         absl::StrSplit(candidate, absl::ByAnyChar(" /"), absl::SkipEmpty())) {
      if (word.size() != candidate.size()) consider(word, candidate);
    }
  }
  return best == nullptr ? std::string() : *best;
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
      return absl::InvalidArgumentError(
          absl::StrCat(file, " line ", line, ": format ", FormatName(requested),
                       " is JSON Lines, but the line is not a JSON object: ", text::Quote(start)));
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

namespace {

// Parses with simdjson's DOM parser, which validates the whole text (structure, UTF-8,
// escapes, numbers, nothing after the value) and picks the fastest kernel for the CPU at run
// time. Each instance reuses one parser and one padded input buffer; a parsed element stays
// valid until the next Parse on the same instance.
class SimdParser {
 public:
  // Parses `text` where it lies, which must be followed by SIMDJSON_PADDING readable bytes
  // (whatever they hold); false when it is not valid JSON (or is too deep).
  bool ParseInPlace(absl::string_view text, simdjson::dom::element* out) {
    return parser_.parse(text.data(), text.size(), /*realloc_if_needed=*/false).get(*out) ==
           simdjson::SUCCESS;
  }

  // Parses a padded copy of prefix + text + suffix; false when it is not valid JSON (or is
  // too deep).
  bool Parse(absl::string_view prefix, absl::string_view text, absl::string_view suffix,
             simdjson::dom::element* out) {
    const size_t size = prefix.size() + text.size() + suffix.size();
    if (size + simdjson::SIMDJSON_PADDING > capacity_) {
      capacity_ = std::max(size + simdjson::SIMDJSON_PADDING, 2 * capacity_);
      buffer_ = std::make_unique<char[]>(capacity_);
    }
    char* p = buffer_.get();
    std::memcpy(p, prefix.data(), prefix.size());
    std::memcpy(p + prefix.size(), text.data(), text.size());
    std::memcpy(p + prefix.size() + text.size(), suffix.data(), suffix.size());
    std::memset(p + size, 0, simdjson::SIMDJSON_PADDING);
    return parser_.parse(p, size, /*realloc_if_needed=*/false).get(*out) == simdjson::SUCCESS;
  }

 private:
  simdjson::dom::parser parser_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
};

}  // namespace

// An address as written in a clean line: "0x" (or "0X") and 40 hex digits.
struct JsonlMapper::PlainAddress {
  std::array<uint8_t, 20> bytes;
  // The digits lowercased, and as written.
  char lower[40];
  char digits[40];
  bool has_lower;
  bool has_upper;
};

namespace {

// Decodes `text` when it is exactly "0x" (or "0X") and 40 hex digits; false for anything
// else. Branch-free per digit: hex digits are random, so branches would mispredict.
bool DecodePlainAddress(absl::string_view text, JsonlMapper::PlainAddress* out) {
  if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return false;
  if (!eth::DecodeHexDigits(text.substr(2), &out->bytes)) return false;
  const auto* digits = reinterpret_cast<const uint8_t*>(text.data() + 2);
  bool has_lower = false;
  bool has_upper = false;
  for (size_t i = 0; i < 40; ++i) {
    // Setting bit 5 lowercases a hex letter and leaves a digit alone.
    out->lower[i] = static_cast<char>(digits[i] | 0x20);
    has_lower |= static_cast<uint8_t>(digits[i] - 'a') < 6;
    has_upper |= static_cast<uint8_t>(digits[i] - 'A') < 6;
  }
  std::memcpy(out->digits, digits, 40);
  out->has_lower = has_lower;
  out->has_upper = has_upper;
  return true;
}

// The EIP-55 form of a decoded address with the given eth::ChecksumUppercaseMask, into `out`; false
// when the address was written in mixed case that is not that form (a checksum warning).
bool ChecksummedForm(const JsonlMapper::PlainAddress& address, uint64_t mask, char out[42]) {
  out[0] = '0';
  out[1] = 'x';
  for (size_t i = 0; i < 40; ++i) {
    // 'a' - 'A' == 32.
    out[2 + i] = static_cast<char>(address.lower[i] - (((mask >> i) & 1) << 5));
  }
  return !(address.has_lower && address.has_upper) || std::memcmp(out + 2, address.digits, 40) == 0;
}

// Parses a whole line, in place when `padded`; false unless it is a valid JSON object.
bool ParseObject(SimdParser& parser, absl::string_view text, bool padded,
                 simdjson::dom::object* out) {
  simdjson::dom::element root;
  if (!(padded ? parser.ParseInPlace(text, &root) : parser.Parse("", text, "", &root))) {
    return false;
  }
  return root.get_object().get(*out) == simdjson::SUCCESS;
}

// A string element, or false for any other type.
bool GetString(simdjson::dom::element element, std::string_view* out) {
  return element.get_string().get(*out) == simdjson::SUCCESS;
}

// The report fields the fast path knows; any other key sends the line to the reference path.
enum ReportKey { kName, kAccountType, kContractType, kEntity, kLabel, kTags, kReportKeyCount };

// Whether `key` is `name` up to letter case; the exact spelling, the common case, is checked
// first.
bool IsKey(absl::string_view key, absl::string_view name) {
  return key == name || absl::EqualsIgnoreCase(key, name);
}

int ClassifyReportKey(absl::string_view key) {
  // By length first: this runs for every key of every line.
  switch (key.size()) {
    case 4:
      if (IsKey(key, "Name")) return kName;
      if (IsKey(key, "Tags")) return kTags;
      return -1;
    case 5:
      return IsKey(key, "Label") ? kLabel : -1;
    case 6:
      return IsKey(key, "Entity") ? kEntity : -1;
    case 12:
      return IsKey(key, "Account Type") ? kAccountType : -1;
    case 13:
      return IsKey(key, "Contract Type") ? kContractType : -1;
    default:
      return -1;
  }
}

// Adds the trimmed, non-empty pieces of a ','-separated tag string.
void AddTagList(absl::string_view tags, AddressRecord* record) {
  for (absl::string_view tag : absl::StrSplit(tags, ',')) {
    tag = absl::StripAsciiWhitespace(tag);
    if (!tag.empty()) record->add_tags(tag.data(), tag.size());
  }
}

// The fast path's ParseReportFields: true when the fields map with no issue at all.
bool FastReportFields(absl::string_view raw, SimdParser& parser, AddressRecord* record) {
  const absl::string_view text = absl::StripAsciiWhitespace(raw);
  if (text.empty()) return false;
  const bool object_form = text.front() == '{';
  simdjson::dom::element root;
  if (!parser.Parse(object_form ? "" : "{", text, object_form ? "" : "}", &root)) return false;
  simdjson::dom::object fields;
  if (root.get_object().get(fields) != simdjson::SUCCESS) return false;
  bool seen[kReportKeyCount] = {};
  absl::string_view values[kReportKeyCount];
  for (simdjson::dom::key_value_pair member : fields) {
    const int key = ClassifyReportKey(
        absl::StripAsciiWhitespace(absl::string_view(member.key.data(), member.key.size())));
    if (key < 0 || seen[key]) return false;
    seen[key] = true;
    const simdjson::dom::element_type type = member.value.type();
    std::string_view value;
    if (type == simdjson::dom::element_type::NULL_VALUE) continue;
    if (key == kTags && type == simdjson::dom::element_type::ARRAY) {
      simdjson::dom::array tags;
      if (member.value.get_array().get(tags) != simdjson::SUCCESS) return false;
      for (simdjson::dom::element tag : tags) {
        if (!GetString(tag, &value)) return false;
        const absl::string_view trimmed =
            absl::StripAsciiWhitespace(absl::string_view(value.data(), value.size()));
        if (!trimmed.empty()) record->add_tags(trimmed.data(), trimmed.size());
      }
      continue;
    }
    if (!GetString(member.value, &value)) return false;
    if (key == kTags) {
      AddTagList(absl::string_view(value.data(), value.size()), record);
    } else {
      values[key] = absl::StripAsciiWhitespace(absl::string_view(value.data(), value.size()));
    }
  }
  const absl::string_view label = values[kLabel];
  if (label.empty()) return false;
  const std::string canonical = common::CanonicalReportLabel(label);
  if (canonical.empty()) return false;
  const absl::string_view account_type = values[kAccountType];
  if (!account_type.empty()) {
    std::optional<std::string> type = CanonicalAccountType(account_type);
    if (!type.has_value()) return false;
    record->set_account_type(*std::move(type));
  }
  record->set_name(values[kName].data(), values[kName].size());
  record->set_contract_type(values[kContractType].data(), values[kContractType].size());
  record->set_entity(values[kEntity].data(), values[kEntity].size());
  record->set_label(canonical);
  record->set_original_label(label.data(), label.size());
  return true;
}

// What the fast path gathers from a chat example's messages, one message at a time: false as
// soon as a message is anything but clean.
class ChatMessages {
 public:
  // Adds the elements of `messages`, which must be an array.
  bool AddAll(simdjson::dom::element messages) {
    simdjson::dom::array array;
    if (messages.get_array().get(array) != simdjson::SUCCESS) return false;
    for (simdjson::dom::element message : array) {
      if (!Add(message)) return false;
    }
    return true;
  }

  // Counts a system message known to be clean (with no weight).
  void AddSystemMessage() { last_role_ = "system"; }

  // Whether the messages make an example: the last one the assistant's, a user one before.
  bool Complete() const { return last_role_ == "assistant" && has_user_; }
  absl::string_view last_user() const { return last_user_; }
  absl::string_view last_content() const { return last_content_; }

 private:
  bool Add(simdjson::dom::element element) {
    simdjson::dom::object message;
    if (element.get_object().get(message) != simdjson::SUCCESS) return false;
    std::string_view role;
    std::string_view content;
    bool has_role = false;
    bool has_content = false;
    bool has_weight = false;
    simdjson::dom::element weight;
    for (simdjson::dom::key_value_pair member : message) {
      if (member.key == "role") {
        if (has_role || !GetString(member.value, &role)) return false;
        has_role = true;
      } else if (member.key == "content") {
        if (has_content || !GetString(member.value, &content)) return false;
        has_content = true;
      } else if (member.key == "weight") {
        if (has_weight) return false;
        has_weight = true;
        weight = member.value;
      }
    }
    if (!has_role || !has_content) return false;
    const bool user = role == "user";
    const bool assistant = role == "assistant";
    if (!user && !assistant && role != "system") return false;
    const absl::string_view text(content.data(), content.size());
    if ((user || assistant) && absl::StripAsciiWhitespace(text).empty()) return false;
    if (has_weight) {
      int64_t value = 0;
      if (!assistant || weight.get_int64().get(value) != simdjson::SUCCESS ||
          (value != 0 && value != 1)) {
        return false;
      }
    }
    if (user) {
      last_user_ = text;
      has_user_ = true;
    }
    last_role_ = absl::string_view(role.data(), role.size());
    last_content_ = text;
    return true;
  }

  absl::string_view last_user_;
  bool has_user_ = false;
  absl::string_view last_role_;
  absl::string_view last_content_;
};

// How a compact example with a system message first begins (the chat export's form).
constexpr absl::string_view kSystemMessageStart = R"({"messages":[{"role":"system","content":")";

// Remembers, from a clean line (valid JSON, so its strings are well-formed), the bytes up to
// and including the comma after its first message when that message is a system message in
// the compact form; a later line that begins with the same bytes is the same up to there.
void LearnSystemPrefix(absl::string_view text, std::string* prefix) {
  if (!absl::StartsWith(text, kSystemMessageStart)) return;
  // The content string ends at the first quote not escaped by an odd number of backslashes.
  size_t end = kSystemMessageStart.size();
  while (true) {
    end = text.find('"', end);
    if (end == absl::string_view::npos) return;
    size_t backslashes = 0;
    while (text[end - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) break;
    ++end;
  }
  constexpr absl::string_view kEnd = R"("},)";
  if (text.substr(end, kEnd.size()) != kEnd) return;
  const absl::string_view learned = text.substr(0, end + kEnd.size());
  if (learned != *prefix) prefix->assign(learned.data(), learned.size());
}

}  // namespace

// Parsers for a line, and for the report fields inside it (whose text lives in `line`'s
// buffers).
struct JsonlMapper::ParserPair {
  SimdParser line;
  SimdParser fields;
  // LearnSystemPrefix's bytes from the last clean line that had them; empty before.
  std::string system_prefix;
};

class JsonlMapper::FastParser {
 public:
  // A line mapped ahead of time.
  struct Prepared {
    uint64_t line = 0;
    const char* data = nullptr;
    size_t size = 0;
    // SIMDJSON_PADDING bytes of the same chunk follow the line, so it is parsed in place.
    bool padded = false;
    // False when the fast path did not take the line.
    bool mapped = false;
    LineResult result;
    // The record's address is left for TakePrepared to complete from `plain` (with the case
    // memo), which saves the Keccak-256 of an address met before.
    bool checksum_deferred = false;
    PlainAddress plain;
  };
  // Lines mapped ahead; slots beyond `count` keep their allocations for reuse.
  struct PreparedLines {
    std::vector<Prepared> lines;
    size_t count = 0;
  };

  // Moves the prepared result of (`line`, `text`) into `result`; false when there is none.
  bool TakePrepared(uint64_t line, absl::string_view text, LineResult* result) {
    while (next < ready.count && ready.lines[next].line < line) ++next;
    if (next == ready.count || ready.lines[next].line != line) return false;
    Prepared& prepared = ready.lines[next++];
    if (!prepared.mapped || prepared.data != text.data() || prepared.size != text.size()) {
      return false;
    }
    if (prepared.checksum_deferred) {
      // Lines are taken in order, so the memo can start loading a later line's entry now.
      constexpr size_t kAhead = 8;
      if (next + kAhead <= ready.count && ready.lines[next + kAhead - 1].checksum_deferred) {
        case_memo->WillAsk(ready.lines[next + kAhead - 1].result.addresses[0]);
      }
      const PlainAddress& plain = prepared.plain;
      const uint64_t mask = case_memo->UppercaseMask(prepared.result.addresses[0],
                                                     absl::string_view(plain.lower, 40));
      char checksummed[42];
      // A checksum warning: Map's other paths name it.
      if (!ChecksummedForm(plain, mask, checksummed)) return false;
      prepared.result.records[0].set_address(checksummed, sizeof(checksummed));
    }
    std::swap(*result, prepared.result);
    ++taken;
    return true;
  }

  // Set by SetAddressCaseMemo; only TakePrepared (on the first thread) calls it.
  AddressCaseMemo* case_memo = nullptr;

  // Claims planned lines of `pending` in blocks, from the front (the second thread) or the
  // back (the first thread); [begin, end) of the first block, empty when all are claimed.
  std::pair<size_t, size_t> Claim(bool from_back) {
    constexpr uint64_t kBlock = 8;
    uint64_t bounds = unclaimed.load(std::memory_order_relaxed);
    while (true) {
      const uint64_t front = bounds & 0xFFFFFFFF;
      const uint64_t back = bounds >> 32;
      if (front >= back) return {0, 0};
      const uint64_t take = std::min(kBlock, back - front);
      const uint64_t next = from_back ? (back - take) << 32 | front : back << 32 | (front + take);
      if (unclaimed.compare_exchange_weak(bounds, next, std::memory_order_relaxed)) {
        return from_back ? std::pair<size_t, size_t>(back - take, back)
                         : std::pair<size_t, size_t>(front, front + take);
      }
    }
  }

  // Map's parsers, and those of the second thread (which may run at the same time).
  ParserPair main;
  ParserPair ahead;
  // Planned by PlanAhead, mapped by MapPlanned; read by Map after CommitPrepared.
  PreparedLines pending;
  PreparedLines ready;
  // The planned lines of `pending` nobody claimed yet: the first in the low 32 bits, the end
  // in the high ones.
  std::atomic<uint64_t> unclaimed{0};
  // The next line of `ready` to look at.
  size_t next = 0;
  // Lines TakePrepared gave to Map.
  uint64_t taken = 0;
};

JsonlMapper::JsonlMapper(DatasetFormat format, MapperContext context)
    : format_(format), context_(std::move(context)), fast_(std::make_unique<FastParser>()) {}

JsonlMapper::~JsonlMapper() = default;

absl::StatusOr<std::unique_ptr<JsonlMapper>> JsonlMapper::Create(DatasetFormat format,
                                                                 MapperContext context) {
  if (!IsJsonlFormat(format)) {
    return absl::InvalidArgumentError(
        absl::StrCat("format ", FormatName(format), " is not a JSON Lines format"));
  }
  return std::unique_ptr<JsonlMapper>(new JsonlMapper(format, std::move(context)));
}

void JsonlMapper::Map(uint64_t line, absl::string_view text, bool has_line_break,
                      LineResult* result) {
  if (fast_->TakePrepared(line, text, result)) return;
  if (TryMapFast(line, text, result)) return;
  MapWithReferenceParser(line, text, has_line_break, result);
}

bool JsonlMapper::TryMapFast(uint64_t line, absl::string_view text, LineResult* result) {
  return MapFast(fast_->main, line, text, /*padded=*/false, result, nullptr, nullptr);
}

uint64_t JsonlMapper::PlanAhead(uint64_t first_line, absl::string_view block) {
  FastParser::PreparedLines& pending = fast_->pending;
  pending.count = 0;
  const char* const block_end = block.data() + block.size();
  uint64_t line = first_line;
  for (;; ++line) {
    const size_t end = block.find('\n');
    // The reader keeps a line without its line break until more bytes come.
    if (end == absl::string_view::npos) break;
    const absl::string_view text =
        JsonlLineText(line, block.substr(0, end), /*has_line_break=*/true);
    block.remove_prefix(end + 1);
    if (IsBlankJsonlLine(text)) continue;
    if (pending.count == pending.lines.size()) pending.lines.emplace_back();
    FastParser::Prepared& prepared = pending.lines[pending.count++];
    prepared.line = line;
    prepared.data = text.data();
    prepared.size = text.size();
    prepared.padded = block_end - (text.data() + text.size()) >=
                      static_cast<ptrdiff_t>(simdjson::SIMDJSON_PADDING);
    prepared.mapped = false;
  }
  fast_->unclaimed.store(uint64_t{pending.count} << 32, std::memory_order_relaxed);
  return line - first_line;
}

void JsonlMapper::MapPlanned(bool from_back) {
  FastParser& fast = *fast_;
  ParserPair& parsers = from_back ? fast.main : fast.ahead;
  while (true) {
    const auto [begin, end] = fast.Claim(from_back);
    if (begin == end) return;
    for (size_t i = begin; i < end; ++i) {
      FastParser::Prepared& prepared = fast.pending.lines[i];
      const bool defer = fast.case_memo != nullptr;
      prepared.mapped =
          MapFast(parsers, prepared.line, absl::string_view(prepared.data, prepared.size),
                  prepared.padded, &prepared.result, defer ? &prepared.plain : nullptr,
                  defer ? &prepared.checksum_deferred : nullptr);
    }
  }
}

void JsonlMapper::SetAddressCaseMemo(AddressCaseMemo* memo) { fast_->case_memo = memo; }

uint64_t JsonlMapper::lines_taken_ahead() const { return fast_->taken; }

void JsonlMapper::CommitPrepared() {
  std::swap(fast_->pending, fast_->ready);
  fast_->pending.count = 0;
  fast_->next = 0;
}

bool JsonlMapper::MapFast(ParserPair& parsers, uint64_t line, absl::string_view text, bool padded,
                          LineResult* result, PlainAddress* deferred_plain,
                          bool* checksum_deferred) {
  if (checksum_deferred != nullptr) *checksum_deferred = false;
  result->issues.clear();
  result->invalid = false;
  // One record, reused from the previous line so that its strings keep their capacity.
  result->records.resize(1);
  AddressRecord* record = &result->records[0];
  record->Clear();
  result->addresses.resize(1);
  eth::Address* address = &result->addresses[0];
  if (format_ == v1::DATASET_FORMAT_OPENAI_CHAT_JSONL) {
    ChatMessages messages;
    const std::string& prefix = parsers.system_prefix;
    // The bytes up to the first message's end are those of an earlier clean line: the line is
    // valid JSON exactly when the later messages, with the array's closing bracket, are a valid
    // array, and only they are parsed. (That array is one level shallower than the line, so
    // a line nested just past simdjson's depth limit parses this way and not the other; both
    // give the reference path's result.) When they are not (other members after the array, or
    // invalid JSON), the whole line is parsed as usual.
    simdjson::dom::element later;
    const bool known_prefix =
        !prefix.empty() && text.size() > prefix.size() + 2 && absl::StartsWith(text, prefix) &&
        absl::EndsWith(text, "]}") &&
        parsers.line.Parse("[", text.substr(prefix.size(), text.size() - prefix.size() - 1), "",
                           &later);
    if (known_prefix) {
      messages.AddSystemMessage();
      if (!messages.AddAll(later)) return false;
    } else {
      simdjson::dom::object example;
      if (!ParseObject(parsers.line, text, padded, &example)) return false;
      simdjson::dom::element messages_element;
      bool has_messages = false;
      for (simdjson::dom::key_value_pair member : example) {
        if (member.key != "messages") continue;
        if (has_messages) return false;  // The reference path takes the last duplicate.
        has_messages = true;
        messages_element = member.value;
      }
      if (!has_messages || !messages.AddAll(messages_element)) return false;
    }
    if (!messages.Complete()) return false;
    if (!FinishFast(parsers, line, messages.last_user(), messages.last_content(), record, address,
                    deferred_plain, checksum_deferred)) {
      return false;
    }
    if (!known_prefix) LearnSystemPrefix(text, &parsers.system_prefix);
    return true;
  }
  simdjson::dom::object example;
  if (!ParseObject(parsers.line, text, padded, &example)) return false;
  std::string_view prompt;
  std::string_view completion;
  bool has_prompt = false;
  bool has_completion = false;
  for (simdjson::dom::key_value_pair member : example) {
    if (member.key == "prompt") {
      if (has_prompt || !GetString(member.value, &prompt)) return false;
      has_prompt = true;
    } else if (member.key == "completion") {
      if (has_completion || !GetString(member.value, &completion)) return false;
      has_completion = true;
    }
  }
  if (!has_prompt || !has_completion) return false;
  return FinishFast(parsers, line, absl::string_view(prompt.data(), prompt.size()),
                    absl::string_view(completion.data(), completion.size()), record, address,
                    deferred_plain, checksum_deferred);
}

bool JsonlMapper::FinishFast(ParserPair& parsers, uint64_t line, absl::string_view address_text,
                             absl::string_view fields_text, AddressRecord* record,
                             eth::Address* address, PlainAddress* deferred_plain,
                             bool* checksum_deferred) {
  const absl::string_view text = absl::StripAsciiWhitespace(address_text);
  char checksummed[42];
  PlainAddress local;
  PlainAddress* plain = deferred_plain != nullptr ? deferred_plain : &local;
  const bool is_plain = DecodePlainAddress(text, plain);
  // TakePrepared completes the EIP-55 form of a deferred address on the first thread.
  const bool defer = is_plain && checksum_deferred != nullptr;
  if (is_plain) {
    *address = eth::Address(plain->bytes);
    if (!defer &&
        !ChecksummedForm(*plain, eth::ChecksumUppercaseMask(absl::string_view(plain->lower, 40)),
                         checksummed)) {
      return false;  // A checksum warning.
    }
  } else {
    // Not a plain address: the general search decides.
    AddressLookup lookup = LookUpAddress(address_text);
    if (!lookup.address.has_value()) return false;
    const std::string hex = lookup.address->ToChecksumHex();
    if (!eth::Address::HasValidChecksum(lookup.found, hex)) return false;
    hex.copy(checksummed, sizeof(checksummed));
    *address = *lookup.address;
  }
  if (!FastReportFields(fields_text, parsers.fields, record)) return false;
  if (defer) {
    *checksum_deferred = true;
  } else {
    record->set_address(checksummed, sizeof(checksummed));
  }
  record->set_chain_id(context_.chain_id);
  record->set_source(context_.source);
  record->set_line(line);
  return true;
}

void JsonlMapper::MapWithReferenceParser(uint64_t line, absl::string_view text, bool has_line_break,
                                         LineResult* result) const {
  result->records.clear();
  result->addresses.clear();
  result->issues.clear();
  result->invalid = false;
  LineIssues issues(context_, line, result);
  Json example;
  ParseFailure failure;
  if (!ParseJson(text, &example, &failure)) {
    issues.Error("", issue_kind::kMalformedJson,
                 absl::StrCat("malformed JSON", DescribeColumn(failure.column, text.size(), "line"),
                              ": ", failure.reason,
                              has_line_break ? ""
                                             : " (the last line has no line break; "
                                               "the file may be truncated)"));
    return;
  }
  if (!example.is_object()) {
    issues.Error("", issue_kind::kBadExample,
                 absl::StrCat("the line is a JSON ", example.type_name(), ", not an object"));
    return;
  }
  AddressRecord record;
  std::optional<std::string> address;
  if (format_ == v1::DATASET_FORMAT_OPENAI_CHAT_JSONL) {
    auto messages_it = example.find("messages");
    if (messages_it == example.end()) {
      const bool legacy = example.contains("prompt") || example.contains("completion");
      issues.Error("messages", issue_kind::kBadExample,
                   absl::StrCat("missing the \"messages\" array (keys: ", KeysOf(example), ")",
                                legacy ? "; this looks like legacy prompt/completion: "
                                         "upload it with that format or let the "
                                         "format be detected"
                                       : ""));
      return;
    }
    const Json& messages = *messages_it;
    if (!messages.is_array() || messages.empty()) {
      issues.Error("messages", issue_kind::kBadExample,
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
        issues.Error(prefix, issue_kind::kBadExample,
                     absl::StrCat("a message must be an object, not ", message.type_name()));
        continue;
      }
      auto role_it = message.find("role");
      if (role_it == message.end() || !role_it->is_string()) {
        issues.Error(absl::StrCat(prefix, ".role"), issue_kind::kBadExample,
                     "missing role (a string)");
        continue;
      }
      const std::string& role = role_it->get_ref<const std::string&>();
      if (role != "system" && role != "user" && role != "assistant") {
        issues.Error(
            absl::StrCat(prefix, ".role"), issue_kind::kBadExample,
            absl::StrCat("unknown role ", text::Quote(role), "; allowed: system, user, assistant"));
        continue;
      }
      auto content_it = message.find("content");
      if (content_it == message.end() || !content_it->is_string()) {
        issues.Error(absl::StrCat(prefix, ".content"), issue_kind::kBadExample,
                     content_it == message.end()
                         ? std::string("missing content")
                         : absl::StrCat("content must be a string, not ", content_it->type_name()));
        continue;
      }
      if (role != "system" &&
          absl::StripAsciiWhitespace(content_it->get_ref<const std::string&>()).empty()) {
        issues.Error(absl::StrCat(prefix, ".content"), issue_kind::kBadExample,
                     absl::StrCat("empty ", role, " content"));
        continue;
      }
      auto weight_it = message.find("weight");
      if (weight_it != message.end()) {
        if (role != "assistant") {
          issues.Error(absl::StrCat(prefix, ".weight"), issue_kind::kBadExample,
                       "only assistant messages take a weight");
        } else if (!weight_it->is_number_integer() ||
                   (weight_it->get<int64_t>() != 0 && weight_it->get<int64_t>() != 1)) {
          issues.Error(
              absl::StrCat(prefix, ".weight"), issue_kind::kBadExample,
              absl::StrCat("weight must be 0 or 1, not ", text::Escape(weight_it->dump())));
        }
      }
      if (role == "user") last_user = i;
    }
    if (result->invalid) return;
    const size_t last = messages.size() - 1;
    if (messages[last]["role"] != "assistant") {
      issues.Error(
          "messages", issue_kind::kBadExample,
          absl::StrCat("the last message is the ", messages[last]["role"].get<std::string>(),
                       "'s; an example must end with the assistant's answer"));
      return;
    }
    if (!last_user.has_value()) {
      issues.Error("messages", issue_kind::kBadExample,
                   "no user message; the user message holds the address");
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
        issues.Error(key, issue_kind::kBadExample,
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

JsonlLookahead::JsonlLookahead(JsonlReader* reader, JsonlMapper* mapper,
                               std::function<void(absl::string_view)> side_work)
    : reader_(reader),
      mapper_(mapper),
      side_work_(std::move(side_work)),
      line_breaks_(reader->next_line() - 1) {}

JsonlLookahead::~JsonlLookahead() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (helper_.joinable()) helper_.join();
}

void JsonlLookahead::HelperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || work_posted_; });
    // Posted work is finished even when stopping, so the chunk it reads stays put.
    if (!work_posted_) return;
    lock.unlock();
    Work();
    lock.lock();
    work_posted_ = false;
    changed_.notify_all();
  }
}

void JsonlLookahead::Work() {
  side_work_(held_);
  mapper_->MapPlanned(/*from_back=*/false);
}

void JsonlLookahead::Collect() {
  if (!in_flight_) return;
  in_flight_ = false;
  // Map from the back what the second thread did not reach yet, then take its results.
  mapper_->MapPlanned(/*from_back=*/true);
  {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return !work_posted_; });
  }
  mapper_->CommitPrepared();
}

void JsonlLookahead::Start() {
  const absl::string_view chunk = held_;
  // The lines after the chunk's first line break are mapped ahead; the one it ends (begun by
  // the previous chunk) is mapped by the reader's handler.
  const size_t first_break = chunk.find('\n');
  if (first_break == absl::string_view::npos) {
    mapper_->PlanAhead(line_breaks_ + 1, absl::string_view());
  } else {
    // Line numbers count line breaks, as the reader numbers lines.
    line_breaks_ += 1 + mapper_->PlanAhead(line_breaks_ + 2, chunk.substr(first_break + 1));
  }
  in_flight_ = true;
  if (!helper_.joinable() && !no_helper_) {
    try {
      helper_ = std::thread([this] { HelperLoop(); });
    } catch (const std::system_error&) {
      no_helper_ = true;
    }
  }
  if (no_helper_) {
    Work();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    work_posted_ = true;
  }
  changed_.notify_all();
}

absl::Status JsonlLookahead::Add(std::string chunk) {
  Collect();
  std::string previous = std::exchange(held_, std::move(chunk));
  Start();
  if (previous.empty()) return absl::OkStatus();
  return reader_->Feed(previous);
}

absl::Status JsonlLookahead::Flush() {
  Collect();
  const std::string last = std::exchange(held_, std::string());
  if (last.empty()) return absl::OkStatus();
  return reader_->Feed(last);
}

}  // namespace ethscan::dataset

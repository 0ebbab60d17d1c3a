#include "services/dataset/column_mapping.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "services/dataset/canonical_csv.h"
#include "services/dataset/dataset_format.h"
#include "services/dataset/jsonl_mapper.h"
#include "services/dataset/record_merge.h"

namespace ethscan::dataset {
namespace {

using common::v1::AddressRecord;
using v1::ColumnMapping;
using v1::FeatureColumn;
using v1::FieldMapping;
using v1::ValidationIssue;

constexpr ValidationIssue::Severity kError = ValidationIssue::SEVERITY_ERROR;

// The behavioural features of the Kaggle "Ethereum Fraud Detection" layout, in its column
// order, as their trimmed column names. The first kPhishFeatureCount are the features of the
// phish-feature layout as well.
constexpr absl::string_view kKaggleFeatures[] = {
    "Avg min between sent tnx",
    "Avg min between received tnx",
    "Time Diff between first and last (Mins)",
    "Sent tnx",
    "Received Tnx",
    "Number of Created Contracts",
    "Unique Received From Addresses",
    "Unique Sent To Addresses",
    "min value received",
    "max value received",
    "avg val received",
    "min val sent",
    "max val sent",
    "avg val sent",
    "min value sent to contract",
    "max val sent to contract",
    "avg value sent to contract",
    "total transactions (including tnx to create contract",
    "total Ether sent",
    "total ether received",
    "total ether sent contracts",
    "total ether balance",
    "Total ERC20 tnxs",
    "ERC20 total Ether received",
    "ERC20 total ether sent",
    "ERC20 total Ether sent contract",
    "ERC20 uniq sent addr",
    "ERC20 uniq rec addr",
    "ERC20 uniq sent addr.1",
    "ERC20 uniq rec contract addr",
    "ERC20 avg time between sent tnx",
    "ERC20 avg time between rec tnx",
    "ERC20 avg time between rec 2 tnx",
    "ERC20 avg time between contract tnx",
    "ERC20 min val rec",
    "ERC20 max val rec",
    "ERC20 avg val rec",
    "ERC20 min val sent",
    "ERC20 max val sent",
    "ERC20 avg val sent",
    "ERC20 min val sent contract",
    "ERC20 max val sent contract",
    "ERC20 avg val sent contract",
    "ERC20 uniq sent token name",
    "ERC20 uniq rec token name",
    "ERC20 most sent token type",
    "ERC20_most_rec_token_type",
};
constexpr size_t kPhishFeatureCount = 22;
// The Kaggle columns that hold token names rather than numbers.
constexpr absl::string_view kKaggleTextFeatures[] = {"ERC20 most sent token type",
                                                     "ERC20_most_rec_token_type"};

// The label, tags and placeholders of the Kaggle layout. FLAG 1 means the address was on a
// public scam list; FLAG 0 only that it was not, which is no evidence of legitimacy.
constexpr char kKaggleMapping[] = R"pb(
  address_column: "Address"
  label {
    column: "FLAG"
    values { key: "1" value: "Scam" }
    values { key: "0" value: "Unknown" }
  }
  tags {
    column: "FLAG"
    values { key: "1" value: "" }
    values { key: "0" value: "not flagged" }
  }
)pb";

// The phish-feature layout: every address is on Etherscan's phish-hack list.
constexpr char kPhishMapping[] = R"pb(
  address_column: "Address"
  label {
    column: "FLAG"
    values { key: "1" value: "Phish / Hack" }
  }
)pb";

using text::Quote;

// A header column's name inside a message (escaped and cut, without quotes).
std::string Column(absl::string_view name) { return text::Escape(name, 40); }

std::string Normalize(absl::string_view text) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
}

// A finite number in decimal or scientific notation ("12", "-0.5", "1.00002E+12"); not
// hexadecimal, "inf" or "nan", which SimpleAtod alone would take.
bool ParseNumber(absl::string_view text, double* value) {
  bool digit = false;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E') {
      return false;
    }
  }
  return digit && absl::SimpleAtod(text, value) && std::isfinite(*value);
}

// Why `value` is no report label, with the nearest one suggested.
std::string NotALabel(absl::string_view value) {
  if (value.empty()) {
    return absl::StrCat("the label is empty; allowed: ", absl::StrJoin(ReportLabels(), ", "));
  }
  return absl::StrCat(Quote(value), " is not a report label; did you mean ",
                      Quote(NearestValue(value, ReportLabels())),
                      "? allowed: ", absl::StrJoin(ReportLabels(), ", "));
}

// Why `value` is no account type, with the nearest one suggested.
std::string NotAnAccountType(absl::string_view value) {
  return absl::StrCat(Quote(value), " is not an account type; did you mean ",
                      Quote(NearestValue(value, AccountTypes())),
                      "? allowed: EOA, Smart Contract, or empty");
}

// The mapping's fields with their names and kinds, in proto order.
struct NamedField {
  absl::string_view name;
  const FieldMapping* mapping;
  bool label;
  bool account_type;
  bool tags;
};

std::vector<NamedField> NamedFields(const ColumnMapping& mapping) {
  return {{"name", &mapping.name(), false, false, false},
          {"account_type", &mapping.account_type(), false, true, false},
          {"contract_type", &mapping.contract_type(), false, false, false},
          {"entity", &mapping.entity(), false, false, false},
          {"label", &mapping.label(), true, false, false},
          {"tags", &mapping.tags(), false, false, true},
          {"note", &mapping.note(), false, false, false}};
}

// Checks a final value (constant, default or translation target) of a field; `where` names it.
absl::Status CheckFinalValue(const NamedField& field, absl::string_view value,
                             absl::string_view where) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(value);
  if (field.label && common::CanonicalReportLabel(trimmed).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", NotALabel(trimmed)));
  }
  if (field.account_type && !CanonicalAccountType(trimmed).has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", NotAnAccountType(trimmed)));
  }
  return absl::OkStatus();
}

absl::Status ValidateField(const NamedField& field, absl::string_view prefix) {
  const FieldMapping& mapping = *field.mapping;
  const std::string path = absl::StrCat(prefix, field.name);
  const bool has_column = !absl::StripAsciiWhitespace(mapping.column()).empty();
  if (!has_column && !mapping.values().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".values needs ", path,
                     ".column: only cells are translated, a constant value is used as given"));
  }
  if (!mapping.separator().empty() && !field.tags) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".separator is set, but a separator applies to tags only"));
  }
  if (!mapping.value().empty()) {
    RETURN_IF_ERROR(CheckFinalValue(field, mapping.value(), absl::StrCat(path, ".value")));
  }
  absl::flat_hash_map<std::string, std::string> keys;
  for (const auto& [key, target] : mapping.values()) {
    const std::string where = absl::StrCat(path, ".values[", Quote(key), "]");
    auto [it, inserted] = keys.try_emplace(Normalize(key), key);
    if (!inserted) {
      // Map iteration order is unspecified; name the pair in a stable order.
      const std::string& first = std::min(it->second, key);
      const std::string& second = std::max(it->second, key);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".values has the keys ", Quote(first), " and ", Quote(second),
                       ", which are equal after trimming and without letter case"));
    }
    RETURN_IF_ERROR(CheckFinalValue(field, target, where));
  }
  return absl::OkStatus();
}

std::string SerializeDeterministically(const ColumnMapping& mapping) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    mapping.SerializeToCodedStream(&coded);
  }
  return bytes;
}

// Parses a built-in text-format mapping; they are constants, so failure is a programming error
// that the unit tests catch.
ColumnMapping ParseBuiltIn(const char* text) {
  ColumnMapping mapping;
  if (!google::protobuf::TextFormat::ParseFromString(text, &mapping)) std::abort();
  return mapping;
}

const ColumnMapping* KaggleMapping() {
  static const ColumnMapping* mapping = [] {
    auto* built = new ColumnMapping(ParseBuiltIn(kKaggleMapping));
    for (absl::string_view name : kKaggleFeatures) {
      FeatureColumn* feature = built->add_features();
      feature->set_column(std::string(name));
      bool text = false;
      for (absl::string_view text_name : kKaggleTextFeatures) text = text || name == text_name;
      feature->set_kind(text ? FeatureColumn::KIND_TEXT : FeatureColumn::KIND_NUMBER);
      // Token-name columns write "0", "None" or a single space where nothing was computed.
      if (text) {
        feature->add_missing_values("0");
        feature->add_missing_values("None");
      }
    }
    return built;
  }();
  return mapping;
}

const ColumnMapping* PhishMapping() {
  static const ColumnMapping* mapping = [] {
    auto* built = new ColumnMapping(ParseBuiltIn(kPhishMapping));
    for (size_t i = 0; i < kPhishFeatureCount; ++i) {
      FeatureColumn* feature = built->add_features();
      feature->set_column(std::string(kKaggleFeatures[i]));
      feature->set_kind(FeatureColumn::KIND_NUMBER);
    }
    return built;
  }();
  return mapping;
}

}  // namespace

absl::Status ValidateColumnMapping(const ColumnMapping& mapping, absl::string_view field_prefix) {
  if (absl::StripAsciiWhitespace(mapping.address_column()).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field_prefix, "address_column is required: the name of the column holding the address"));
  }
  if (absl::StripAsciiWhitespace(mapping.label().column()).empty() &&
      absl::StripAsciiWhitespace(mapping.label().value()).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field_prefix, "label is required: give a column (label.column, translated through ",
        "label.values when its cells are not report labels) or a constant (label.value), one "
        "of ",
        absl::StrJoin(ReportLabels(), ", ")));
  }
  for (const NamedField& field : NamedFields(mapping)) {
    RETURN_IF_ERROR(ValidateField(field, field_prefix));
  }
  absl::flat_hash_map<std::string, int> feature_columns;
  for (int i = 0; i < mapping.features_size(); ++i) {
    const FeatureColumn& feature = mapping.features(i);
    const std::string path = absl::StrCat(field_prefix, "features[", i, "]");
    if (absl::StripAsciiWhitespace(feature.column()).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".column is required: the name of the feature's column"));
    }
    if (!FeatureColumn::Kind_IsValid(feature.kind())) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".kind ",
                                                     static_cast<int>(feature.kind()),
                                                     " is unknown; use KIND_NUMBER or KIND_TEXT"));
    }
    auto [it, inserted] = feature_columns.try_emplace(Normalize(feature.column()), i);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " repeats column ", Quote(feature.column()), " of features[", it->second, "]"));
    }
  }
  return absl::OkStatus();
}

std::string SerializeMappingForId(const ColumnMapping& mapping) {
  return SerializeDeterministically(mapping);
}

const ColumnMapping* BuiltInMapping(v1::DatasetFormat format) {
  switch (format) {
    case v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES:
      return KaggleMapping();
    case v1::DATASET_FORMAT_PHISH_FEATURES:
      return PhishMapping();
    default:
      return nullptr;
  }
}

absl::StatusOr<ColumnMapping> AddressListMapping(absl::string_view label,
                                                 const std::vector<std::string>& tags) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(label);
  if (trimmed.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "format address_list needs UploadMetadata.label: the report label of every address in "
        "the list, one of ",
        absl::StrJoin(ReportLabels(), ", ")));
  }
  if (common::CanonicalReportLabel(trimmed).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("UploadMetadata.label: ", NotALabel(trimmed)));
  }
  std::vector<absl::string_view> parts;
  for (size_t i = 0; i < tags.size(); ++i) {
    const absl::string_view tag = absl::StripAsciiWhitespace(tags[i]);
    const std::string where = absl::StrCat("UploadMetadata.tags[", i, "]");
    if (tag.empty()) return absl::InvalidArgumentError(absl::StrCat(where, " is empty"));
    if (absl::StrContains(tag, ';')) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " ", Quote(tag),
                       " holds ';', which separates tags in the canonical CSV; give each tag "
                       "on its own"));
    }
    for (char c : tag) {
      if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " holds a control character (a line break or tab)"));
      }
    }
    parts.push_back(tag);
  }
  ColumnMapping mapping;
  mapping.set_address_column("address");
  mapping.mutable_label()->set_value(std::string(trimmed));
  if (!parts.empty()) mapping.mutable_tags()->set_value(absl::StrJoin(parts, ";"));
  return mapping;
}

std::vector<std::string> MappedColumns(const ColumnMapping& mapping) {
  std::vector<std::string> columns;
  absl::flat_hash_set<std::string> seen;
  auto add = [&](absl::string_view column) {
    std::string normalized = Normalize(column);
    if (!normalized.empty() && seen.insert(normalized).second) {
      columns.push_back(std::move(normalized));
    }
  };
  add(mapping.address_column());
  for (const NamedField& field : NamedFields(mapping)) add(field.mapping->column());
  for (const FeatureColumn& feature : mapping.features()) add(feature.column());
  return columns;
}

const std::vector<std::string>& CanonicalCsvColumns() {
  static const auto* columns = new std::vector<std::string>(std::begin(kCanonicalCsvColumns),
                                                            std::end(kCanonicalCsvColumns));
  return *columns;
}

absl::StatusOr<std::unique_ptr<RecordMapper>> ColumnMapper::Create(
    const ColumnMapping& mapping, const std::vector<std::string>& header, MapperContext context,
    absl::string_view field_prefix) {
  ASSIGN_OR_RETURN(std::unique_ptr<ColumnMapper> mapper,
                   Compile(mapping, header, std::move(context), field_prefix));
  return std::unique_ptr<RecordMapper>(std::move(mapper));
}

absl::StatusOr<std::unique_ptr<RecordMapper>> ColumnMapper::CreateCanonicalCsv(
    const std::vector<std::string>& header, MapperContext context) {
  ColumnMapping mapping;
  mapping.set_address_column("address");
  mapping.mutable_name()->set_column("name");
  mapping.mutable_account_type()->set_column("account_type");
  mapping.mutable_contract_type()->set_column("contract_type");
  mapping.mutable_entity()->set_column("entity");
  mapping.mutable_label()->set_column("label");
  mapping.mutable_tags()->set_column("tags");
  mapping.mutable_note()->set_column("note");
  ASSIGN_OR_RETURN(std::unique_ptr<ColumnMapper> mapper,
                   Compile(mapping, header, std::move(context), "format canonical_csv: "));
  ASSIGN_OR_RETURN(mapper->original_label_column_,
                   mapper->FindColumn("original_label", "the original_label column"));
  ASSIGN_OR_RETURN(mapper->source_column_, mapper->FindColumn("source", "the source column"));
  ASSIGN_OR_RETURN(mapper->chain_id_column_, mapper->FindColumn("chain_id", "the chain_id column"));
  for (size_t i = 0; i < header.size(); ++i) {
    const absl::string_view column = absl::StripAsciiWhitespace(header[i]);
    if (column.size() < kCanonicalFeaturePrefix.size() ||
        !absl::EqualsIgnoreCase(column.substr(0, kCanonicalFeaturePrefix.size()),
                                kCanonicalFeaturePrefix)) {
      continue;
    }
    FeatureSlot slot;
    slot.column = static_cast<int>(i);
    slot.name =
        std::string(absl::StripAsciiWhitespace(column.substr(kCanonicalFeaturePrefix.size())));
    slot.kind = FeatureSlot::Kind::kNumberOrText;
    if (slot.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(mapper->context().file, ": format canonical_csv: header column ", i + 1,
                       " is ", Quote(column), ", a feature column without a feature name"));
    }
    mapper->features_.push_back(std::move(slot));
  }
  return std::unique_ptr<RecordMapper>(std::move(mapper));
}

absl::StatusOr<std::unique_ptr<ColumnMapper>> ColumnMapper::Compile(
    const ColumnMapping& mapping, const std::vector<std::string>& header, MapperContext context,
    absl::string_view field_prefix) {
  std::string file = context.file;
  absl::Status valid = ValidateColumnMapping(mapping, field_prefix);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", valid.message()));
  }
  std::unique_ptr<ColumnMapper> mapper(new ColumnMapper(std::move(context), header));
  mapper->strict_checksum_ = mapping.strict_checksum();
  ASSIGN_OR_RETURN(
      mapper->address_column_,
      mapper->FindColumn(mapping.address_column(), absl::StrCat(field_prefix, "address_column")));
  struct Target {
    const FieldMapping& mapping;
    FieldKind kind;
    absl::string_view name;
    Field* field;
  };
  const Target targets[] = {
      {mapping.name(), FieldKind::kText, "name", &mapper->name_},
      {mapping.account_type(), FieldKind::kAccountType, "account_type", &mapper->account_type_},
      {mapping.contract_type(), FieldKind::kText, "contract_type", &mapper->contract_type_},
      {mapping.entity(), FieldKind::kText, "entity", &mapper->entity_},
      {mapping.label(), FieldKind::kLabel, "label", &mapper->label_},
      {mapping.tags(), FieldKind::kTags, "tags", &mapper->tags_},
      {mapping.note(), FieldKind::kText, "note", &mapper->note_},
  };
  for (const Target& target : targets) {
    RETURN_IF_ERROR(mapper->CompileField(target.mapping, target.kind,
                                         absl::StrCat(field_prefix, target.name), target.field));
  }
  for (int i = 0; i < mapping.features_size(); ++i) {
    const FeatureColumn& feature = mapping.features(i);
    FeatureSlot slot;
    ASSIGN_OR_RETURN(slot.column,
                     mapper->FindColumn(feature.column(),
                                        absl::StrCat(field_prefix, "features[", i, "].column")));
    slot.name = std::string(absl::StripAsciiWhitespace(header[slot.column]));
    slot.kind = feature.kind() == FeatureColumn::KIND_TEXT ? FeatureSlot::Kind::kText
                                                           : FeatureSlot::Kind::kNumber;
    for (const auto* values : {&feature.missing_values(), &mapping.missing_values()}) {
      for (const std::string& missing : *values) {
        std::string normalized = Normalize(missing);
        if (!normalized.empty()) slot.missing.push_back(std::move(normalized));
      }
    }
    mapper->features_.push_back(std::move(slot));
  }
  return mapper;
}

absl::StatusOr<int> ColumnMapper::FindColumn(absl::string_view name, absl::string_view path) const {
  const std::string wanted = Normalize(name);
  std::vector<int> matches;
  for (size_t i = 0; i < header().size(); ++i) {
    if (Normalize(header()[i]) == wanted) matches.push_back(static_cast<int>(i));
  }
  if (matches.size() == 1) return matches[0];
  const std::string header_text = ColumnList(header());
  if (matches.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        context().file, ": ", path, " names column ", Quote(absl::StripAsciiWhitespace(name)),
        ", which is not in the header (header: ", header_text, ")"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(context().file, ": ", path, " names column ",
                   Quote(absl::StripAsciiWhitespace(name)), ", which matches the header columns ",
                   Quote(header()[matches[0]]), " and ", Quote(header()[matches[1]]),
                   " (names are compared without letter case); rename one "
                   "(header: ",
                   header_text, ")"));
}

absl::Status ColumnMapper::CompileField(const FieldMapping& mapping, FieldKind kind,
                                        absl::string_view path, Field* field) const {
  field->kind = kind;
  if (!absl::StripAsciiWhitespace(mapping.column()).empty()) {
    ASSIGN_OR_RETURN(field->column, FindColumn(mapping.column(), absl::StrCat(path, ".column")));
  }
  // ValidateColumnMapping has checked every final value, so canonicalizing cannot fail here.
  auto canonical = [kind](absl::string_view value) {
    const absl::string_view trimmed = absl::StripAsciiWhitespace(value);
    switch (kind) {
      case FieldKind::kLabel:
        return common::CanonicalReportLabel(trimmed);
      case FieldKind::kAccountType:
        return CanonicalAccountType(trimmed).value_or("");
      default:
        return std::string(trimmed);
    }
  };
  field->value = canonical(mapping.value());
  field->value_as_written = std::string(absl::StripAsciiWhitespace(mapping.value()));
  std::vector<std::string> keys;
  for (const auto& [key, target] : mapping.values()) {
    field->values.emplace(Normalize(key), canonical(target));
    keys.push_back(key.empty() ? "(empty)" : std::string(absl::StripAsciiWhitespace(key)));
  }
  std::sort(keys.begin(), keys.end());
  // A message names a few keys, each cut short.
  constexpr size_t kShownKeys = 20;
  const size_t shown = std::min(keys.size(), kShownKeys);
  for (size_t i = 0; i < shown; ++i) {
    absl::StrAppend(&field->allowed_keys, i == 0 ? "" : ", ", text::Escape(keys[i], 40));
  }
  if (keys.size() > shown) {
    absl::StrAppend(&field->allowed_keys, " and ", keys.size() - shown, " more");
  }
  if (!mapping.separator().empty()) field->separator = mapping.separator();
  return absl::OkStatus();
}

bool ColumnMapper::Resolve(const CsvRow& row, const Field& field, LineResult* result,
                           std::string* out, std::string* as_written) const {
  if (field.column < 0) {
    *out = field.value;
    if (as_written != nullptr) *as_written = field.value_as_written;
    return true;
  }
  const absl::string_view cell = absl::StripAsciiWhitespace(row.fields[field.column]);
  if (as_written != nullptr) *as_written = std::string(cell);
  if (cell.empty()) {
    auto it = field.values.find("");
    if (it != field.values.end()) {
      *out = it->second;
    } else {
      *out = field.value;
      if (as_written != nullptr) *as_written = field.value_as_written;
    }
    return true;
  }
  if (!field.values.empty()) {
    auto it = field.values.find(absl::AsciiStrToLower(cell));
    if (it == field.values.end()) {
      AddIssue(row.line, field.column, issue_kind::kUnknownValue,
               absl::StrCat("unknown value ", Quote(cell), " in column ",
                            Column(HeaderName(field.column)), "; the mapping allows ",
                            field.allowed_keys),
               kError, result);
      return false;
    }
    *out = it->second;
    return true;
  }
  switch (field.kind) {
    case FieldKind::kLabel: {
      std::string label = common::CanonicalReportLabel(cell);
      if (label.empty()) {
        AddIssue(row.line, field.column, issue_kind::kUnknownLabel,
                 absl::StrCat("unknown label in column ", Column(HeaderName(field.column)), ": ",
                              NotALabel(cell)),
                 kError, result);
        return false;
      }
      *out = std::move(label);
      return true;
    }
    case FieldKind::kAccountType: {
      std::optional<std::string> type = CanonicalAccountType(cell);
      if (!type.has_value()) {
        AddIssue(row.line, field.column, issue_kind::kUnknownAccountType,
                 absl::StrCat("unknown account type in column ", Column(HeaderName(field.column)),
                              ": ", NotAnAccountType(cell),
                              " (translate other values with account_type.values)"),
                 kError, result);
        return false;
      }
      *out = *std::move(type);
      return true;
    }
    default:
      *out = std::string(cell);
      return true;
  }
}

void ColumnMapper::MapFeatures(const CsvRow& row, AddressRecord* record, LineResult* result) const {
  for (const FeatureSlot& slot : features_) {
    const absl::string_view cell = absl::StripAsciiWhitespace(row.fields[slot.column]);
    if (cell.empty()) continue;
    if (std::any_of(slot.missing.begin(), slot.missing.end(), [cell](const std::string& value) {
          return absl::EqualsIgnoreCase(cell, value);
        })) {
      continue;
    }
    double number = 0;
    switch (slot.kind) {
      case FeatureSlot::Kind::kText: {
        common::v1::Feature* feature = record->add_features();
        feature->set_name(slot.name);
        feature->set_text(std::string(cell));
        break;
      }
      case FeatureSlot::Kind::kNumber:
        if (!ParseNumber(cell, &number)) {
          AddIssue(
              row.line, slot.column, issue_kind::kBadNumber,
              absl::StrCat("feature column ", Quote(HeaderName(slot.column)), ": ", Quote(cell),
                           " is not a finite number (plain decimal or scientific notation "
                           "such as 1.5E+12); list placeholders in missing_values or make "
                           "the column KIND_TEXT"),
              kError, result);
          break;
        }
        {
          common::v1::Feature* feature = record->add_features();
          feature->set_name(slot.name);
          feature->set_number(number);
        }
        break;
      case FeatureSlot::Kind::kNumberOrText: {
        common::v1::Feature* feature = record->add_features();
        feature->set_name(slot.name);
        if (ParseNumber(cell, &number)) {
          feature->set_number(number);
        } else {
          feature->set_text(std::string(cell));
        }
        break;
      }
    }
  }
}

void ColumnMapper::MapCanonicalColumns(const CsvRow& row, AddressRecord* record,
                                       LineResult* result) const {
  const absl::string_view chain = absl::StripAsciiWhitespace(row.fields[chain_id_column_]);
  if (!chain.empty()) {
    uint64_t chain_id = 0;
    if (!absl::SimpleAtoi(chain, &chain_id)) {
      AddIssue(row.line, chain_id_column_, issue_kind::kBadChainId,
               absl::StrCat("chain id ", Quote(chain), " is not a number"), kError, result);
    } else if (chain_id != context().chain_id) {
      AddIssue(row.line, chain_id_column_, issue_kind::kBadChainId,
               absl::StrCat("chain id ", chain_id, " differs from the dataset's chain id ",
                            context().chain_id, "; upload the file with chain_id ", chain_id),
               kError, result);
    }
  }
  const absl::string_view source = absl::StripAsciiWhitespace(row.fields[source_column_]);
  if (!source.empty()) record->set_source(std::string(source));
  record->set_original_label(
      std::string(absl::StripAsciiWhitespace(row.fields[original_label_column_])));
}

void ColumnMapper::MapRow(const CsvRow& row, LineResult* result) const {
  std::optional<std::string> address =
      ParseAddress(row, address_column_, result, kError, "", strict_checksum_);
  AddressRecord record = NewRecord("", row.line);

  std::string label;
  std::string original_label;
  if (Resolve(row, label_, result, &label, &original_label)) {
    if (label.empty()) {
      AddIssue(row.line, label_.column, issue_kind::kEmptyLabel,
               absl::StrCat("empty label in column ", Column(HeaderName(label_.column)),
                            "; every row needs one (or give the mapping's label.value as the "
                            "default)"),
               kError, result);
    }
    record.set_label(std::move(label));
    record.set_original_label(std::move(original_label));
  }
  std::string value;
  if (Resolve(row, name_, result, &value)) record.set_name(std::move(value));
  if (Resolve(row, account_type_, result, &value)) record.set_account_type(std::move(value));
  if (Resolve(row, contract_type_, result, &value)) record.set_contract_type(std::move(value));
  if (Resolve(row, entity_, result, &value)) record.set_entity(std::move(value));
  if (Resolve(row, note_, result, &value)) record.set_note(std::move(value));
  if (Resolve(row, tags_, result, &value) && !value.empty()) {
    for (absl::string_view tag : absl::StrSplit(value, tags_.separator)) {
      tag = absl::StripAsciiWhitespace(tag);
      if (!tag.empty()) record.add_tags(std::string(tag));
    }
  }
  MapFeatures(row, &record, result);
  if (chain_id_column_ >= 0) MapCanonicalColumns(row, &record, result);
  if (!address.has_value() || result->invalid) return;
  record.set_address(*std::move(address));
  result->records.push_back(std::move(record));
}

}  // namespace ethscan::dataset

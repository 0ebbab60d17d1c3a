#include "services/dataset/canonical_csv.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ethscan::dataset {
namespace {

bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return false;
  if (absl::ascii_isspace(static_cast<unsigned char>(value.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(value.back()))) {
    return true;
  }
  for (char c : value) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') return true;
  }
  return false;
}

}  // namespace

std::string CsvField(absl::string_view value) {
  if (!NeedsQuotes(value)) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string FormatFeatureNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof(buffer), "%.0f", value);
    return buffer;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) return buffer;
  }
  return buffer;
}

void CanonicalCsvWriter::AddFeatureNames(const common::v1::AddressRecord& record) {
  for (const common::v1::Feature& feature : record.features()) {
    auto [it, inserted] = feature_column_.try_emplace(feature.name(), feature_names_.size());
    if (inserted) feature_names_.push_back(feature.name());
  }
}

std::string CanonicalCsvWriter::Header() const {
  std::vector<std::string> columns(std::begin(kCanonicalCsvColumns),
                                   std::end(kCanonicalCsvColumns));
  for (const std::string& name : feature_names_) {
    columns.push_back(CsvField(absl::StrCat(kFeatureColumnPrefix, name)));
  }
  return absl::StrCat(absl::StrJoin(columns, ","), "\n");
}

std::string CanonicalCsvWriter::Row(const common::v1::AddressRecord& record) const {
  const std::string tags = absl::StrJoin(record.tags(), std::string(1, kCanonicalTagSeparator));
  std::string row =
      absl::StrCat(CsvField(record.address()), ",", record.chain_id(), ",", CsvField(record.name()),
                   ",", CsvField(record.account_type()), ",", CsvField(record.contract_type()), ",",
                   CsvField(record.entity()), ",", CsvField(record.label()), ",", CsvField(tags),
                   ",", CsvField(record.original_label()), ",", CsvField(record.source()), ",",
                   CsvField(record.note()), ",", record.line());
  std::vector<std::string> cells(feature_names_.size());
  for (const common::v1::Feature& feature : record.features()) {
    auto it = feature_column_.find(feature.name());
    if (it == feature_column_.end()) continue;
    switch (feature.value_case()) {
      case common::v1::Feature::kNumber:
        cells[it->second] = FormatFeatureNumber(feature.number());
        break;
      case common::v1::Feature::kText:
        cells[it->second] = CsvField(feature.text());
        break;
      case common::v1::Feature::VALUE_NOT_SET:
        break;
    }
  }
  for (const std::string& cell : cells) absl::StrAppend(&row, ",", cell);
  row.push_back('\n');
  return row;
}

}  // namespace ethscan::dataset

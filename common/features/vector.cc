#include "common/features/vector.h"

#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/features/schema.h"
#include "common/text/quote.h"

namespace ethscan::features {
namespace {

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

// The numeric position of the feature a column or canonical name holds, or nullopt. Names
// as the schema spells them are looked up as they are (every record of an upload repeats
// them); others go through the schema's tolerant column lookup.
std::optional<size_t> NumericPosition(absl::string_view name) {
  static const auto* exact = [] {
    auto* map = new absl::flat_hash_map<std::string, size_t>();
    const std::vector<const FeatureDef*>& numeric = NumericFeatures();
    for (size_t i = 0; i < numeric.size(); ++i) {
      map->emplace(numeric[i]->name, i);
      map->emplace(numeric[i]->kaggle_column, i);
    }
    return map;
  }();
  if (auto it = exact->find(name); it != exact->end()) return it->second;
  std::optional<size_t> index = SchemaIndexOfColumn(name);
  if (!index.has_value()) return std::nullopt;
  return NumericIndexOf(Schema()[*index].name);
}

bool HasTag(const common::v1::AddressRecord& record, absl::string_view tag) {
  for (const std::string& t : record.tags()) {
    if (t == tag) return true;
  }
  return false;
}

}  // namespace

Target TargetOf(const common::v1::AddressRecord& record) {
  return TargetOf(record, DenseVector(record));
}

Target TargetOf(const common::v1::AddressRecord& record, const std::vector<float>& dense) {
  if (!HasAnyValue(dense)) return Target::kNone;
  const std::string& label = record.label();
  if (label == "Phish / Hack" || label == "Scam" || label == "Exploit" || label == "Heist" ||
      label == "Sanctioned") {
    return Target::kFlagged;
  }
  if (label == "Unknown" && HasTag(record, "not flagged")) return Target::kNotFlagged;
  return Target::kNone;
}

std::vector<float> DenseVector(const common::v1::AddressRecord& record) {
  std::vector<float> out(NumericFeatures().size(), kMissing);
  for (const common::v1::Feature& feature : record.features()) {
    if (feature.value_case() != common::v1::Feature::kNumber) continue;
    std::optional<size_t> position = NumericPosition(feature.name());
    if (position.has_value() && std::isfinite(feature.number())) {
      out[*position] = static_cast<float>(feature.number());
    }
  }
  return out;
}

absl::StatusOr<std::vector<float>> DenseVector(
    const std::vector<std::pair<std::string, double>>& values) {
  std::vector<float> out(NumericFeatures().size(), kMissing);
  for (const auto& [name, value] : values) {
    std::optional<size_t> index = SchemaIndexOfColumn(name);
    if (!index.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature ", text::Quote(name), " is not in ", kSchemaName));
    }
    std::optional<size_t> position = NumericIndexOf(Schema()[*index].name);
    if (!position.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature ", text::Quote(name), " is text, not a number, in ", kSchemaName));
    }
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature ", text::Quote(name), " is not a finite number"));
    }
    out[*position] = static_cast<float>(value);
  }
  return out;
}

bool HasAnyValue(const std::vector<float>& vector) {
  for (float v : vector) {
    if (!std::isnan(v)) return true;
  }
  return false;
}

}  // namespace ethscan::features

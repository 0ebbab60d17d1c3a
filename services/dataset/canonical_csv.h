// Writing canonical records as CSV (DATASET_FORMAT_CANONICAL_CSV, ExportDataset with
// EXPORT_FORMAT_CSV). Pure functions and a small writer, no I/O.
//
// Layout: the header
//   address,chain_id,name,account_type,contract_type,entity,label,tags,original_label,source,
//   note,line
// then one "feature:<name>" column per feature name in order of first appearance over the
// records; one row per record. Tags are joined with ";". A numeric feature is written in the
// shortest form that reads back to the same double ("1.00002e+12", "0.5"), a text feature as
// it is; a feature a record does not carry is an empty cell. Lines end in "\n". Fields are
// quoted as RFC 4180 asks: a field holding a comma, a double quote, a line break or surrounding
// white space is written between double quotes, with its double quotes doubled.
//
// Thread-safety: the functions are thread-safe; a CanonicalCsvWriter is not.
#ifndef ETHSCAN_SERVICES_DATASET_CANONICAL_CSV_H_
#define ETHSCAN_SERVICES_DATASET_CANONICAL_CSV_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "ethscan/common/v1/common.pb.h"

namespace ethscan::dataset {

// The fixed columns, in order.
inline constexpr const char* kCanonicalCsvColumns[] = {
    "address", "chain_id", "name",           "account_type", "contract_type", "entity",
    "label",   "tags",     "original_label", "source",       "note",          "line"};

// Prefix of a feature column's name.
inline constexpr char kFeatureColumnPrefix[] = "feature:";

// Separator of tags within the tags cell.
inline constexpr char kCanonicalTagSeparator = ';';

// `value` as one CSV field, quoted when needed.
std::string CsvField(absl::string_view value);

// The shortest decimal form of `value` that parses back to it exactly.
std::string FormatFeatureNumber(double value);

// Two passes over the same records: AddFeatureNames for each, then Header and Row for each.
class CanonicalCsvWriter {
 public:
  CanonicalCsvWriter() = default;
  CanonicalCsvWriter(const CanonicalCsvWriter&) = delete;
  CanonicalCsvWriter& operator=(const CanonicalCsvWriter&) = delete;

  // Pass 1: notes the feature names of `record` not seen before.
  void AddFeatureNames(const common::v1::AddressRecord& record);

  // The header line, ending in "\n".
  std::string Header() const;

  // Pass 2: the row of `record`, ending in "\n". A feature name not seen in pass 1 is dropped.
  std::string Row(const common::v1::AddressRecord& record) const;

  // Feature names in column order.
  const std::vector<std::string>& feature_names() const { return feature_names_; }

 private:
  std::vector<std::string> feature_names_;
  absl::flat_hash_map<std::string, size_t> feature_column_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_CANONICAL_CSV_H_

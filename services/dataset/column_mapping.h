// The declarative column-mapping engine. A v1::ColumnMapping (dataset_service.proto) says which
// columns of a CSV hold a record's fields; a ColumnMapper built from a mapping and a file's
// header turns every row into one canonical AddressRecord. Every CSV shape that is not one of
// the hand-written label lists (record_mapper.cc) is read through it:
// - DATASET_FORMAT_CSV_MAPPING runs the upload's own mapping;
// - DATASET_FORMAT_KAGGLE_FRAUD_FEATURES and DATASET_FORMAT_PHISH_FEATURES run the built-in
//   mappings of BuiltInMapping() (plain ColumnMapping values, as a user could write them);
// - DATASET_FORMAT_ADDRESS_LIST runs AddressListMapping() (a constant label and tags);
// - DATASET_FORMAT_CANONICAL_CSV runs the mapping of the canonical record CSV plus three things
//   a ColumnMapping cannot say (see CreateCanonicalCsv).
//
// How a row is read:
// - Column names are matched after trimming and without letter case; a name that matches no
//   header column or two of them is an INVALID_ARGUMENT naming the mapping field, the column
//   and the header.
// - Cells are trimmed. An empty cell is absent: the field takes FieldMapping.value (the
//   default, a final value that is not translated) or stays empty; a feature is left out.
// - FieldMapping.values translates a non-empty cell (keys trimmed and compared without letter
//   case; a key may translate to "" for "absent"). A cell that is no key is an ERROR naming the
//   allowed keys.
// - label: after translation one of the seven report labels, in any letter case, stored as the
//   vocabulary spells it; anything else is an ERROR suggesting the nearest label. An empty
//   label is an ERROR. original_label is the cell as written (trimmed), or the constant when
//   the label has no column.
// - account_type: "EOA", "Smart Contract" or empty after translation (an is_contract column
//   maps through {"True": "Smart Contract", "False": "EOA"}).
// - tags: the cell after translation, split on `separator` (default ";"), parts trimmed,
//   empty parts dropped.
// - features, in mapping order, each named by the header's spelling of its column (trimmed).
//   An empty cell or one of `missing_values` (compared without letter case) is absent.
//   KIND_NUMBER (the default) cells are decimals or scientific notation ("1.00002E+12",
//   "3.80E-05") and must be finite; anything else is an ERROR naming the column and the cell.
//   KIND_TEXT cells are kept as trimmed text. A missing value that itself reads as a number
//   (for example "0") applies to text columns only: in a numeric column a number is a value.
// - The address follows the rules of every CSV mapper (record_mapper.h): lenient EIP-55 with a
//   WARNING for a bad checksum (an ERROR with strict_checksum), a WARNING for surrounding
//   whitespace, an ERROR for anything invalid.
// A line with any ERROR yields no record; every problem of the line is reported.
//
// Thread-safety: the free functions are pure and thread-safe; a ColumnMapper is immutable
// after Create and Map is const and thread-safe.
#ifndef ETHSCAN_SERVICES_DATASET_COLUMN_MAPPING_H_
#define ETHSCAN_SERVICES_DATASET_COLUMN_MAPPING_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"
#include "services/dataset/record_mapper.h"

namespace ethscan::dataset {

// Checks the parts of a mapping that do not depend on a file: an address column and a label
// (column or constant) are given; constants, defaults and translation targets of the label are
// report labels and those of the account type "EOA", "Smart Contract" or empty; `values` comes
// with a column; `separator` is only set on tags; no two translation keys are equal after
// trimming and case folding; every feature names a column, once. INVALID_ARGUMENT naming the
// field ("column_mapping.label.values[\"phish\"]", with `field_prefix` before the field
// path) and the fix.
absl::Status ValidateColumnMapping(const v1::ColumnMapping& mapping,
                                   absl::string_view field_prefix = "column_mapping.");

// The deterministic serialization of a mapping (map entries in key order), hashed into the
// content-addressed id of a DATASET_FORMAT_CSV_MAPPING dataset.
std::string SerializeMappingForId(const v1::ColumnMapping& mapping);

// The built-in mapping of DATASET_FORMAT_KAGGLE_FRAUD_FEATURES or
// DATASET_FORMAT_PHISH_FEATURES; nullptr for every other format.
//   Kaggle fraud: Address; FLAG 1 -> Scam, FLAG 0 -> Unknown with the tag "not flagged";
//     Index ignored; 47 features (45 numeric, the two "most … token type" columns text, where
//     "0" and "None" mean absent).
//   Phish features: Address; FLAG 1 -> Phish / Hack (any other FLAG is an ERROR); 22 numeric
//     features with the Kaggle names.
const v1::ColumnMapping* BuiltInMapping(v1::DatasetFormat format);

// The mapping of DATASET_FORMAT_ADDRESS_LIST: the single column "address", every record with
// `label` (a report label in any letter case; kept as written as original_label) and `tags`.
// INVALID_ARGUMENT naming UploadMetadata.label or .tags for an empty or unknown label (with
// the nearest label suggested) or for an empty tag, a tag holding ';' (the canonical CSV's tag
// separator) or a control character.
absl::StatusOr<v1::ColumnMapping> AddressListMapping(absl::string_view label,
                                                     const std::vector<std::string>& tags);

// The columns a mapping reads, trimmed and lowercase, each once, address column first.
std::vector<std::string> MappedColumns(const v1::ColumnMapping& mapping);

// The header of the canonical record CSV, before its "feature:<name>" columns.
const std::vector<std::string>& CanonicalCsvColumns();
// The prefix of the canonical CSV's feature columns.
inline constexpr absl::string_view kCanonicalFeaturePrefix = "feature:";

// Maps the rows of one file through a compiled mapping.
class ColumnMapper final : public RecordMapper {
 public:
  // Compiles `mapping` against the trimmed `header`. `field_prefix` is put before mapping field
  // names in messages: "column_mapping." for an upload's mapping, "format
  // kaggle_fraud_features: " for a built-in one. INVALID_ARGUMENT for a mapping that fails
  // ValidateColumnMapping or names a column the header lacks (or matches twice), naming the
  // file, the field, the column and the header.
  static absl::StatusOr<std::unique_ptr<RecordMapper>> Create(
      const v1::ColumnMapping& mapping, const std::vector<std::string>& header,
      MapperContext context, absl::string_view field_prefix);

  // The mapper of DATASET_FORMAT_CANONICAL_CSV (header CanonicalCsvColumns() then
  // "feature:<name>" columns): fields from their namesake columns (tags split on ";"), and
  // beyond a ColumnMapping: original_label from its own column, `source` from its column (an
  // empty cell means the dataset name), chain_id checked against the dataset's chain id (an
  // empty cell means the dataset's), `line` ignored (records get the CSV line), and every
  // "feature:<name>" column a feature <name> that is a number when the cell reads as one and
  // text otherwise. INVALID_ARGUMENT when a column is missing or a feature column has no name.
  static absl::StatusOr<std::unique_ptr<RecordMapper>> CreateCanonicalCsv(
      const std::vector<std::string>& header, MapperContext context);

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override;

 private:
  // What a field holds, which decides how its values are checked.
  enum class FieldKind { kText, kLabel, kAccountType, kTags };

  // A FieldMapping resolved against the header.
  struct Field {
    FieldKind kind = FieldKind::kText;
    // Header position, or -1 for a constant.
    int column = -1;
    // The constant, or the default for an empty cell; final (canonical for labels and account
    // types).
    std::string value;
    // `value` as the mapping wrote it (original_label of a constant label).
    std::string value_as_written;
    // Translation: trimmed lowercase key -> final value.
    absl::flat_hash_map<std::string, std::string> values;
    // The keys as written, for messages.
    std::string allowed_keys;
    // Tags only.
    std::string separator = ";";
  };

  // One feature column resolved against the header.
  struct FeatureSlot {
    enum class Kind { kNumber, kText, kNumberOrText };
    int column = -1;
    std::string name;
    Kind kind = Kind::kNumber;
    // Normalised cell values that mean "not computed": the column's own and the mapping's.
    std::vector<std::string> missing;
  };

  ColumnMapper(MapperContext context, std::vector<std::string> header)
      : RecordMapper(std::move(context), std::move(header)) {}

  static absl::StatusOr<std::unique_ptr<ColumnMapper>> Compile(
      const v1::ColumnMapping& mapping, const std::vector<std::string>& header,
      MapperContext context, absl::string_view field_prefix);
  // The header position of `name` (trimmed, without letter case). INVALID_ARGUMENT naming
  // `path` (the mapping field) when no column or two columns match.
  absl::StatusOr<int> FindColumn(absl::string_view name, absl::string_view path) const;
  // Resolves `mapping` (the field `path`) against the header into `field`.
  absl::Status CompileField(const v1::FieldMapping& mapping, FieldKind kind, absl::string_view path,
                            Field* field) const;

  // Resolves one field of a row into `out` (and the text it came from into `as_written`, when
  // given). Returns false after adding an ERROR.
  bool Resolve(const CsvRow& row, const Field& field, LineResult* result, std::string* out,
               std::string* as_written = nullptr) const;
  // Adds the features of a row to `record`; ERRORs go to `result`.
  void MapFeatures(const CsvRow& row, common::v1::AddressRecord* record, LineResult* result) const;
  // Canonical CSV: checks the chain id cell and sets the source and original label.
  void MapCanonicalColumns(const CsvRow& row, common::v1::AddressRecord* record,
                           LineResult* result) const;

  int address_column_ = -1;
  bool strict_checksum_ = false;
  Field name_;
  Field account_type_;
  Field contract_type_;
  Field entity_;
  Field label_;
  Field tags_;
  Field note_;
  std::vector<FeatureSlot> features_;
  // Canonical CSV only: column positions, or -1.
  int original_label_column_ = -1;
  int source_column_ = -1;
  int chain_id_column_ = -1;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_COLUMN_MAPPING_H_

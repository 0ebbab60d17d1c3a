// Format mappers: each turns one CSV row of its source format into zero or more canonical
// ethscan.common.v1.AddressRecord messages, plus the issues found on the line.
//
// Rules shared by every format:
// - Addresses are parsed leniently and stored in EIP-55 form. A mixed-case address whose
//   checksum is wrong is kept with a WARNING (public lists print such addresses); surrounding
//   whitespace is removed with a WARNING; an empty or otherwise invalid address is an ERROR.
// - A value outside a label column's vocabulary is an ERROR naming the value and the allowed
//   ones.
// - A line with any ERROR yields no records and counts as invalid; WARNINGs keep the line.
// - Each record carries the chain id, the dataset name as `source`, and the line number.
// The per-format mapping of columns to record fields is documented in record_mapper.cc; the
// formats read through a declarative column mapping (CSV mapping, address list, behavioural
// features, canonical CSV) are documented in column_mapping.h.
//
// Thread-safety: a mapper is immutable after Create; Map is const and thread-safe.
#ifndef ETHSCAN_SERVICES_DATASET_RECORD_MAPPER_H_
#define ETHSCAN_SERVICES_DATASET_RECORD_MAPPER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/address.h"
#include "ethscan/common/v1/common.pb.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"
#include "services/dataset/csv_reader.h"

namespace ethscan::dataset {

// Report labels (the fixed vocabulary of the public contract).
inline constexpr char kLabelLegit[] = "Legit";
inline constexpr char kLabelPhishHack[] = "Phish / Hack";
inline constexpr char kLabelScam[] = "Scam";
inline constexpr char kLabelExploit[] = "Exploit";
inline constexpr char kLabelHeist[] = "Heist";
inline constexpr char kLabelSanctioned[] = "Sanctioned";
inline constexpr char kLabelUnknown[] = "Unknown";
// Account types.
inline constexpr char kAccountEoa[] = "EOA";
inline constexpr char kAccountContract[] = "Smart Contract";

// What a mapper needs to know besides the row.
struct MapperContext {
  // Dataset name, stored as each record's `source`.
  std::string source;
  // Chain id of every record (already defaulted: never 0).
  uint64_t chain_id = 1;
  // File name for issues.
  std::string file;
};

// The outcome of mapping one line.
struct LineResult {
  std::vector<common::v1::AddressRecord> records;
  // The records' addresses, decoded, when the mapper has them at hand (the JSON Lines fast
  // path); otherwise empty, and the address strings are parsed where they are needed.
  std::vector<eth::Address> addresses;
  std::vector<v1::ValidationIssue> issues;
  // True when an ERROR issue was found; `records` is then empty.
  bool invalid = false;
};

// The kinds of validation issue (ValidationIssue.kind): stable short names that clients group
// and count by.
namespace issue_kind {
inline constexpr char kInvalidAddress[] = "invalid_address";
inline constexpr char kBadChecksum[] = "bad_checksum";
inline constexpr char kAddressWhitespace[] = "address_whitespace";
inline constexpr char kUnknownValue[] = "unknown_value";
inline constexpr char kUnknownLabel[] = "unknown_label";
inline constexpr char kEmptyLabel[] = "empty_label";
inline constexpr char kUnknownAccountType[] = "unknown_account_type";
inline constexpr char kBadNumber[] = "bad_number";
inline constexpr char kBadChainId[] = "bad_chain_id";
inline constexpr char kDuplicateConflict[] = "duplicate_conflict";
inline constexpr char kNotUtf8[] = "not_utf8";
inline constexpr char kWrongFieldCount[] = "wrong_field_count";
inline constexpr char kMalformedJson[] = "malformed_json";
inline constexpr char kBadExample[] = "bad_example";
inline constexpr char kUnknownField[] = "unknown_field";
inline constexpr char kFieldTooLong[] = "field_too_long";
inline constexpr char kTagTooLong[] = "tag_too_long";
inline constexpr char kTooManyTags[] = "too_many_tags";
}  // namespace issue_kind

// One validation issue: `file`, `line`, `field` (empty for the whole line), `kind` (one of
// issue_kind), `reason`, severity.
v1::ValidationIssue MakeIssue(absl::string_view file, uint64_t line, absl::string_view field,
                              absl::string_view kind, std::string reason,
                              v1::ValidationIssue::Severity severity);

// Why `text` is no address, from the error of eth::Address::Parse(text), which quotes the
// address through text::Quote, so that a megabyte cell gives a short message; kept to one
// line of at most 256 characters.
std::string AddressError(absl::string_view text, const absl::Status& parse_error);

// What the formats that need more than the header are read with.
struct FormatParameters {
  // DATASET_FORMAT_CSV_MAPPING (required there): the upload's column mapping. Not owned.
  const v1::ColumnMapping* column_mapping = nullptr;
  // DATASET_FORMAT_ADDRESS_LIST (label required there): the report label and the tags of every
  // address.
  std::string label;
  std::vector<std::string> tags;
};

// Maps rows of one format. Create one per file (it resolves column positions from the header).
class RecordMapper {
 public:
  virtual ~RecordMapper() = default;

  // Builds the mapper for `format` (not UNSPECIFIED) over a file with the trimmed `header`
  // names. INVALID_ARGUMENT when a needed column is missing, or when `parameters` lack what
  // the format needs (a column mapping, an address-list label) or hold an invalid one.
  static absl::StatusOr<std::unique_ptr<RecordMapper>> Create(
      v1::DatasetFormat format, const std::vector<std::string>& header, MapperContext context,
      const FormatParameters& parameters = {});

  // Maps one row (its field count equals the header's). Clears `result` first.
  void Map(const CsvRow& row, LineResult* result) const;

 protected:
  RecordMapper(MapperContext context, std::vector<std::string> header)
      : context_(std::move(context)), header_(std::move(header)) {}

  // Fills `result` from one row; Map clears the result first and drops the records when an
  // ERROR issue was added.
  virtual void MapRow(const CsvRow& row, LineResult* result) const = 0;

  const MapperContext& context() const { return context_; }
  // Position of the (lowercase) column in the header, or -1.
  int ColumnIndex(absl::string_view lowercase_name) const;
  // The header's spelling of column `column` (0 <= column < header size).
  const std::string& HeaderName(int column) const;
  const std::vector<std::string>& header() const { return header_; }

  // Adds an issue of `kind` (issue_kind) on `line` about column `column` (-1 for the whole
  // line) to `result`; an ERROR marks the line invalid.
  void AddIssue(uint64_t line, int column, absl::string_view kind, std::string reason,
                v1::ValidationIssue::Severity severity, LineResult* result) const;

  // Parses the address in `column` under the shared rules (file comment) and returns it in
  // EIP-55 form. On failure adds an issue of `failure_severity`, with `failure_suffix`
  // appended to the reason, and returns nullopt. With `strict_checksum` a mixed-case address
  // with a wrong checksum is an ERROR instead of a WARNING.
  std::optional<std::string> ParseAddress(
      const CsvRow& row, int column, LineResult* result,
      v1::ValidationIssue::Severity failure_severity = v1::ValidationIssue::SEVERITY_ERROR,
      absl::string_view failure_suffix = "", bool strict_checksum = false) const;

  // A record for `address` with the context's chain id and source and the given line.
  common::v1::AddressRecord NewRecord(std::string address, uint64_t line) const;

 private:
  const MapperContext context_;
  const std::vector<std::string> header_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_RECORD_MAPPER_H_

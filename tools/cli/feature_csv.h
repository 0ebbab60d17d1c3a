// Reads a feature file in the Kaggle "Ethereum Fraud Detection" column layout row by row, for
// `ethscan predict`: the address of each row and its numeric features under their canonical
// ethscan.features.v1 names.
//
// The header decides what each column is: `Address` (any letter case) is the address; `FLAG`,
// `Index` and an unnamed or pandas "Unnamed: N" column are ignored; every other column is
// mapped with features::SchemaIndexOfColumn (Kaggle names, stray spaces and all, or canonical
// names). A canonical export (`ethscan datasets export --format csv`) reads too: its
// "feature:<source column>" columns are features and its record columns (label, tags, …) are
// ignored. Text features (the token-name columns) are skipped, and so are columns that are no
// feature, which unknown_columns() lists for a warning. An empty (or "NaN") cell is a missing
// feature and is left out, never 0.
//
// A row that cannot be scored is passed over and reported with its line and reason: an invalid
// address (common/eth/address.h, strict EIP-55 for mixed case), a cell that is not a finite
// number (naming the column), no feature value at all, or a field count that differs from the
// header's. Structural CSV problems (services/dataset/csv_reader.h) end the file.
//
// The file is read in 64 KiB chunks, so memory does not grow with its size. Not thread-safe;
// one reader per file.
#ifndef ETHSCAN_TOOLS_CLI_FEATURE_CSV_H_
#define ETHSCAN_TOOLS_CLI_FEATURE_CSV_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/dataset/csv_reader.h"

namespace ethscan::cli {

// One row that can be scored.
struct FeatureRow {
  // 1-based line of the file the row starts on.
  uint64_t line = 0;
  // The row's address, "0x" + lowercase hex.
  std::string address;
  // Canonical feature name to value, in schema order; missing features left out.
  std::vector<std::pair<std::string, double>> features;
};

// A row that was passed over.
struct SkippedRow {
  uint64_t line = 0;
  // Why, e.g. `column "Sent tnx": "abc" is not a number`.
  std::string reason;
};

class FeatureCsvReader {
 public:
  // Opens `path` and reads its header. NOT_FOUND or PERMISSION_DENIED when it cannot be
  // opened; INVALID_ARGUMENT naming the file when the header is unreadable, has no Address
  // column (or two), no numeric feature column, or two columns holding the same feature.
  static absl::StatusOr<std::unique_ptr<FeatureCsvReader>> Open(const std::string& path);
  // The same over a stream; `name` is used in messages.
  static absl::StatusOr<std::unique_ptr<FeatureCsvReader>> FromStream(
      std::unique_ptr<std::istream> in, const std::string& name);

  FeatureCsvReader(const FeatureCsvReader&) = delete;
  FeatureCsvReader& operator=(const FeatureCsvReader&) = delete;
  ~FeatureCsvReader();

  // The next row that can be scored, or nullopt at the end of the file. Rows passed over on
  // the way go to `skipped` (may be empty). INVALID_ARGUMENT naming file and line for a
  // structural CSV problem, DATA_LOSS when the file cannot be read; every later call returns
  // the same error.
  absl::StatusOr<std::optional<FeatureRow>> Next(
      const std::function<void(const SkippedRow&)>& skipped);

  // Header columns that are neither the address, an ignored column, nor a feature.
  const std::vector<std::string>& unknown_columns() const { return unknown_columns_; }
  // Numeric feature columns of the header.
  size_t feature_column_count() const { return feature_columns_; }

 private:
  class Handler;
  // How a header column is read.
  struct Column {
    enum class Role { kIgnored, kAddress, kFeature } role = Role::kIgnored;
    // The header's name, for messages.
    std::string header;
    // Canonical name, for kFeature.
    std::string feature;
  };
  // A parsed row, or a row passed over (`skipped` set).
  struct Item {
    FeatureRow row;
    std::optional<SkippedRow> skipped;
  };

  FeatureCsvReader(std::unique_ptr<std::istream> in, const std::string& name);
  // Feeds the next chunk (or finishes the input at its end).
  absl::Status ReadChunk();
  absl::Status OnHeader(const std::vector<std::string>& columns);
  void OnRow(const dataset::CsvRow& row);

  std::unique_ptr<std::istream> in_;
  const std::string name_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<dataset::CsvReader> reader_;
  std::vector<Column> columns_;
  std::vector<std::string> unknown_columns_;
  size_t feature_columns_ = 0;
  // Columns whose features are listed in schema order, so rows need no sort.
  std::vector<size_t> feature_order_;
  std::deque<Item> items_;
  bool at_end_ = false;
  // True once the header was read and accepted.
  bool header_read_ = false;
  absl::Status error_;
};

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_FEATURE_CSV_H_

// A streaming RFC-4180 CSV reader. It is fed a file in arbitrary chunks (a row may span any
// number of chunks), reports the header row once and then every data row with the 1-based
// physical line number the row starts on.
//
// Accepted input: fields separated by ',', rows ended by "\n", "\r\n" or a lone "\r"; fields
// in double quotes may hold commas, line breaks and doubled quotes (""); a UTF-8 byte-order
// mark at the very start is dropped; blank lines are skipped; the last row may lack its line
// break. Header names are trimmed of surrounding whitespace; data fields are returned as is.
//
// Structural problems stop the reader and are returned as INVALID_ARGUMENT naming the file and
// line: a quote inside an unquoted field, a character after a closing quote, an unterminated
// quoted field at the end of the input, a truncated last line (fewer fields than the header
// and no line break), a row longer than the limit, an empty (see
// CsvReaderOptions::allow_unnamed_first_column) or duplicate header name, an empty input. A row
// whose field count differs from the header's is not structural: it is handed to
// Handler::OnMalformedRow and reading goes on.
//
// Thread-safety: not thread-safe; one reader per stream.
#ifndef ETHSCAN_SERVICES_DATASET_CSV_READER_H_
#define ETHSCAN_SERVICES_DATASET_CSV_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ethscan::dataset {

// One data row.
struct CsvRow {
  // 1-based physical line the row starts on (the header is line 1 unless blank lines precede it).
  uint64_t line = 0;
  // The unquoted field values, as many as the header has columns.
  std::vector<std::string> fields;
};

// Limits and names for one reader.
struct CsvReaderOptions {
  // Name of the file, used in error messages as given (the ingest pipeline passes it through
  // text::Escape).
  std::string filename = "input";
  // Longest row accepted, in bytes (a guard against an unterminated quote swallowing a file).
  size_t max_row_bytes = 1 << 20;
  // When true, the first header column may have an empty name: the row-number column pandas
  // writes without one (",Index,Address,…"). Every other name must still be non-empty.
  bool allow_unnamed_first_column = false;
};

class CsvReader {
 public:
  // Receives what the reader finds, in input order. A non-OK status returned by a callback
  // stops the reader; Feed/Finish return it unchanged.
  class Handler {
   public:
    virtual ~Handler() = default;
    // Called once with the header's line and trimmed names, before any row.
    virtual absl::Status OnHeader(uint64_t line, const std::vector<std::string>& columns) = 0;
    // Called for each data row whose field count matches the header.
    virtual absl::Status OnRow(const CsvRow& row) = 0;
    // Called for a data row with the wrong number of fields; `reason` says how many.
    virtual absl::Status OnMalformedRow(uint64_t line, absl::string_view reason) = 0;
  };

  // `handler` is not owned and must outlive the reader.
  CsvReader(CsvReaderOptions options, Handler* handler);
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Parses the next bytes of the input. After an error every later call returns it again.
  absl::Status Feed(absl::string_view chunk);
  // Ends the input: emits a last row that had no line break, or reports a truncated one.
  absl::Status Finish();

  // True once the header row has been read.
  bool has_header() const { return header_seen_; }
  // Data rows seen so far (well-formed and malformed), blank lines excluded.
  uint64_t row_count() const { return row_count_; }

 private:
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted, kAfterCr };

  absl::Status ProcessBytes(absl::string_view bytes);
  absl::Status EndField();
  absl::Status EndRow(bool at_end_of_input);
  absl::Status Error(uint64_t line, absl::string_view reason);
  absl::Status Fail(absl::Status status);

  const CsvReaderOptions options_;
  Handler* const handler_;
  State state_ = State::kFieldStart;
  // Bytes of a possible byte-order mark held back until it is known whether it is one.
  std::string bom_prefix_;
  bool bom_done_ = false;
  bool finished_ = false;
  absl::Status error_;
  // Current physical line (1-based) and the line the current row started on.
  uint64_t line_ = 1;
  uint64_t row_start_line_ = 1;
  // Line the current quoted field opened on, for "unterminated" messages.
  uint64_t quote_start_line_ = 1;
  size_t row_bytes_ = 0;
  std::string field_;
  std::vector<std::string> fields_;
  bool header_seen_ = false;
  size_t column_count_ = 0;
  uint64_t row_count_ = 0;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_CSV_READER_H_

// A streaming JSON Lines splitter. It is fed a file in arbitrary chunks (a line may span any
// number of chunks) and hands every non-blank line to a handler with its 1-based line number.
// It does not parse JSON; jsonl_mapper.h does.
//
// Accepted input: lines ended by "\n" or "\r\n" (the "\r" is dropped); a UTF-8 byte-order mark
// at the very start is dropped; lines holding only spaces or tabs are skipped; the last line
// may lack its line break (the handler is told, so that a parse error there can say the file
// may be truncated).
//
// Structural problems stop the reader and are returned as INVALID_ARGUMENT naming the file and
// line: a line longer than the limit (detected while streaming, before the line is buffered
// whole) and an input without any non-blank line.
//
// Thread-safety: not thread-safe; one reader per stream.
#ifndef ETHSCAN_SERVICES_DATASET_JSONL_READER_H_
#define ETHSCAN_SERVICES_DATASET_JSONL_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ethscan::dataset {

// The text of physical line `line` (1-based) as the reader hands it over, from its bytes
// without the "\n": without a final "\r" when the line had a line break, and on line 1 without a
// byte-order mark.
absl::string_view JsonlLineText(uint64_t line, absl::string_view bytes, bool has_line_break);
// Whether the reader skips a line with this text: only spaces and tabs, or nothing.
bool IsBlankJsonlLine(absl::string_view text);

struct JsonlReaderOptions {
  // Name of the file, used in error messages.
  std::string filename = "input";
  // Longest line accepted, in bytes, line break excluded.
  size_t max_line_bytes = 1 << 20;
};

class JsonlReader {
 public:
  // Receives the non-blank lines in order. A non-OK status stops the reader; Feed and Finish
  // return it unchanged.
  class Handler {
   public:
    virtual ~Handler() = default;
    // `text` is the line without its line break (and without a leading byte-order mark);
    // `has_line_break` is false only for a last line that ends the input without one.
    virtual absl::Status OnLine(uint64_t line, absl::string_view text, bool has_line_break) = 0;
  };

  // `handler` is not owned and must outlive the reader.
  JsonlReader(JsonlReaderOptions options, Handler* handler);
  JsonlReader(const JsonlReader&) = delete;
  JsonlReader& operator=(const JsonlReader&) = delete;

  // Splits the next bytes of the input. After an error every later call returns it again.
  absl::Status Feed(absl::string_view chunk);
  // Ends the input: hands over a last line without a line break.
  absl::Status Finish();

  // Non-blank lines handed over so far.
  uint64_t line_count() const { return line_count_; }
  // Physical (1-based) number of the line the next byte fed belongs to.
  uint64_t next_line() const { return line_; }

 private:
  absl::Status EmitLine(absl::string_view text, bool has_line_break);
  absl::Status Fail(absl::Status status);

  const JsonlReaderOptions options_;
  Handler* const handler_;
  // The current line's bytes when it spans chunks.
  std::string partial_;
  // Physical line number of the next line.
  uint64_t line_ = 1;
  uint64_t line_count_ = 0;
  bool finished_ = false;
  absl::Status error_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_JSONL_READER_H_

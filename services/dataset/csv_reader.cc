#include "services/dataset/csv_reader.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/text/quote.h"

namespace ethscan::dataset {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";

// Quote a character for an error message.
std::string Printable(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return absl::StrCat("'", std::string(1, c), "'");
  return absl::StrCat("byte 0x", absl::Hex(u, absl::kZeroPad2));
}

}  // namespace

CsvReader::CsvReader(CsvReaderOptions options, Handler* handler)
    : options_(std::move(options)), handler_(handler) {}

absl::Status CsvReader::Error(uint64_t line, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(options_.filename, " line ", line, ": ", reason));
}

absl::Status CsvReader::Fail(absl::Status status) {
  if (error_.ok()) error_ = status;
  return status;
}

absl::Status CsvReader::Feed(absl::string_view chunk) {
  if (!error_.ok()) return error_;
  if (finished_) return absl::FailedPreconditionError("csv reader: Feed after Finish");
  if (!bom_done_) {
    while (!chunk.empty() && bom_prefix_.size() < kBom.size()) {
      bom_prefix_.push_back(chunk.front());
      chunk.remove_prefix(1);
      if (!absl::StartsWith(kBom, bom_prefix_)) break;
    }
    if (bom_prefix_ == kBom) {
      bom_done_ = true;
      bom_prefix_.clear();
    } else if (!absl::StartsWith(kBom, bom_prefix_)) {
      bom_done_ = true;
      std::string held = std::move(bom_prefix_);
      bom_prefix_.clear();
      absl::Status status = ProcessBytes(held);
      if (!status.ok()) return Fail(status);
    } else {
      return absl::OkStatus();  // Still a possible BOM prefix; wait for more bytes.
    }
  }
  absl::Status status = ProcessBytes(chunk);
  if (!status.ok()) return Fail(status);
  return absl::OkStatus();
}

absl::Status CsvReader::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) return absl::OkStatus();
  finished_ = true;
  if (!bom_done_) {
    // Fewer than three bytes, all a BOM prefix: they are data.
    bom_done_ = true;
    std::string held = std::move(bom_prefix_);
    bom_prefix_.clear();
    absl::Status status = ProcessBytes(held);
    if (!status.ok()) return Fail(status);
  }
  absl::Status status;
  switch (state_) {
    case State::kQuoted:
      return Fail(Error(quote_start_line_,
                        "unterminated quoted field: the input ends inside quotes (truncated "
                        "file?)"));
    case State::kAfterCr:
      status = EndRow(/*at_end_of_input=*/false);
      break;
    default:
      if (row_bytes_ > 0 || !fields_.empty()) status = EndRow(/*at_end_of_input=*/true);
      break;
  }
  if (!status.ok()) return Fail(status);
  if (!header_seen_) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(options_.filename, ": empty file, there is no header row")));
  }
  return absl::OkStatus();
}

absl::Status CsvReader::ProcessBytes(absl::string_view bytes) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    char c = bytes[i];
    if (state_ == State::kAfterCr) {
      // A CR ended the row; a directly following LF belongs to the same line break.
      state_ = State::kFieldStart;
      absl::Status status = EndRow(/*at_end_of_input=*/false);
      if (!status.ok()) return status;
      if (c == '\n') ++i;
      continue;
    }
    if (c == '\n') {
      if (state_ == State::kQuoted) {
        field_.push_back(c);
        ++line_;
        if (++row_bytes_ > options_.max_row_bytes) break;
        ++i;
        continue;
      }
      state_ = State::kFieldStart;
      absl::Status status = EndRow(/*at_end_of_input=*/false);
      if (!status.ok()) return status;
      ++i;
      continue;
    }
    if (c == '\r' && state_ != State::kQuoted) {
      state_ = State::kAfterCr;
      ++i;
      continue;
    }
    if (++row_bytes_ > options_.max_row_bytes) break;
    switch (state_) {
      case State::kFieldStart:
        if (c == '"') {
          state_ = State::kQuoted;
          quote_start_line_ = line_;
        } else if (c == ',') {
          fields_.push_back(std::string());
        } else {
          field_.push_back(c);
          state_ = State::kUnquoted;
        }
        ++i;
        break;
      case State::kUnquoted: {
        if (c == ',') {
          absl::Status status = EndField();
          if (!status.ok()) return status;
          state_ = State::kFieldStart;
          ++i;
          break;
        }
        if (c == '"') {
          return Error(line_,
                       "malformed quoting: a quote inside an unquoted field (a field that "
                       "contains quotes must be enclosed in quotes, with each quote doubled)");
        }
        // Copy the run of ordinary characters at once.
        size_t j = i;
        while (j < n && bytes[j] != ',' && bytes[j] != '"' && bytes[j] != '\n' &&
               bytes[j] != '\r') {
          ++j;
        }
        field_.append(bytes.data() + i, j - i);
        row_bytes_ += j - i - 1;
        i = j;
        break;
      }
      case State::kQuoted: {
        if (c == '"') {
          state_ = State::kQuoteInQuoted;
          ++i;
          break;
        }
        size_t j = i;
        while (j < n && bytes[j] != '"' && bytes[j] != '\n') ++j;
        field_.append(bytes.data() + i, j - i);
        row_bytes_ += j - i - 1;
        i = j;
        break;
      }
      case State::kQuoteInQuoted:
        if (c == '"') {
          field_.push_back('"');
          state_ = State::kQuoted;
        } else if (c == ',') {
          absl::Status status = EndField();
          if (!status.ok()) return status;
          state_ = State::kFieldStart;
        } else {
          return Error(line_, absl::StrCat("malformed quoting: unexpected ", Printable(c),
                                           " after a closing quote (expected a comma or the "
                                           "end of the line)"));
        }
        ++i;
        break;
      case State::kAfterCr:
        break;  // Handled above.
    }
    if (row_bytes_ > options_.max_row_bytes) break;
  }
  if (row_bytes_ > options_.max_row_bytes) {
    return Error(row_start_line_, absl::StrCat("row longer than ", options_.max_row_bytes,
                                               " bytes (an unterminated quoted field?)"));
  }
  return absl::OkStatus();
}

absl::Status CsvReader::EndField() {
  fields_.push_back(std::move(field_));
  field_.clear();
  return absl::OkStatus();
}

absl::Status CsvReader::EndRow(bool at_end_of_input) {
  const uint64_t line = row_start_line_;
  auto advance = [&] {
    fields_.clear();
    field_.clear();
    row_bytes_ = 0;
    if (!at_end_of_input) ++line_;
    row_start_line_ = line_;
  };
  if (fields_.empty() && row_bytes_ == 0) {
    advance();  // A blank line.
    return absl::OkStatus();
  }
  absl::Status status = EndField();
  if (!status.ok()) return status;
  std::vector<std::string> fields = std::move(fields_);
  advance();
  if (!header_seen_) {
    absl::flat_hash_set<std::string> seen;
    for (size_t k = 0; k < fields.size(); ++k) {
      std::string& name = fields[k];
      absl::StripAsciiWhitespace(&name);
      if (name.empty() && !(k == 0 && options_.allow_unnamed_first_column)) {
        return Error(line, absl::StrCat("header column ", k + 1, " has an empty name"));
      }
      if (!seen.insert(absl::AsciiStrToLower(name)).second) {
        return Error(line, absl::StrCat("header column ", text::Quote(name), " appears twice"));
      }
    }
    header_seen_ = true;
    column_count_ = fields.size();
    return handler_->OnHeader(line, fields);
  }
  ++row_count_;
  if (fields.size() == column_count_) {
    CsvRow row;
    row.line = line;
    row.fields = std::move(fields);
    return handler_->OnRow(row);
  }
  if (at_end_of_input && fields.size() < column_count_) {
    return Error(line,
                 absl::StrCat("truncated last line: ", fields.size(), " fields, the header has ",
                              column_count_, " (the file seems cut off)"));
  }
  return handler_->OnMalformedRow(
      line, absl::StrCat(fields.size(), " fields, the header has ", column_count_));
}

}  // namespace ethscan::dataset

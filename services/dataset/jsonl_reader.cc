#include "services/dataset/jsonl_reader.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ethscan::dataset {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

absl::string_view JsonlLineText(uint64_t line, absl::string_view bytes, bool has_line_break) {
  if (has_line_break && absl::EndsWith(bytes, "\r")) bytes.remove_suffix(1);
  if (line == 1 && absl::StartsWith(bytes, kBom)) bytes.remove_prefix(kBom.size());
  return bytes;
}

bool IsBlankJsonlLine(absl::string_view text) {
  return text.find_first_not_of(" \t") == absl::string_view::npos;
}

JsonlReader::JsonlReader(JsonlReaderOptions options, Handler* handler)
    : options_(std::move(options)), handler_(handler) {}

absl::Status JsonlReader::Fail(absl::Status status) {
  if (error_.ok()) error_ = status;
  return status;
}

absl::Status JsonlReader::EmitLine(absl::string_view bytes, bool has_line_break) {
  const uint64_t line = line_++;
  const absl::string_view text = JsonlLineText(line, bytes, has_line_break);
  if (text.size() > options_.max_line_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(options_.filename, " line ", line,
                                                   ": longer than the limit of ",
                                                   options_.max_line_bytes, " bytes"));
  }
  if (IsBlankJsonlLine(text)) return absl::OkStatus();
  ++line_count_;
  return handler_->OnLine(line, text, has_line_break);
}

absl::Status JsonlReader::Feed(absl::string_view chunk) {
  if (!error_.ok()) return error_;
  if (finished_) return absl::FailedPreconditionError("jsonl reader: Feed after Finish");
  while (!chunk.empty()) {
    const size_t newline = chunk.find('\n');
    if (newline == absl::string_view::npos) {
      // Room for a "\r" and, on line 1, a byte-order mark beyond the limit.
      if (partial_.size() + chunk.size() > options_.max_line_bytes + 1 + kBom.size()) {
        return Fail(absl::InvalidArgumentError(absl::StrCat(options_.filename, " line ", line_,
                                                            ": longer than the limit of ",
                                                            options_.max_line_bytes, " bytes")));
      }
      partial_.append(chunk.data(), chunk.size());
      return absl::OkStatus();
    }
    absl::Status status;
    if (partial_.empty()) {
      status = EmitLine(chunk.substr(0, newline), /*has_line_break=*/true);
    } else {
      partial_.append(chunk.data(), newline);
      status = EmitLine(partial_, /*has_line_break=*/true);
      partial_.clear();
    }
    if (!status.ok()) return Fail(status);
    chunk.remove_prefix(newline + 1);
  }
  return absl::OkStatus();
}

absl::Status JsonlReader::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) return absl::OkStatus();
  finished_ = true;
  if (!partial_.empty()) {
    std::string last = std::move(partial_);
    partial_.clear();
    absl::Status status = EmitLine(last, /*has_line_break=*/false);
    if (!status.ok()) return Fail(status);
  }
  if (line_count_ == 0) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(options_.filename, ": empty file, there is no JSON line")));
  }
  return absl::OkStatus();
}

}  // namespace ethscan::dataset

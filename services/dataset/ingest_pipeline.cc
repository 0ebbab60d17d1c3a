#include "services/dataset/ingest_pipeline.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/dataset/dataset_format.h"

namespace ethscan::dataset {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";

std::string DescribeIssue(const v1::ValidationIssue& issue) {
  return absl::StrCat("line ", issue.line(), issue.field().empty() ? "" : ", field ", issue.field(),
                      ": ", issue.reason());
}

}  // namespace

IngestPipeline::IngestPipeline(IngestOptions options, RecordSink* sink)
    : options_(std::move(options)),
      display_name_(options_.filename.empty() ? options_.name : options_.filename),
      sink_(sink),
      mode_(ModeFor(options_.format)),
      reader_(CsvReaderOptions{display_name_, options_.max_row_bytes}, this),
      jsonl_reader_(JsonlReaderOptions{display_name_, options_.max_row_bytes}, this) {
  result_.dataset.set_name(options_.name);
  result_.dataset.set_chain_id(options_.chain_id);
  result_.dataset.set_filename(options_.filename);
}

absl::Status IngestPipeline::Reject(absl::Status status) {
  if (error_.ok()) error_ = status;
  if (status.code() == absl::StatusCode::kInvalidArgument && result_.rejection.empty()) {
    result_.rejection = static_cast<std::string>(status.message());
  }
  return status;
}

absl::Status IngestPipeline::AddChunk(absl::string_view chunk) {
  if (!error_.ok()) return error_;
  if (finished_) return absl::FailedPreconditionError("ingest already finished");
  const uint64_t size = result_.dataset.size_bytes();
  if (chunk.size() > options_.max_bytes - size) {
    return Reject(absl::ResourceExhaustedError(
        absl::StrCat(display_name_, ": the file is larger than the upload limit of ",
                     options_.max_bytes, " bytes")));
  }
  result_.dataset.set_size_bytes(size + chunk.size());
  file_sha_.Update(chunk);
  if (id_sha_ != nullptr) {
    id_sha_->Update(chunk);
  } else {
    pending_.append(chunk.data(), chunk.size());
  }
  absl::Status status = Feed(chunk);
  if (id_sha_ != nullptr && !pending_.empty()) {
    id_sha_->Update(pending_);
    pending_.clear();
    pending_.shrink_to_fit();
  }
  if (!status.ok()) return Reject(status);
  return absl::OkStatus();
}

absl::Status IngestPipeline::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) return absl::OkStatus();
  finished_ = true;
  absl::Status status;
  if (mode_ == Mode::kUndecided) {
    // Only blank space so far: read it as CSV, which reports the empty file.
    mode_ = Mode::kCsv;
    status = FeedDecided(std::exchange(sniff_, std::string()));
  }
  if (status.ok()) status = mode_ == Mode::kJsonl ? jsonl_reader_.Finish() : reader_.Finish();
  if (id_sha_ != nullptr && !pending_.empty()) {
    id_sha_->Update(pending_);
    pending_.clear();
  }
  if (!status.ok()) return Reject(status);
  v1::Dataset& dataset = result_.dataset;
  dataset.set_sha256(file_sha_.FinishHex());
  dataset.set_address_count(addresses_.size());
  dataset.set_id(absl::StrCat("ds-", id_sha_->FinishHex().substr(0, 16)));
  if (dataset.line_count() == 0) {
    return Reject(absl::InvalidArgumentError(
        absl::StrCat(display_name_, ": the file has a header but no data rows")));
  }
  const uint64_t invalid = dataset.invalid_line_count();
  const double share = static_cast<double>(invalid) / static_cast<double>(dataset.line_count());
  if (invalid > 0 && share > options_.max_invalid_fraction) {
    return Reject(absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d of %d lines are invalid (%.4g%%), more than the allowed %.4g%%; first: %s",
        display_name_, invalid, dataset.line_count(), share * 100,
        options_.max_invalid_fraction * 100, first_error_)));
  }
  return absl::OkStatus();
}

IngestPipeline::Mode IngestPipeline::ModeFor(v1::DatasetFormat requested) {
  if (requested == v1::DATASET_FORMAT_UNSPECIFIED) return Mode::kUndecided;
  return IsJsonlFormat(requested) ? Mode::kJsonl : Mode::kCsv;
}

absl::Status IngestPipeline::Feed(absl::string_view bytes) {
  if (mode_ != Mode::kUndecided) return FeedDecided(bytes);
  sniff_.append(bytes.data(), bytes.size());
  absl::string_view start = sniff_;
  if (start.size() < kBom.size() && absl::StartsWith(kBom, start)) return absl::OkStatus();
  if (absl::StartsWith(start, kBom)) start.remove_prefix(kBom.size());
  const size_t first = start.find_first_not_of(" \t\r\n");
  if (first == absl::string_view::npos) {
    if (sniff_.size() <= options_.max_row_bytes) return absl::OkStatus();
    mode_ = Mode::kCsv;  // Let the CSV reader report the over-long blank start.
  } else {
    mode_ = start[first] == '{' ? Mode::kJsonl : Mode::kCsv;
  }
  return FeedDecided(std::exchange(sniff_, std::string()));
}

absl::Status IngestPipeline::FeedDecided(absl::string_view bytes) {
  return mode_ == Mode::kJsonl ? jsonl_reader_.Feed(bytes) : reader_.Feed(bytes);
}

void IngestPipeline::StartFormat(const FormatChoice& choice) {
  result_.dataset.set_format(choice.format);
  result_.format_detection = choice.explanation;
  id_sha_ = std::make_unique<eth::Sha256>();
  id_sha_->Update(
      absl::StrCat(FormatName(choice.format), "\n", options_.name, "\n", options_.chain_id, "\n"));
}

absl::Status IngestPipeline::OnHeader(uint64_t line, const std::vector<std::string>& columns) {
  absl::StatusOr<FormatChoice> choice = ChooseFormat(options_.format, columns, display_name_, line);
  if (!choice.ok()) return choice.status();
  MapperContext context{options_.name, options_.chain_id, display_name_};
  absl::StatusOr<std::unique_ptr<RecordMapper>> mapper =
      RecordMapper::Create(choice->format, columns, std::move(context));
  if (!mapper.ok()) return mapper.status();
  mapper_ = *std::move(mapper);
  StartFormat(*choice);
  return absl::OkStatus();
}

absl::Status IngestPipeline::OnLine(uint64_t line, absl::string_view text, bool has_line_break) {
  if (jsonl_mapper_ == nullptr) {
    absl::StatusOr<FormatChoice> choice =
        ChooseJsonlFormat(options_.format, text, display_name_, line);
    if (!choice.ok()) return choice.status();
    absl::StatusOr<std::unique_ptr<JsonlMapper>> mapper = JsonlMapper::Create(
        choice->format, MapperContext{options_.name, options_.chain_id, display_name_});
    if (!mapper.ok()) return mapper.status();
    jsonl_mapper_ = *std::move(mapper);
    StartFormat(*choice);
  }
  jsonl_mapper_->Map(line, text, has_line_break, &line_result_);
  return AcceptLine();
}

absl::Status IngestPipeline::OnRow(const CsvRow& row) {
  mapper_->Map(row, &line_result_);
  return AcceptLine();
}

absl::Status IngestPipeline::AcceptLine() {
  v1::Dataset& dataset = result_.dataset;
  dataset.set_line_count(dataset.line_count() + 1);
  for (v1::ValidationIssue& issue : line_result_.issues) AddIssue(std::move(issue));
  if (line_result_.invalid) {
    dataset.set_invalid_line_count(dataset.invalid_line_count() + 1);
    return absl::OkStatus();
  }
  for (const common::v1::AddressRecord& record : line_result_.records) {
    if (sink_ != nullptr) {
      absl::Status status = sink_->Write(record);
      if (!status.ok()) return status;
    }
    dataset.set_record_count(dataset.record_count() + 1);
    (*dataset.mutable_label_counts())[record.label()] += 1;
    // Mappers only emit valid checksummed addresses, so this parse cannot fail.
    absl::StatusOr<eth::Address> address =
        eth::Address::Parse(record.address(), eth::Address::ChecksumPolicy::kLenient);
    if (address.ok()) addresses_.insert(*address);
  }
  return absl::OkStatus();
}

absl::Status IngestPipeline::OnMalformedRow(uint64_t line, absl::string_view reason) {
  v1::Dataset& dataset = result_.dataset;
  dataset.set_line_count(dataset.line_count() + 1);
  dataset.set_invalid_line_count(dataset.invalid_line_count() + 1);
  v1::ValidationIssue issue;
  issue.set_file(display_name_);
  issue.set_line(line);
  issue.set_reason(absl::StrCat("wrong number of fields: ", reason));
  issue.set_severity(v1::ValidationIssue::SEVERITY_ERROR);
  AddIssue(std::move(issue));
  return absl::OkStatus();
}

void IngestPipeline::AddIssue(v1::ValidationIssue issue) {
  if (first_error_.empty() && issue.severity() == v1::ValidationIssue::SEVERITY_ERROR) {
    first_error_ = DescribeIssue(issue);
  }
  if (result_.issues.size() < options_.max_issues) result_.issues.push_back(std::move(issue));
}

}  // namespace ethscan::dataset

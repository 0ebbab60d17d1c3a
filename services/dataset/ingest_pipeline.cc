#include "services/dataset/ingest_pipeline.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/dataset/dataset_format.h"

namespace ethscan::dataset {
namespace {

std::string DescribeIssue(const v1::ValidationIssue& issue) {
  return absl::StrCat("line ", issue.line(), issue.field().empty() ? "" : ", field ", issue.field(),
                      ": ", issue.reason());
}

}  // namespace

IngestPipeline::IngestPipeline(IngestOptions options, RecordSink* sink)
    : options_(std::move(options)),
      display_name_(options_.filename.empty() ? options_.name : options_.filename),
      sink_(sink),
      reader_(CsvReaderOptions{display_name_, options_.max_row_bytes}, this) {
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
  absl::Status status = reader_.Feed(chunk);
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
  absl::Status status = reader_.Finish();
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

absl::Status IngestPipeline::OnHeader(uint64_t line, const std::vector<std::string>& columns) {
  absl::StatusOr<FormatChoice> choice = ChooseFormat(options_.format, columns, display_name_, line);
  if (!choice.ok()) return choice.status();
  result_.dataset.set_format(choice->format);
  result_.format_detection = choice->explanation;
  MapperContext context{options_.name, options_.chain_id, display_name_};
  absl::StatusOr<std::unique_ptr<RecordMapper>> mapper =
      RecordMapper::Create(choice->format, columns, std::move(context));
  if (!mapper.ok()) return mapper.status();
  mapper_ = *std::move(mapper);
  id_sha_ = std::make_unique<eth::Sha256>();
  id_sha_->Update(
      absl::StrCat(FormatName(choice->format), "\n", options_.name, "\n", options_.chain_id, "\n"));
  return absl::OkStatus();
}

absl::Status IngestPipeline::OnRow(const CsvRow& row) {
  v1::Dataset& dataset = result_.dataset;
  dataset.set_line_count(dataset.line_count() + 1);
  mapper_->Map(row, &line_result_);
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

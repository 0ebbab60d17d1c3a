#include "services/dataset/ingest_pipeline.h"

#include <algorithm>
#include <functional>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/report/labels.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "services/dataset/column_mapping.h"
#include "services/dataset/dataset_format.h"
#include "services/dataset/record_merge.h"
#include "simdjson.h"

namespace ethscan::dataset {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";

// Offset of the first byte of `text` that does not begin a well-formed UTF-8 sequence (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF); text.size() when all is well.
size_t FirstInvalidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if (byte >= 0xC2 && byte <= 0xDF) {
      length = 2;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      length = 3;
      if (byte == 0xE0) low = 0xA0;
      if (byte == 0xED) high = 0x9F;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4;
      if (byte == 0xF0) low = 0x90;
      if (byte == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return i;
    }
    i += length;
  }
  return text.size();
}

// The longest rejection message, in characters; the parts quoting the file are capped on their
// own, so this only bounds what a bug could let through.
constexpr size_t kMaxMessageChars = 2048;
// The longest issue reason and field name kept, in characters.
constexpr size_t kMaxReasonChars = 512;
constexpr size_t kMaxFieldChars = 64;

using text::CountChars;

// "is 100000 characters long, more than the limit of 128 (the dataset service's
// --max_tag_chars)".
std::string OverLimit(size_t chars, size_t limit, absl::string_view flag) {
  return absl::StrCat("is ", chars, " characters long, more than the limit of ", limit,
                      " (the dataset service's --", flag, ")");
}

// Checks one constant of the request that every record gets (`where` names it).
absl::Status CheckConstant(absl::string_view value, size_t limit, absl::string_view flag,
                           absl::string_view where) {
  const size_t chars = CountChars(absl::StripAsciiWhitespace(value));
  if (chars <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(where, " ", OverLimit(chars, limit, flag)));
}

// Checks constant tags that every record gets: `joined` split on `separator` (`where` names
// them).
absl::Status CheckConstantTags(absl::string_view joined, absl::string_view separator,
                               const IngestOptions& options, absl::string_view where) {
  size_t count = 0;
  for (absl::string_view tag : absl::StrSplit(joined, separator)) {
    tag = absl::StripAsciiWhitespace(tag);
    if (tag.empty()) continue;
    RETURN_IF_ERROR(CheckConstant(tag, options.max_tag_chars, "max_tag_chars",
                                  absl::StrCat(where, " tag ", count + 1)));
    ++count;
  }
  if (count > options.max_tags) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " holds ", count, " tags, more than the limit of ", options.max_tags,
                     " tags per record (the dataset service's --max_tags)"));
  }
  return absl::OkStatus();
}

// Checks the constants and translated values of a column mapping against the size limits.
absl::Status CheckMappingLimits(const v1::ColumnMapping& mapping, const IngestOptions& options) {
  struct Named {
    absl::string_view name;
    const v1::FieldMapping* field;
  };
  const Named fields[] = {{"name", &mapping.name()},
                          {"account_type", &mapping.account_type()},
                          {"contract_type", &mapping.contract_type()},
                          {"entity", &mapping.entity()},
                          {"label", &mapping.label()},
                          {"tags", &mapping.tags()},
                          {"note", &mapping.note()}};
  for (const Named& named : fields) {
    const std::string path = absl::StrCat("UploadMetadata.column_mapping.", named.name);
    std::vector<std::pair<std::string, absl::string_view>> values = {
        {absl::StrCat(path, ".value"), named.field->value()}};
    for (const auto& [key, target] : named.field->values()) {
      values.emplace_back(absl::StrCat(path, ".values[", text::Quote(key), "]"), target);
    }
    for (const auto& [where, value] : values) {
      if (named.name == "tags") {
        const std::string& separator = named.field->separator();
        RETURN_IF_ERROR(
            CheckConstantTags(value, separator.empty() ? ";" : separator, options, where));
      } else if (named.name == "note") {
        RETURN_IF_ERROR(CheckConstant(value, options.max_note_chars, "max_note_chars", where));
      } else {
        RETURN_IF_ERROR(CheckConstant(value, options.max_field_chars, "max_field_chars", where));
      }
    }
  }
  return absl::OkStatus();
}

std::string DescribeIssue(const v1::ValidationIssue& issue) {
  return absl::StrCat("line ", issue.line(), issue.field().empty() ? "" : ", field ", issue.field(),
                      ": ", issue.reason());
}

// Chunks at least this large are hashed on a second thread while they are parsed.
constexpr size_t kParallelHashBytes = 64 << 10;

// Runs `hash` on a second thread while `parse` runs on this one (SHA-256 and parsing take
// comparable time per byte); runs both here when no thread can be started.
absl::Status HashWhileParsing(const std::function<void()>& hash,
                              const std::function<absl::Status()>& parse) {
  std::thread hasher;
  try {
    hasher = std::thread(hash);
  } catch (const std::system_error&) {
    hash();
    return parse();
  }
  absl::Status status = parse();
  hasher.join();
  return status;
}

}  // namespace

absl::Status ValidateIngestOptions(const IngestOptions& options) {
  const v1::DatasetFormat format = options.format;
  if (!v1::DatasetFormat_IsValid(format)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown dataset format ", static_cast<int>(format)));
  }
  if (format == v1::DATASET_FORMAT_MERGED) {
    return absl::InvalidArgumentError(
        "format merged is made by MergeDatasets and cannot be uploaded");
  }
  const bool has_mapping = options.column_mapping.has_value();
  const bool has_list_fields = !options.label.empty() || !options.tags.empty();
  const bool unspecified = format == v1::DATASET_FORMAT_UNSPECIFIED;
  if (has_mapping && !unspecified && format != v1::DATASET_FORMAT_CSV_MAPPING) {
    return absl::InvalidArgumentError(absl::StrCat(
        "UploadMetadata.column_mapping is only for format csv_mapping, but the upload names "
        "format ",
        FormatName(format), "; drop the mapping or set the format to DATASET_FORMAT_CSV_MAPPING"));
  }
  if (format == v1::DATASET_FORMAT_CSV_MAPPING && !has_mapping) {
    return absl::InvalidArgumentError(
        "format csv_mapping needs UploadMetadata.column_mapping: which columns hold the "
        "address, the label and the other fields");
  }
  if (has_list_fields && has_mapping) {
    return absl::InvalidArgumentError(
        "UploadMetadata.label and UploadMetadata.tags are only for format address_list; with a "
        "column mapping give a constant label as column_mapping.label.value and constant tags "
        "as column_mapping.tags.value");
  }
  if (has_list_fields && !unspecified && format != v1::DATASET_FORMAT_ADDRESS_LIST) {
    return absl::InvalidArgumentError(absl::StrCat(
        "UploadMetadata.label and UploadMetadata.tags are only for format address_list, but "
        "the upload names format ",
        FormatName(format), "; the file's own columns give its labels"));
  }
  if (options.max_tag_chars == 0 || options.max_tags == 0 || options.max_field_chars == 0 ||
      options.max_note_chars == 0) {
    return absl::InvalidArgumentError("the record size limits must be positive");
  }
  // The size limits come before the checks that quote the value or compare it with others.
  RETURN_IF_ERROR(CheckConstant(options.label, options.max_field_chars, "max_field_chars",
                                "UploadMetadata.label"));
  if (options.tags.size() > options.max_tags) {
    return absl::InvalidArgumentError(absl::StrCat(
        "UploadMetadata.tags has ", options.tags.size(), " tags, more than the limit of ",
        options.max_tags, " tags per record (the dataset service's --max_tags)"));
  }
  for (size_t i = 0; i < options.tags.size(); ++i) {
    RETURN_IF_ERROR(CheckConstant(options.tags[i], options.max_tag_chars, "max_tag_chars",
                                  absl::StrCat("UploadMetadata.tags[", i, "]")));
  }
  if (has_mapping) RETURN_IF_ERROR(CheckMappingLimits(*options.column_mapping, options));
  if (has_mapping) {
    absl::Status status = ValidateColumnMapping(*options.column_mapping);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("UploadMetadata.", status.message()));
    }
  }
  if (format == v1::DATASET_FORMAT_ADDRESS_LIST || has_list_fields) {
    RETURN_IF_ERROR(AddressListMapping(options.label, options.tags).status());
  }
  return absl::OkStatus();
}

v1::DatasetFormat IngestPipeline::EffectiveFormat(const IngestOptions& options) {
  if (options.format != v1::DATASET_FORMAT_UNSPECIFIED) return options.format;
  if (options.column_mapping.has_value()) return v1::DATASET_FORMAT_CSV_MAPPING;
  if (!options.label.empty() || !options.tags.empty()) return v1::DATASET_FORMAT_ADDRESS_LIST;
  return v1::DATASET_FORMAT_UNSPECIFIED;
}

IngestPipeline::IngestPipeline(IngestOptions options, RecordSink* sink)
    : options_(std::move(options)),
      // Messages and issues name the file escaped and cut short: the name is the client's.
      display_name_(text::Escape(options_.filename.empty() ? options_.name : options_.filename)),
      sink_(sink),
      format_(EffectiveFormat(options_)),
      mode_(ModeFor(format_)),
      reader_(CsvReaderOptions{display_name_, options_.max_row_bytes}, this),
      jsonl_reader_(JsonlReaderOptions{display_name_, options_.max_row_bytes}, this) {
  result_.dataset.set_name(options_.name);
  result_.dataset.set_chain_id(options_.chain_id);
  result_.dataset.set_filename(options_.filename);
  absl::Status valid = ValidateIngestOptions(options_);
  if (!valid.ok()) Reject(std::move(valid)).IgnoreError();
}

absl::Status IngestPipeline::Reject(absl::Status status) {
  FlushLabelCounts();
  FillIssueCounts();
  // One line, of valid UTF-8, whatever part of the file a message quotes.
  std::string message = text::SingleLine(status.message(), kMaxMessageChars);
  if (message != status.message()) status = absl::Status(status.code(), message);
  if (error_.ok()) error_ = status;
  if (status.code() == absl::StatusCode::kInvalidArgument && result_.rejection.empty()) {
    result_.rejection = static_cast<std::string>(status.message());
  }
  return status;
}

bool IngestPipeline::UsesLookahead(size_t chunk_size) const {
  return lookahead_ != nullptr ||
         (mode_ == Mode::kJsonl && jsonl_mapper_ != nullptr && chunk_size >= kParallelHashBytes);
}

absl::Status IngestPipeline::AddChunk(absl::string_view chunk) {
  if (UsesLookahead(chunk.size())) return TakeChunk(std::string(chunk));
  RETURN_IF_ERROR(CheckChunk(chunk.size()));
  absl::Status status;
  if (chunk.size() >= kParallelHashBytes) {
    // Parsing leaves the file hash alone, so it is computed on a second thread at the same
    // time.
    status = HashWhileParsing([this, chunk] { file_sha_.Update(chunk); },
                              [this, chunk] { return Feed(chunk); });
  } else {
    file_sha_.Update(chunk);
    status = Feed(chunk);
  }
  if (!status.ok()) return Reject(status);
  return absl::OkStatus();
}

absl::Status IngestPipeline::TakeChunk(std::string chunk) {
  if (!UsesLookahead(chunk.size())) return AddChunk(chunk);
  if (lookahead_ != nullptr && error_.ok() && !finished_ &&
      chunk.size() > options_.max_bytes - result_.dataset.size_bytes()) {
    // The chunk held back comes first: its own error, if it has one, is the file's.
    absl::Status held = lookahead_->Flush();
    if (!held.ok()) return Reject(held);
  }
  RETURN_IF_ERROR(CheckChunk(chunk.size()));
  if (lookahead_ == nullptr) {
    lookahead_ = std::make_unique<JsonlLookahead>(
        &jsonl_reader_, jsonl_mapper_.get(),
        [this](absl::string_view bytes) { file_sha_.Update(bytes); });
  }
  const size_t size = chunk.size();
  absl::Status status = lookahead_->Add(std::move(chunk));
  if (!status.ok()) {
    // The error is in the chunk before this one, which the file ends at, as without the
    // lookahead.
    result_.dataset.set_size_bytes(result_.dataset.size_bytes() - size);
    return Reject(status);
  }
  return absl::OkStatus();
}

absl::Status IngestPipeline::CheckChunk(size_t size) {
  if (!error_.ok()) return error_;
  if (finished_) return absl::FailedPreconditionError("ingest already finished");
  const uint64_t total = result_.dataset.size_bytes();
  if (size > options_.max_bytes - total) {
    return Reject(absl::ResourceExhaustedError(
        absl::StrCat(display_name_, ": the file is larger than the upload limit of ",
                     options_.max_bytes, " bytes")));
  }
  result_.dataset.set_size_bytes(total + size);
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
  if (status.ok() && lookahead_ != nullptr) status = lookahead_->Flush();
  if (status.ok()) status = mode_ == Mode::kJsonl ? jsonl_reader_.Finish() : reader_.Finish();
  if (!status.ok()) return Reject(status);
  FlushLabelCounts();
  v1::Dataset& dataset = result_.dataset;
  dataset.set_sha256(file_sha_.FinishHex());
  // The identity of the contents is their digest, so the bytes are hashed only once.
  dataset.set_address_count(distinct_addresses_);
  dataset.set_id(absl::StrCat(
      "ds-", eth::Sha256::HexDigest(absl::StrCat(id_header_, dataset.sha256())).substr(0, 16)));
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
  FillIssueCounts();
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

std::string IngestPipeline::IdParameters(v1::DatasetFormat format) const {
  std::string parameters;
  if (format == v1::DATASET_FORMAT_CSV_MAPPING && options_.column_mapping.has_value()) {
    parameters = SerializeMappingForId(*options_.column_mapping);
  } else if (format == v1::DATASET_FORMAT_ADDRESS_LIST) {
    parameters = absl::StrCat("label\n", absl::StripAsciiWhitespace(options_.label), "\ntags");
    for (const std::string& tag : options_.tags) {
      absl::StrAppend(&parameters, "\n", absl::StripAsciiWhitespace(tag));
    }
  }
  if (parameters.empty()) return parameters;
  return absl::StrCat(parameters.size(), "\n", parameters);
}

void IngestPipeline::StartFormat(const FormatChoice& choice) {
  result_.dataset.set_format(choice.format);
  result_.format_detection = choice.explanation;
  id_header_ = absl::StrCat(FormatName(choice.format), "\n", options_.name, "\n", options_.chain_id,
                            "\n", IdParameters(choice.format));
}

absl::Status IngestPipeline::OnHeader(uint64_t line, const std::vector<std::string>& columns) {
  header_ = columns;
  ASSIGN_OR_RETURN(FormatChoice choice, ChooseFormat(format_, columns, display_name_, line));
  if (options_.format == v1::DATASET_FORMAT_UNSPECIFIED &&
      format_ != v1::DATASET_FORMAT_UNSPECIFIED) {
    const absl::string_view implied = format_ == v1::DATASET_FORMAT_CSV_MAPPING
                                          ? "implied by the column mapping in the upload metadata"
                                          : "implied by the label in the upload metadata";
    choice.explanation =
        absl::StrReplaceAll(choice.explanation, {{"given in the upload metadata", implied}});
  }
  const bool address_list = choice.format == v1::DATASET_FORMAT_ADDRESS_LIST;
  if (address_list) header_ = {"address"};
  if (address_list && options_.label.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        display_name_, " line ", line, ": ", choice.explanation,
        ", so the file is a plain address list; pass the report label of every address in the "
        "upload metadata (UploadMetadata.label, one of ",
        absl::StrJoin(ReportLabels(), ", "), ") and optionally tags"));
  }
  FormatParameters parameters;
  if (options_.column_mapping.has_value()) parameters.column_mapping = &*options_.column_mapping;
  parameters.label = options_.label;
  parameters.tags = options_.tags;
  // An address list's mapper reads one column named "address", whether or not the file has
  // that header.
  const std::vector<std::string> list_header = {"address"};
  ASSIGN_OR_RETURN(
      mapper_, RecordMapper::Create(choice.format, address_list ? list_header : columns,
                                    MapperContext{options_.name, options_.chain_id, display_name_},
                                    parameters));
  StartFormat(choice);
  if (address_list && !IsAddressListHeader(columns[0])) {
    // No header: the first line is the first address.
    CsvRow row;
    row.line = line;
    row.fields = columns;
    return OnRow(row);
  }
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
    jsonl_mapper_->SetAddressCaseMemo(this);
    StartFormat(*choice);
  }
  jsonl_mapper_->Map(line, text, has_line_break, &line_result_);
  return AcceptLine();
}

absl::Status IngestPipeline::OnRow(const CsvRow& row) {
  if (!CheckUtf8(row)) {
    v1::Dataset& dataset = result_.dataset;
    dataset.set_line_count(dataset.line_count() + 1);
    dataset.set_invalid_line_count(dataset.invalid_line_count() + 1);
    return absl::OkStatus();
  }
  mapper_->Map(row, &line_result_);
  return AcceptLine();
}

bool IngestPipeline::CheckUtf8(const CsvRow& row) {
  bool valid = true;
  for (size_t i = 0; i < row.fields.size(); ++i) {
    const std::string& field = row.fields[i];
    if (simdjson::validate_utf8(field.data(), field.size())) continue;
    const size_t offset = std::min(FirstInvalidUtf8(field), field.size() - 1);
    AddIssue(MakeIssue(
        display_name_, row.line, i < header_.size() ? header_[i] : absl::StrCat("column ", i + 1),
        issue_kind::kNotUtf8,
        absl::StrFormat("not UTF-8: byte 0x%02X at byte %d of the field does not start a valid "
                        "UTF-8 sequence; save the file as UTF-8",
                        static_cast<unsigned char>(field[offset]), offset + 1),
        v1::ValidationIssue::SEVERITY_ERROR));
    valid = false;
  }
  return valid;
}

absl::Status IngestPipeline::AcceptLine() {
  v1::Dataset& dataset = result_.dataset;
  dataset.set_line_count(dataset.line_count() + 1);
  if (!line_result_.invalid && !CheckLimits()) {
    line_result_.invalid = true;
    line_result_.records.clear();
  }
  for (v1::ValidationIssue& issue : line_result_.issues) AddIssue(std::move(issue));
  if (line_result_.invalid) {
    dataset.set_invalid_line_count(dataset.invalid_line_count() + 1);
    return absl::OkStatus();
  }
  if (line_result_.records.size() > options_.max_records - dataset.record_count()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        display_name_, ": line ", line_result_.records.front().line(), " takes the upload past ",
        options_.max_records, " records, the dataset service's limit (--max_records)"));
  }
  const bool decoded = line_result_.addresses.size() == line_result_.records.size();
  for (size_t i = 0; i < line_result_.records.size(); ++i) {
    const common::v1::AddressRecord& record = line_result_.records[i];
    if (sink_ != nullptr) {
      absl::Status status = sink_->Write(record);
      if (!status.ok()) return status;
    }
    dataset.set_record_count(dataset.record_count() + 1);
    const int severity = common::LabelSeverity(record.label());
    if (severity >= 0) {
      ++label_counts_[severity];
    } else {
      (*dataset.mutable_label_counts())[record.label()] += 1;
    }
    if (decoded) {
      CheckDuplicate(record, severity, line_result_.addresses[i]);
      continue;
    }
    // Mappers only emit valid checksummed addresses, so this parse cannot fail.
    absl::StatusOr<eth::Address> address =
        eth::Address::Parse(record.address(), eth::Address::ChecksumPolicy::kLenient);
    if (address.ok()) CheckDuplicate(record, severity, *address);
  }
  return absl::OkStatus();
}

uint64_t IngestPipeline::UppercaseMask(const eth::Address& address, absl::string_view lower_hex) {
  FirstSeen& seen = addresses_[address];
  if (seen.case_mask_known == 0) {
    seen.case_mask = eth::ChecksumUppercaseMask(lower_hex);
    seen.case_mask_known = 1;
  }
  return seen.case_mask;
}

void IngestPipeline::FlushLabelCounts() {
  for (size_t i = 0; i < std::size(label_counts_); ++i) {
    if (label_counts_[i] == 0) continue;
    (*result_.dataset.mutable_label_counts())[std::string(common::kReportLabels[i])] +=
        std::exchange(label_counts_[i], 0);
  }
}

void IngestPipeline::CheckDuplicate(const common::v1::AddressRecord& record, int severity,
                                    const eth::Address& address) {
  const absl::string_view fields[4] = {record.name(), record.account_type(), record.contract_type(),
                                       record.entity()};
  FirstSeen& first = addresses_[address];
  uint16_t fingerprints[4];
  for (int i = 0; i < 4; ++i) {
    fingerprints[i] = static_cast<uint16_t>(absl::HashOf(fields[i]));
  }
  if (first.line == 0) {
    ++distinct_addresses_;
    first.line = record.line();
    first.label_severity = severity;
    std::copy(std::begin(fingerprints), std::end(fingerprints), std::begin(first.fingerprints));
    return;
  }
  const uint64_t here = record.line();
  if (here == first.line) return;  // Two records of one line (a contract and its deployer).
  const bool label_differs = severity != first.label_severity;
  if (!label_differs && std::equal(std::begin(fingerprints), std::end(fingerprints),
                                   std::begin(first.fingerprints))) {
    return;
  }
  // A warning past the issues kept is counted unseen, so its text is not worth building.
  if (result_.issues.size() >= options_.max_issues) {
    CountIssue(v1::ValidationIssue::SEVERITY_WARNING, issue_kind::kDuplicateConflict);
    return;
  }
  static constexpr absl::string_view kNames[4] = {"name", "account_type", "contract_type",
                                                  "entity"};
  std::vector<std::string> differing;
  std::string field;
  if (label_differs) {
    const absl::string_view before =
        first.label_severity >= 0 ? common::kReportLabels[first.label_severity] : "(none)";
    differing.push_back(absl::StrCat("label (", text::Quote(record.label()), " here, ",
                                     text::Quote(before), " there)"));
    field = "label";
  }
  for (int i = 0; i < 4; ++i) {
    if (fingerprints[i] == first.fingerprints[i]) continue;
    differing.push_back(std::string(kNames[i]));
    if (field.empty()) field = std::string(kNames[i]);
  }
  if (differing.empty()) return;
  AddIssue(MakeIssue(display_name_, here, field, issue_kind::kDuplicateConflict,
                     absl::StrCat("duplicate address ", record.address(), " (first on line ",
                                  first.line, ") with conflicting ", absl::StrJoin(differing, ", "),
                                  "; both records are kept and the conflict policy decides"),
                     v1::ValidationIssue::SEVERITY_WARNING));
}

absl::Status IngestPipeline::OnMalformedRow(uint64_t line, absl::string_view reason) {
  v1::Dataset& dataset = result_.dataset;
  dataset.set_line_count(dataset.line_count() + 1);
  dataset.set_invalid_line_count(dataset.invalid_line_count() + 1);
  AddIssue(MakeIssue(display_name_, line, "", issue_kind::kWrongFieldCount,
                     absl::StrCat("wrong number of fields: ", reason),
                     v1::ValidationIssue::SEVERITY_ERROR));
  return absl::OkStatus();
}

void IngestPipeline::CountIssue(v1::ValidationIssue::Severity severity, absl::string_view kind) {
  auto it = issue_counts_.find(std::make_pair(static_cast<int>(severity), std::string(kind)));
  if (it == issue_counts_.end()) {
    it = issue_counts_.emplace(std::make_pair(static_cast<int>(severity), std::string(kind)), 0)
             .first;
  }
  ++it->second;
}

void IngestPipeline::AddIssue(v1::ValidationIssue issue) {
  const bool error = issue.severity() == v1::ValidationIssue::SEVERITY_ERROR;
  CountIssue(issue.severity(), issue.kind());
  const bool first_error = error && first_error_.empty();
  std::vector<v1::ValidationIssue>& issues = result_.issues;
  // A full list takes an ERROR in place of its latest WARNING, so that warnings early in a
  // file cannot hide the errors that drop lines later on.
  const bool room = issues.size() < options_.max_issues;
  const bool displace = !room && error && kept_warnings_ > 0;
  if (!first_error && !room && !displace) return;  // Counted; its text is not needed.
  // Whatever a mapper quoted, an issue is one capped line of valid UTF-8.
  *issue.mutable_reason() = text::SingleLine(issue.reason(), kMaxReasonChars);
  *issue.mutable_field() = text::SingleLine(issue.field(), kMaxFieldChars);
  if (first_error) first_error_ = DescribeIssue(issue);
  if (!room && !displace) return;
  if (displace) {
    auto last_warning =
        std::find_if(issues.rbegin(), issues.rend(), [](const v1::ValidationIssue& kept) {
          return kept.severity() != v1::ValidationIssue::SEVERITY_ERROR;
        });
    issues.erase(std::next(last_warning).base());
    --kept_warnings_;
  }
  if (!error) ++kept_warnings_;
  issues.push_back(std::move(issue));
}

void IngestPipeline::FillIssueCounts() {
  std::vector<v1::IssueCount> counts;
  counts.reserve(issue_counts_.size());
  for (const auto& [key, count] : issue_counts_) {
    v1::IssueCount& entry = counts.emplace_back();
    entry.set_severity(static_cast<v1::ValidationIssue::Severity>(key.first));
    entry.set_kind(key.second);
    entry.set_count(count);
  }
  std::sort(counts.begin(), counts.end(), [](const v1::IssueCount& a, const v1::IssueCount& b) {
    if (a.severity() != b.severity()) return a.severity() > b.severity();  // ERROR first.
    if (a.count() != b.count()) return a.count() > b.count();
    return a.kind() < b.kind();
  });
  result_.issue_counts = std::move(counts);
}

bool IngestPipeline::CheckLimits() {
  bool within = true;
  const uint64_t line = line_result_.records.empty() ? 0 : line_result_.records.front().line();
  auto over = [&](absl::string_view field, absl::string_view kind, std::string reason) {
    line_result_.issues.push_back(MakeIssue(display_name_, line, field, kind, std::move(reason),
                                            v1::ValidationIssue::SEVERITY_ERROR));
    within = false;
  };
  auto check = [&](absl::string_view field, absl::string_view value, size_t limit,
                   absl::string_view flag) {
    // A value has at most as many characters as bytes: most need no count.
    if (value.size() <= limit) return;
    const size_t chars = CountChars(value);
    if (chars <= limit) return;
    over(field, issue_kind::kFieldTooLong,
         absl::StrCat(field, " ", text::Quote(value), " ", OverLimit(chars, limit, flag),
                      "; the line is skipped"));
  };
  for (const common::v1::AddressRecord& record : line_result_.records) {
    const size_t field_limit = options_.max_field_chars;
    check("name", record.name(), field_limit, "max_field_chars");
    check("account_type", record.account_type(), field_limit, "max_field_chars");
    check("contract_type", record.contract_type(), field_limit, "max_field_chars");
    check("entity", record.entity(), field_limit, "max_field_chars");
    check("label", record.label(), field_limit, "max_field_chars");
    check("original_label", record.original_label(), field_limit, "max_field_chars");
    check("source", record.source(), field_limit, "max_field_chars");
    check("note", record.note(), options_.max_note_chars, "max_note_chars");
    for (const common::v1::Feature& feature : record.features()) {
      check("feature name", feature.name(), field_limit, "max_field_chars");
      if (feature.has_text()) {
        check(absl::StrCat("feature ", text::Escape(feature.name(), 40)), feature.text(),
              field_limit, "max_field_chars");
      }
    }
    if (static_cast<size_t>(record.tags_size()) > options_.max_tags) {
      over("tags", issue_kind::kTooManyTags,
           absl::StrCat(record.tags_size(), " tags, more than the limit of ", options_.max_tags,
                        " tags per record (the dataset service's --max_tags); the line is "
                        "skipped"));
    }
    for (int i = 0; i < record.tags_size(); ++i) {
      const std::string& tag = record.tags(i);
      if (tag.size() <= options_.max_tag_chars) continue;
      const size_t chars = CountChars(tag);
      if (chars <= options_.max_tag_chars) continue;
      over("tags", issue_kind::kTagTooLong,
           absl::StrCat("tag ", i + 1, " ", text::Quote(tag), " ",
                        OverLimit(chars, options_.max_tag_chars, "max_tag_chars"),
                        "; the line is skipped"));
      break;
    }
    if (!within) break;  // One record's problems are enough for the line.
  }
  return within;
}

}  // namespace ethscan::dataset

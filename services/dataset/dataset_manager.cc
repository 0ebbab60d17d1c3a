#include "services/dataset/dataset_manager.h"

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/address.h"
#include "common/eth/hash.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "services/dataset/canonical_csv.h"
#include "services/dataset/chat_format.h"
#include "services/dataset/dataset_format.h"
#include "services/dataset/dataset_merge.h"
#include "services/dataset/dataset_splitter.h"
#include "services/dataset/record_merge.h"
#include "services/dataset/token_estimate.h"

namespace ethscan::dataset {
namespace {

constexpr size_t kMaxNameLength = kMaxDatasetNameLength;
constexpr size_t kMaxFilenameLength = 1024;
constexpr size_t kMaxHolderLength = 256;

// Feeds every chunk of `next_chunk` to `pipeline`, then finishes it.
absl::Status Drain(IngestPipeline& pipeline, const ChunkSource& next_chunk) {
  std::string chunk;
  while (true) {
    chunk.clear();
    ASSIGN_OR_RETURN(bool more, next_chunk(&chunk));
    if (!more) break;
    RETURN_IF_ERROR(pipeline.TakeChunk(std::move(chunk)));
  }
  return pipeline.Finish();
}

// Checks the size and digest an upload's metadata declares before any byte is read:
// INVALID_ARGUMENT for a sha256 that is not 64 hex digits, RESOURCE_EXHAUSTED for a size over
// the limit.
absl::Status CheckDeclaredFile(const v1::UploadMetadata& metadata, uint64_t max_bytes) {
  const std::string& sha = metadata.sha256();
  if (!sha.empty() && (sha.size() != 64 || !std::all_of(sha.begin(), sha.end(), [](char c) {
                         return absl::ascii_isxdigit(static_cast<unsigned char>(c));
                       }))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sha256 ", text::Quote(sha), " is not a SHA-256 digest: give 64 lowercase hex digits"));
  }
  if (metadata.has_size_bytes() && metadata.size_bytes() > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("size_bytes ", metadata.size_bytes(),
                                                     " is over the upload limit of ", max_bytes,
                                                     " bytes"));
  }
  return absl::OkStatus();
}

// `next_chunk`, counting the bytes it yields into `*received` and, when the metadata declares
// size_bytes, failing as soon as they pass it or, at the end of the stream, fall short of it:
// a stream that broke off is not a complete file.
ChunkSource SizeCheckedChunks(const v1::UploadMetadata& metadata, const ChunkSource& next_chunk,
                              uint64_t* received) {
  const std::optional<uint64_t> declared =
      metadata.has_size_bytes() ? std::optional<uint64_t>(metadata.size_bytes()) : std::nullopt;
  return [declared, &next_chunk, received](std::string* chunk) -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(bool more, next_chunk(chunk));
    if (more) {
      *received += chunk->size();
      if (declared.has_value() && *received > *declared) {
        return absl::InvalidArgumentError(absl::StrCat("upload larger than declared: received ",
                                                       *received, " bytes or more, size_bytes ",
                                                       *declared));
      }
      return true;
    }
    if (declared.has_value() && *received != *declared) {
      return absl::InvalidArgumentError(absl::StrCat("upload incomplete: received ", *received,
                                                     " of ", *declared, " bytes (size_bytes)"));
    }
    return false;
  };
}

// Compares the digest of the bytes an upload received (set once the pipeline read them all)
// with the metadata's sha256, when both are known.
absl::Status CheckDeclaredDigest(const v1::UploadMetadata& metadata, const IngestResult& result) {
  const std::string& received = result.dataset.sha256();
  if (metadata.sha256().empty() || received.empty()) return absl::OkStatus();
  const std::string declared = absl::AsciiStrToLower(metadata.sha256());
  if (received == declared) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("upload corrupt: the bytes received have SHA-256 ",
                                                 received, ", sha256 says ", declared));
}

// Reads an upload through `pipeline`: the declared size is checked while streaming, the
// declared digest once all bytes were read (a mismatch outranks a rejection of the file,
// which then describes other bytes than the client's).
absl::Status ReadUpload(const v1::UploadMetadata& metadata, IngestPipeline& pipeline,
                        const ChunkSource& next_chunk) {
  uint64_t received = 0;
  absl::Status status = Drain(pipeline, SizeCheckedChunks(metadata, next_chunk, &received));
  absl::Status digest = CheckDeclaredDigest(metadata, pipeline.result());
  return digest.ok() ? status : digest;
}

// The per-example token limit a request asks for; 0 means kDefaultMaxExampleTokens.
uint64_t ExampleTokenLimit(uint32_t requested) {
  return requested == 0 ? kDefaultMaxExampleTokens : uint64_t{requested};
}

absl::Status NotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("dataset ", text::Quote(id), " not found"));
}

// The refusal of deleting dataset `id` while `holders` reference it: the datasets split or
// merged from it first, then the jobs and models.
absl::Status ReferencedError(absl::string_view id, const std::vector<std::string>& holders) {
  std::vector<std::string> children;
  std::vector<std::string> others;
  for (const std::string& holder : holders) {
    if (IsLineageHolder(holder)) {
      children.push_back(
          text::Quote(absl::string_view(holder).substr(kLineageHolderPrefix.size())));
    } else {
      others.push_back(text::Quote(holder));
    }
  }
  std::string message = absl::StrCat("dataset ", text::Quote(id));
  if (!children.empty()) {
    absl::StrAppend(&message, " is the parent of dataset", children.size() > 1 ? "s " : " ",
                    absl::StrJoin(children, ", "), " (split or merged from it)",
                    others.empty() ? "" : " and");
  }
  if (!others.empty()) {
    absl::StrAppend(&message, " is still referenced by ", absl::StrJoin(others, ", "));
  }
  if (!children.empty()) absl::StrAppend(&message, "; delete those datasets first");
  if (!others.empty()) {
    absl::StrAppend(&message,
                    "; delete or finish those jobs and models first (the training service "
                    "drops a model's references when the model is deleted)");
  }
  return absl::FailedPreconditionError(message);
}

// A stored record that the logic cannot use means the dataset is damaged.
absl::Status BadRecord(absl::string_view id, const absl::Status& status) {
  return absl::DataLossError(
      absl::StrCat("dataset ", text::Quote(id), " holds a bad record: ", status.message()));
}

// One side of a split while its records are written.
struct SplitOutput {
  std::string id;
  std::unique_ptr<RecordWriter> writer;
  v1::Dataset dataset;
  // Source lines the side's records come from.
  absl::flat_hash_set<uint64_t> lines;
  // Digest and size of the side's records as stored (length-delimited messages).
  eth::Sha256 sha;
  uint64_t bytes = 0;

  absl::Status Write(const common::v1::AddressRecord& record) {
    std::string delimited;
    {
      google::protobuf::io::StringOutputStream out(&delimited);
      if (!google::protobuf::util::SerializeDelimitedToZeroCopyStream(record, &out)) {
        return absl::InternalError("cannot serialize a record");
      }
    }
    sha.Update(delimited);
    bytes += delimited.size();
    lines.insert(record.line());
    dataset.set_record_count(dataset.record_count() + 1);
    (*dataset.mutable_label_counts())[record.label()] += 1;
    return writer->Write(record);
  }
};

}  // namespace

absl::Status ValidateDatasetName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength;
  for (char c : name) {
    ok = ok &&
         (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid dataset name ", text::Quote(name),
                     ": use 1 to 128 characters of letters, digits, '.', '_' and '-'"));
  }
  return absl::OkStatus();
}

std::string DerivedDatasetName(absl::string_view base, absl::string_view suffix) {
  const size_t room = suffix.size() >= kMaxNameLength ? 0 : kMaxNameLength - suffix.size();
  return absl::StrCat(base.substr(0, room), suffix);
}

absl::StatusOr<std::unique_ptr<DatasetManager>> DatasetManager::Create(
    DatasetManagerOptions options, std::unique_ptr<DatasetIndex> index,
    std::unique_ptr<RecordStore> store, const common::Clock* clock) {
  if (index == nullptr || store == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("dataset manager needs an index, a store and a clock");
  }
  if (options.max_upload_bytes == 0) {
    return absl::InvalidArgumentError("max upload size must be positive");
  }
  if (!(options.default_max_invalid_fraction > 0 && options.default_max_invalid_fraction <= 1)) {
    return absl::InvalidArgumentError("default max invalid fraction must be in (0, 1]");
  }
  if (options.default_batch_size <= 0 || options.max_batch_size < options.default_batch_size ||
      options.default_page_size <= 0 || options.max_page_size < options.default_page_size) {
    return absl::InvalidArgumentError("batch and page sizes must be positive, max >= default");
  }
  if (options.export_chunk_bytes == 0) {
    return absl::InvalidArgumentError("export chunk size must be positive");
  }
  return std::unique_ptr<DatasetManager>(
      new DatasetManager(options, std::move(index), std::move(store), clock));
}

absl::StatusOr<IngestOptions> DatasetManager::MakeIngestOptions(
    const v1::UploadMetadata& metadata) const {
  RETURN_IF_ERROR(ValidateDatasetName(metadata.name()));
  if (!v1::DatasetFormat_IsValid(metadata.format())) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown dataset format ", static_cast<int>(metadata.format())));
  }
  const double fraction = metadata.max_invalid_fraction();
  if (std::isnan(fraction) || fraction > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_invalid_fraction ", fraction, " is not a share between 0 and 1"));
  }
  if (metadata.filename().size() > kMaxFilenameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("filename is longer than ", kMaxFilenameLength, " characters"));
  }
  IngestOptions ingest;
  ingest.name = metadata.name();
  ingest.format = metadata.format();
  ingest.chain_id = metadata.chain_id() == 0 ? 1 : metadata.chain_id();
  ingest.filename = metadata.filename();
  ingest.max_invalid_fraction = fraction > 0 ? fraction : options_.default_max_invalid_fraction;
  ingest.max_bytes = options_.max_upload_bytes;
  ingest.max_issues = options_.max_issues;
  ingest.max_row_bytes = options_.max_row_bytes;
  ingest.max_records = options_.max_records;
  ingest.max_tag_chars = options_.max_tag_chars;
  ingest.max_tags = options_.max_tags;
  ingest.max_field_chars = options_.max_field_chars;
  ingest.max_note_chars = options_.max_note_chars;
  if (metadata.has_column_mapping()) ingest.column_mapping = metadata.column_mapping();
  ingest.label = metadata.label();
  ingest.tags.assign(metadata.tags().begin(), metadata.tags().end());
  RETURN_IF_ERROR(ValidateIngestOptions(ingest));
  return ingest;
}

absl::StatusOr<v1::UploadDatasetResponse> DatasetManager::Upload(const v1::UploadMetadata& metadata,
                                                                 const ChunkSource& next_chunk,
                                                                 const CommitCheck& before_commit) {
  ASSIGN_OR_RETURN(IngestOptions ingest, MakeIngestOptions(metadata));
  RETURN_IF_ERROR(CheckDeclaredFile(metadata, options_.max_upload_bytes));
  ASSIGN_OR_RETURN(std::unique_ptr<RecordWriter> writer, store_->NewWriter());
  IngestPipeline pipeline(std::move(ingest), writer.get());
  absl::Status status = ReadUpload(metadata, pipeline, next_chunk);
  if (!status.ok()) {
    writer->Abort();
    log::Info("upload of ", text::Quote(metadata.name()), " failed: ", status.ToString());
    return status;
  }
  const IngestResult& result = pipeline.result();
  v1::UploadDatasetResponse response;
  response.set_format_detection(result.format_detection);
  for (const v1::ValidationIssue& issue : result.issues) *response.add_issues() = issue;
  for (const v1::IssueCount& count : result.issue_counts) *response.add_issue_counts() = count;

  const std::string& id = result.dataset.id();
  absl::StatusOr<std::optional<v1::Dataset>> existing = index_->Get(id);
  if (!existing.ok()) {
    writer->Abort();
    return existing.status();
  }
  if (existing->has_value()) {
    writer->Abort();
    *response.mutable_dataset() = **existing;
    response.set_already_existed(true);
    log::Info("upload of ", text::Quote(metadata.name()), " matches dataset ", text::Quote(id),
              "; nothing stored");
    return response;
  }
  v1::Dataset dataset = result.dataset;
  *dataset.mutable_create_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(clock_->Now()));
  bool already_listed = false;
  absl::StatusOr<v1::Dataset> committed =
      CommitAndList(*writer, dataset, &already_listed, before_commit);
  if (!committed.ok()) {
    log::Info("upload of ", text::Quote(metadata.name()),
              " not stored: ", committed.status().ToString());
    return committed.status();
  }
  dataset = *std::move(committed);
  if (already_listed) {
    *response.mutable_dataset() = std::move(dataset);
    response.set_already_existed(true);
    log::Info("upload of ", text::Quote(metadata.name()), " matches dataset ", text::Quote(id),
              "; nothing stored");
    return response;
  }
  log::Info("stored dataset ", text::Quote(id), " ", text::Quote(dataset.name()), " (",
            FormatName(dataset.format()), "): ", dataset.line_count(), " lines, ",
            dataset.record_count(), " records, ", dataset.invalid_line_count(), " invalid lines");
  *response.mutable_dataset() = std::move(dataset);
  return response;
}

absl::StatusOr<v1::ValidateDatasetResponse> DatasetManager::Validate(
    const v1::UploadMetadata& metadata, const ChunkSource& next_chunk) {
  ASSIGN_OR_RETURN(IngestOptions ingest, MakeIngestOptions(metadata));
  RETURN_IF_ERROR(CheckDeclaredFile(metadata, options_.max_upload_bytes));
  IngestPipeline pipeline(std::move(ingest), /*sink=*/nullptr);
  absl::Status status = ReadUpload(metadata, pipeline, next_chunk);
  const IngestResult& result = pipeline.result();
  // A size or digest mismatch is an error, not a rejection: the file was not seen whole.
  if (!status.ok() && (result.rejection.empty() || !CheckDeclaredDigest(metadata, result).ok())) {
    return status;
  }
  v1::ValidateDatasetResponse response;
  response.set_valid(result.rejection.empty());
  *response.mutable_dataset() = result.dataset;
  response.set_format_detection(result.format_detection);
  for (const v1::ValidationIssue& issue : result.issues) *response.add_issues() = issue;
  for (const v1::IssueCount& count : result.issue_counts) *response.add_issue_counts() = count;
  response.set_rejection(result.rejection);
  return response;
}

absl::StatusOr<v1::Dataset> DatasetManager::GetDataset(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("dataset id is required");
  ASSIGN_OR_RETURN(std::optional<v1::Dataset> dataset, index_->Get(id));
  if (!dataset.has_value()) return NotFound(id);
  return *std::move(dataset);
}

absl::StatusOr<v1::ListDatasetsResponse> DatasetManager::ListDatasets(
    const v1::ListDatasetsRequest& request) {
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size ", request.page_size(), " is negative"));
  }
  ListQuery query;
  query.name = request.name();
  query.limit = request.page_size() == 0 ? options_.default_page_size
                                         : std::min(request.page_size(), options_.max_page_size);
  if (!request.page_token().empty() && !absl::SimpleAtoi(request.page_token(), &query.offset)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid page token ", text::Quote(request.page_token())));
  }
  ASSIGN_OR_RETURN(ListPage page, index_->List(query));
  v1::ListDatasetsResponse response;
  for (v1::Dataset& dataset : page.datasets) *response.add_datasets() = std::move(dataset);
  if (page.has_more) response.set_next_page_token(absl::StrCat(query.offset + query.limit));
  return response;
}

absl::StatusOr<std::unique_ptr<RecordReader>> DatasetManager::OpenRecords(absl::string_view id) {
  ASSIGN_OR_RETURN(v1::Dataset dataset, GetDataset(id));
  absl::StatusOr<std::unique_ptr<RecordReader>> reader = store_->Open(dataset.id());
  if (reader.status().code() == absl::StatusCode::kNotFound) {
    return absl::DataLossError(
        absl::StrCat("dataset \"", id, "\" is listed but its records are missing"));
  }
  return reader;
}

absl::StatusOr<std::vector<common::v1::AddressRecord>> DatasetManager::ChatExampleRecords(
    absl::string_view id,
    const std::function<absl::Status(const common::v1::AddressRecord&)>& each) {
  ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader, OpenRecords(id));
  RecordMerger merger;
  common::v1::AddressRecord record;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) break;
    if (each) RETURN_IF_ERROR(each(record));
    absl::Status added = merger.Add(record);
    if (!added.ok()) return BadRecord(id, added);
  }
  return merger.TakeRecords();
}

absl::StatusOr<v1::GetDatasetStatsResponse> DatasetManager::GetDatasetStats(
    const v1::GetDatasetStatsRequest& request) {
  const std::string& id = request.id();
  const double price = request.price_per_million_tokens();
  if (!std::isfinite(price) || price < 0) {
    return absl::InvalidArgumentError(absl::StrCat("price_per_million_tokens ", price,
                                                   " must be 0 (no cost estimate) or positive"));
  }
  struct AddressSeen {
    uint64_t records = 0;
    std::string label;
    bool conflicting = false;
    // The first source seen, and whether another one followed.
    std::optional<std::string> source;
    bool multi_source = false;
  };
  absl::flat_hash_map<eth::Address, AddressSeen> seen;
  absl::flat_hash_map<std::string, size_t> feature_index;
  v1::GetDatasetStatsResponse response;
  response.set_id(id);
  auto& source_counts = *response.mutable_source_counts();
  std::vector<std::string> sources;
  auto count = [&](const common::v1::AddressRecord& record) -> absl::Status {
    response.set_record_count(response.record_count() + 1);
    (*response.mutable_label_counts())[record.label()] += 1;
    (*response.mutable_account_type_counts())[record.account_type()] += 1;
    absl::StatusOr<eth::Address> address =
        eth::Address::Parse(record.address(), eth::Address::ChecksumPolicy::kLenient);
    if (!address.ok()) {
      return absl::DataLossError(
          absl::StrCat("dataset \"", id, "\" holds a record with ", address.status().message()));
    }
    AddressSeen& entry = seen[*address];
    if (entry.records == 0) {
      entry.label = record.label();
    } else if (entry.label != record.label()) {
      entry.conflicting = true;
    }
    ++entry.records;
    sources.clear();
    for (const common::v1::Evidence& evidence : record.evidence()) {
      if (std::find(sources.begin(), sources.end(), evidence.source()) == sources.end()) {
        sources.push_back(evidence.source());
      }
    }
    if (sources.empty()) sources.push_back(record.source());
    for (const std::string& source : sources) {
      source_counts[source] += 1;
      if (!entry.source.has_value()) {
        entry.source = source;
      } else if (source != *entry.source) {
        entry.multi_source = true;
      }
    }
    for (const common::v1::Feature& feature : record.features()) {
      auto [it, inserted] = feature_index.try_emplace(
          feature.name(), static_cast<size_t>(response.feature_coverage_size()));
      if (inserted) response.add_feature_coverage()->set_name(feature.name());
      v1::FeatureCoverage& coverage =
          *response.mutable_feature_coverage(static_cast<int>(it->second));
      coverage.set_record_count(coverage.record_count() + 1);
    }
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(std::vector<common::v1::AddressRecord> examples, ChatExampleRecords(id, count));

  response.set_address_count(seen.size());
  for (const auto& [address, entry] : seen) {
    if (entry.records > 1) {
      response.set_duplicate_address_count(response.duplicate_address_count() + 1);
    }
    if (entry.conflicting) {
      response.set_conflicting_address_count(response.conflicting_address_count() + 1);
    }
    if (entry.multi_source) {
      response.set_multi_source_address_count(response.multi_source_address_count() + 1);
    }
  }
  for (v1::FeatureCoverage& coverage : *response.mutable_feature_coverage()) {
    coverage.set_share(static_cast<double>(coverage.record_count()) /
                       static_cast<double>(response.record_count()));
  }

  v1::ChatExportStats& chat = *response.mutable_chat_export();
  const uint64_t limit = ExampleTokenLimit(request.max_example_tokens());
  chat.set_example_count(examples.size());
  chat.set_example_token_limit(limit);
  uint64_t total = 0;
  for (const common::v1::AddressRecord& example : examples) {
    const uint64_t tokens = ChatExampleTokens(BuildChatExample(example));
    total += tokens;
    if (chat.min_example_tokens() == 0 || tokens < chat.min_example_tokens()) {
      chat.set_min_example_tokens(tokens);
    }
    chat.set_max_example_tokens(std::max<uint64_t>(chat.max_example_tokens(), tokens));
    if (tokens > limit) chat.set_examples_over_limit(chat.examples_over_limit() + 1);
  }
  chat.set_total_tokens(total);
  chat.set_mean_example_tokens(
      examples.empty() ? 0.0 : static_cast<double>(total) / static_cast<double>(examples.size()));
  chat.set_price_per_million_tokens(price);
  chat.set_estimated_cost_per_epoch(static_cast<double>(total) / 1e6 * price);
  chat.set_token_counting(kTokenCountingMethod);
  return response;
}

absl::Status DatasetManager::ReadRecords(
    absl::string_view id, int32_t batch_size,
    const std::function<absl::Status(const v1::ReadRecordsResponse&)>& emit) {
  if (batch_size < 0 || batch_size > options_.max_batch_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size ", batch_size, " is not within 0..", options_.max_batch_size));
  }
  const int size = batch_size == 0 ? options_.default_batch_size : batch_size;
  ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader, OpenRecords(id));
  v1::ReadRecordsResponse batch;
  while (true) {
    common::v1::AddressRecord* record = batch.add_records();
    ASSIGN_OR_RETURN(bool more, reader->Next(record));
    if (!more) {
      batch.mutable_records()->RemoveLast();
      break;
    }
    if (batch.records_size() == size) {
      RETURN_IF_ERROR(emit(batch));
      batch.Clear();
    }
  }
  if (batch.records_size() > 0) RETURN_IF_ERROR(emit(batch));
  return absl::OkStatus();
}

absl::StatusOr<v1::SplitDatasetResponse> DatasetManager::Split(
    const v1::SplitDatasetRequest& request) {
  if (request.id().empty()) return absl::InvalidArgumentError("dataset id is required");
  const SplitSpec spec = SplitSpecFromRequest(request);
  RETURN_IF_ERROR(ValidateSplitSpec(spec));
  ASSIGN_OR_RETURN(v1::Dataset parent, GetDataset(request.id()));
  const std::string& parent_id = parent.id();

  std::vector<SplitSide> sides;
  std::array<std::optional<v1::Dataset>, kSplitSides> existing;
  bool all_exist = true;
  for (int i = 0; i < kSplitSides; ++i) {
    if (spec.fractions[i] == 0) continue;
    const SplitSide side = static_cast<SplitSide>(i);
    sides.push_back(side);
    ASSIGN_OR_RETURN(existing[i], index_->Get(SplitDatasetId(parent_id, side, spec)));
    all_exist = all_exist && existing[i].has_value();
  }
  v1::SplitDatasetResponse response;
  auto set_side = [&response](SplitSide side, v1::Dataset dataset) {
    switch (side) {
      case SplitSide::kTrain:
        *response.mutable_train() = std::move(dataset);
        break;
      case SplitSide::kValidation:
        *response.mutable_validation() = std::move(dataset);
        break;
      case SplitSide::kTest:
        *response.mutable_test() = std::move(dataset);
        break;
    }
  };
  if (all_exist) {
    for (SplitSide side : sides) set_side(side, *existing[static_cast<int>(side)]);
    response.set_already_existed(true);
    log::Info("split of ", parent_id, " exists already; nothing stored");
    return response;
  }

  // Pass 1: every address and its labels.
  SplitPlanner planner;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader, OpenRecords(parent_id));
    common::v1::AddressRecord record;
    while (true) {
      ASSIGN_OR_RETURN(bool more, reader->Next(&record));
      if (!more) break;
      absl::Status added = planner.Add(record.address(), record.label());
      if (!added.ok()) return BadRecord(parent_id, added);
    }
  }
  ASSIGN_OR_RETURN(SplitSummary summary, planner.Assign(spec));
  for (SplitSide side : sides) {
    const int i = static_cast<int>(side);
    if (summary.groups[i] == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("dataset \"", parent_id, "\" has ", planner.group_count(),
                       " distinct addresses; the ", SplitSideName(side), " side (",
                       SplitSideName(side), "_fraction ", spec.fractions[i], ") would get none"));
    }
  }

  // Pass 2: each record to its side, in file order. Writers that are not committed remove
  // their files when destroyed.
  std::array<std::unique_ptr<SplitOutput>, kSplitSides> outputs;
  for (SplitSide side : sides) {
    const int i = static_cast<int>(side);
    auto output = std::make_unique<SplitOutput>();
    output->id = SplitDatasetId(parent_id, side, spec);
    ASSIGN_OR_RETURN(output->writer, store_->NewWriter());
    v1::Dataset& dataset = output->dataset;
    dataset.set_id(output->id);
    dataset.set_name(DerivedDatasetName(parent.name(), absl::StrCat("-", SplitSideName(side))));
    dataset.set_format(parent.format());
    dataset.set_chain_id(parent.chain_id());
    dataset.set_filename(parent.filename());
    dataset.set_address_count(summary.groups[i]);
    v1::SplitOrigin& origin = *dataset.mutable_split_origin();
    origin.set_parent_id(parent_id);
    origin.set_part(SplitSidePart(side));
    origin.set_train_fraction(spec.fractions[0]);
    origin.set_validation_fraction(spec.fractions[1]);
    origin.set_test_fraction(spec.fractions[2]);
    origin.set_seed(spec.seed);
    outputs[i] = std::move(output);
  }
  {
    ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader, OpenRecords(parent_id));
    common::v1::AddressRecord record;
    while (true) {
      ASSIGN_OR_RETURN(bool more, reader->Next(&record));
      if (!more) break;
      absl::StatusOr<SplitSide> side = planner.SideOf(record.address());
      if (!side.ok()) return BadRecord(parent_id, side.status());
      SplitOutput* output = outputs[static_cast<int>(*side)].get();
      if (output == nullptr) {
        return absl::InternalError(
            absl::StrCat("split of ", parent_id, " assigned an address to the ",
                         SplitSideName(*side), " side, whose fraction is 0"));
      }
      RETURN_IF_ERROR(output->Write(record));
    }
  }

  // Commit each side, then list it; a side that was listed already keeps its metadata.
  const google::protobuf::Timestamp now =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(clock_->Now()));
  for (SplitSide side : sides) {
    const int i = static_cast<int>(side);
    SplitOutput& output = *outputs[i];
    if (existing[i].has_value()) {
      output.writer->Abort();
      set_side(side, *existing[i]);
      continue;
    }
    v1::Dataset& dataset = output.dataset;
    dataset.set_sha256(output.sha.FinishHex());
    dataset.set_size_bytes(output.bytes);
    dataset.set_line_count(output.lines.size());
    *dataset.mutable_create_time() = now;
    ASSIGN_OR_RETURN(dataset, CommitAndList(*output.writer, dataset, /*already_listed=*/nullptr));
    log::Info("stored split dataset ", output.id, " \"", dataset.name(), "\" of ", parent_id, ": ",
              dataset.record_count(), " records, ", dataset.address_count(), " addresses");
    set_side(side, std::move(dataset));
  }
  return response;
}

absl::Status DatasetManager::Export(
    absl::string_view id,
    const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit) {
  v1::ExportDatasetRequest request;
  request.set_id(static_cast<std::string>(id));
  return Export(request, emit);
}

absl::Status DatasetManager::Export(
    const v1::ExportDatasetRequest& request,
    const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit) {
  switch (request.format()) {
    case v1::EXPORT_FORMAT_UNSPECIFIED:
    case v1::EXPORT_FORMAT_CHAT_JSONL:
      return ExportChat(request.id(), request.max_example_tokens(), emit);
    case v1::EXPORT_FORMAT_CSV:
      return ExportCsv(request.id(), emit);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown export format ", static_cast<int>(request.format())));
  }
}

absl::Status DatasetManager::ExportChat(
    absl::string_view id, uint32_t max_example_tokens,
    const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit) {
  ASSIGN_OR_RETURN(std::vector<common::v1::AddressRecord> examples,
                   ChatExampleRecords(id, nullptr));
  if (examples.size() < kMinChatExamples) {
    return absl::FailedPreconditionError(absl::StrCat("dataset \"", id, "\" has ", examples.size(),
                                                      " distinct addresses; an OpenAI chat "
                                                      "fine-tuning file needs at least ",
                                                      kMinChatExamples,
                                                      " examples, one per address"));
  }
  // Every example is checked before the first byte is sent.
  const uint64_t limit = ExampleTokenLimit(max_example_tokens);
  uint64_t over = 0;
  std::string first_over;
  std::vector<std::vector<ChatMessage>> built;
  built.reserve(examples.size());
  for (const common::v1::AddressRecord& example : examples) {
    built.push_back(BuildChatExample(example));
    const uint64_t tokens = ChatExampleTokens(built.back());
    if (tokens <= limit) continue;
    if (over++ == 0) {
      first_over = absl::StrCat("the example of ", example.address(), " has ", tokens, " tokens");
    }
  }
  if (over > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "dataset \"", id, "\": ", first_over, " (estimated), over the per-example limit of ", limit,
        over > 1 ? absl::StrCat("; ", over - 1, " more examples are over it too") : "",
        "; shorten the records or raise max_example_tokens"));
  }
  v1::ExportDatasetResponse chunk;
  std::string& buffer = *chunk.mutable_chunk();
  for (const std::vector<ChatMessage>& messages : built) {
    buffer.append(ChatExampleLine(messages));
    if (buffer.size() >= options_.export_chunk_bytes) {
      RETURN_IF_ERROR(emit(chunk));
      buffer.clear();
    }
  }
  if (!buffer.empty()) RETURN_IF_ERROR(emit(chunk));
  return absl::OkStatus();
}

absl::Status DatasetManager::ExportCsv(
    absl::string_view id,
    const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit) {
  CanonicalCsvWriter csv;
  common::v1::AddressRecord record;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader, OpenRecords(id));
    while (true) {
      ASSIGN_OR_RETURN(bool more, reader->Next(&record));
      if (!more) break;
      csv.AddFeatureNames(record);
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader, OpenRecords(id));
  v1::ExportDatasetResponse chunk;
  std::string& buffer = *chunk.mutable_chunk();
  buffer = csv.Header();
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) break;
    buffer.append(csv.Row(record));
    if (buffer.size() >= options_.export_chunk_bytes) {
      RETURN_IF_ERROR(emit(chunk));
      buffer.clear();
    }
  }
  if (!buffer.empty()) RETURN_IF_ERROR(emit(chunk));
  return absl::OkStatus();
}

absl::StatusOr<v1::Dataset> DatasetManager::CommitAndList(RecordWriter& writer,
                                                          const v1::Dataset& dataset,
                                                          bool* already_listed,
                                                          const CommitCheck& before_commit) {
  absl::MutexLock lock(&commit_mu_);
  absl::StatusOr<std::optional<v1::Dataset>> listed = index_->Get(dataset.id());
  if (!listed.ok()) {
    writer.Abort();
    return listed.status();
  }
  if (listed->has_value()) {
    writer.Abort();
    if (already_listed != nullptr) *already_listed = true;
    return **listed;
  }
  if (before_commit) {
    absl::Status allowed = before_commit();
    if (!allowed.ok()) {
      writer.Abort();
      return allowed;
    }
  }
  ASSIGN_OR_RETURN(bool records_existed, writer.Commit(dataset.id()));
  absl::Status status = index_->Put(dataset);
  if (!status.ok()) {
    if (!records_existed) {
      absl::Status removed = store_->Remove(dataset.id());
      if (!removed.ok()) {
        log::Warning("cannot remove records of ", text::Quote(dataset.id()), ": ",
                     removed.ToString());
      }
    }
    return status;
  }
  return dataset;
}

absl::StatusOr<v1::MergeDatasetsResponse> DatasetManager::Merge(
    const v1::MergeDatasetsRequest& request) {
  if (request.ids_size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("a merge needs at least two dataset ids, got ", request.ids_size()));
  }
  std::vector<std::string> ids;
  for (int i = 0; i < request.ids_size(); ++i) {
    const std::string& id = request.ids(i);
    if (id.empty()) return absl::InvalidArgumentError(absl::StrCat("ids[", i, "] is empty"));
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dataset ", text::Quote(id), " is given twice (ids[", i, "])"));
    }
    ids.push_back(id);
  }
  RETURN_IF_ERROR(ValidateDatasetName(request.name()));
  const std::string id = MergedDatasetId(ids, request.name());
  ASSIGN_OR_RETURN(std::optional<v1::Dataset> existing, index_->Get(id));

  std::vector<v1::Dataset> parents;
  for (const std::string& parent_id : ids) {
    absl::StatusOr<v1::Dataset> parent = GetDataset(parent_id);
    if (absl::IsNotFound(parent.status()) && existing.has_value()) {
      // The merge was made before; its parents need not outlive it.
      v1::MergeDatasetsResponse response;
      response.set_already_existed(true);
      response.set_conflict_count(existing->merge_origin().conflict_count());
      *response.mutable_dataset() = *std::move(existing);
      log::Info("merge ", id, " exists already (parent ", parent_id, " is gone); nothing stored");
      return response;
    }
    if (!parent.ok()) return parent.status();
    if (!parents.empty() && parent->chain_id() != parents.front().chain_id()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dataset \"", parent_id, "\" is on chain ", parent->chain_id(),
                       " and dataset \"", parents.front().id(), "\" on chain ",
                       parents.front().chain_id(), "; merge datasets of one chain"));
    }
    parents.push_back(*std::move(parent));
  }

  DatasetMerger merger(parents);
  for (size_t i = 0; i < parents.size(); ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader, OpenRecords(parents[i].id()));
    common::v1::AddressRecord record;
    while (true) {
      ASSIGN_OR_RETURN(bool more, reader->Next(&record));
      if (!more) break;
      absl::Status added = merger.Add(i, record);
      if (!added.ok()) return BadRecord(parents[i].id(), added);
    }
  }

  v1::MergeDatasetsResponse response;
  std::unique_ptr<SplitOutput> output;
  if (!existing.has_value()) {
    output = std::make_unique<SplitOutput>();
    output->id = id;
    ASSIGN_OR_RETURN(output->writer, store_->NewWriter());
  }
  uint64_t line = 0;
  uint64_t conflicts = 0;
  RETURN_IF_ERROR(merger.Resolve([&](common::v1::AddressRecord merged,
                                     std::vector<v1::MergeConflict> resolved) -> absl::Status {
    merged.set_line(++line);
    for (v1::MergeConflict& conflict : resolved) {
      ++conflicts;
      if (static_cast<size_t>(response.conflicts_size()) < options_.max_merge_conflicts) {
        *response.add_conflicts() = std::move(conflict);
      }
    }
    return output == nullptr ? absl::OkStatus() : output->Write(merged);
  }));
  response.set_conflict_count(conflicts);
  if (existing.has_value()) {
    *response.mutable_dataset() = *std::move(existing);
    response.set_already_existed(true);
    log::Info("merge ", id, " exists already; nothing stored");
    return response;
  }

  v1::Dataset& dataset = output->dataset;
  dataset.set_id(id);
  dataset.set_name(request.name());
  dataset.set_format(v1::DATASET_FORMAT_MERGED);
  dataset.set_chain_id(parents.front().chain_id());
  dataset.set_sha256(output->sha.FinishHex());
  dataset.set_size_bytes(output->bytes);
  dataset.set_line_count(dataset.record_count());
  dataset.set_address_count(dataset.record_count());
  *dataset.mutable_create_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(clock_->Now()));
  v1::MergeOrigin& origin = *dataset.mutable_merge_origin();
  for (const std::string& parent_id : ids) origin.add_parent_ids(parent_id);
  origin.set_conflict_count(conflicts);
  bool already_listed = false;
  ASSIGN_OR_RETURN(*response.mutable_dataset(),
                   CommitAndList(*output->writer, dataset, &already_listed));
  response.set_already_existed(already_listed);
  log::Info("stored merged dataset ", id, " \"", request.name(), "\" of ", absl::StrJoin(ids, ", "),
            ": ", merger.record_count(), " records, ", dataset.record_count(), " addresses, ",
            conflicts, " conflicts resolved");
  return response;
}

absl::Status DatasetManager::Delete(absl::string_view id) {
  ASSIGN_OR_RETURN(v1::Dataset dataset, GetDataset(id));
  absl::MutexLock lock(&commit_mu_);
  ASSIGN_OR_RETURN(DeleteOutcome outcome, index_->Delete(dataset));
  switch (outcome.result) {
    case DeleteOutcome::Result::kNotFound:
      return NotFound(id);
    case DeleteOutcome::Result::kReferenced:
      return ReferencedError(id, outcome.holders);
    case DeleteOutcome::Result::kDeleted:
      break;
  }
  absl::Status removed = store_->Remove(dataset.id());
  if (!removed.ok()) {
    // The dataset is unlisted, so it is gone for every caller; the files are garbage that a
    // re-upload of the same content reuses.
    log::Warning("dataset ", text::Quote(id),
                 " deleted, but its records remain: ", removed.ToString());
  }
  log::Info("deleted dataset ", text::Quote(id), " ", text::Quote(dataset.name()));
  return absl::OkStatus();
}

absl::StatusOr<v1::Dataset> DatasetManager::ChangeReference(absl::string_view id,
                                                            absl::string_view holder, bool add) {
  if (id.empty()) return absl::InvalidArgumentError("dataset id is required");
  if (holder.empty()) return absl::InvalidArgumentError("holder is required");
  if (holder.size() > kMaxHolderLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("holder is ", holder.size(), " characters; at most ", kMaxHolderLength));
  }
  for (char c : holder) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("holder ", text::Quote(holder), " holds a control character"));
    }
  }
  if (IsLineageHolder(holder)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "holder ", text::Quote(holder), " is reserved: \"", kLineageHolderPrefix,
        "\" references are kept by the dataset service for datasets split or merged from "
        "another, and dropped only by deleting that dataset"));
  }
  absl::StatusOr<std::optional<v1::Dataset>> dataset =
      add ? index_->AddReference(id, holder) : index_->RemoveReference(id, holder);
  if (!dataset.ok()) return dataset.status();
  if (!dataset->has_value()) return NotFound(id);
  return **std::move(dataset);
}

absl::StatusOr<v1::Dataset> DatasetManager::AddReference(absl::string_view id,
                                                         absl::string_view holder) {
  return ChangeReference(id, holder, /*add=*/true);
}

absl::StatusOr<v1::Dataset> DatasetManager::RemoveReference(absl::string_view id,
                                                            absl::string_view holder) {
  return ChangeReference(id, holder, /*add=*/false);
}

}  // namespace ethscan::dataset

#include "services/dataset/dataset_manager.h"

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <google/protobuf/util/time_util.h>

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
#include "common/eth/address.h"
#include "common/eth/hash.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/dataset/chat_format.h"
#include "services/dataset/dataset_format.h"
#include "services/dataset/dataset_splitter.h"
#include "services/dataset/record_merge.h"

namespace ethscan::dataset {
namespace {

constexpr size_t kMaxNameLength = 128;
constexpr size_t kMaxFilenameLength = 1024;

// Feeds every chunk of `next_chunk` to `pipeline`, then finishes it.
absl::Status Drain(IngestPipeline& pipeline, const ChunkSource& next_chunk) {
  std::string chunk;
  while (true) {
    chunk.clear();
    ASSIGN_OR_RETURN(bool more, next_chunk(&chunk));
    if (!more) break;
    RETURN_IF_ERROR(pipeline.AddChunk(chunk));
  }
  return pipeline.Finish();
}

absl::Status NotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("dataset \"", id, "\" not found"));
}

// A stored record that the logic cannot use means the dataset is damaged.
absl::Status BadRecord(absl::string_view id, const absl::Status& status) {
  return absl::DataLossError(
      absl::StrCat("dataset \"", id, "\" holds a bad record: ", status.message()));
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
        absl::StrCat("invalid dataset name \"", name,
                     "\": use 1 to 128 characters of letters, digits, '.', '_' and '-'"));
  }
  return absl::OkStatus();
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
  return ingest;
}

absl::StatusOr<v1::UploadDatasetResponse> DatasetManager::Upload(const v1::UploadMetadata& metadata,
                                                                 const ChunkSource& next_chunk) {
  ASSIGN_OR_RETURN(IngestOptions ingest, MakeIngestOptions(metadata));
  ASSIGN_OR_RETURN(std::unique_ptr<RecordWriter> writer, store_->NewWriter());
  IngestPipeline pipeline(std::move(ingest), writer.get());
  absl::Status status = Drain(pipeline, next_chunk);
  if (!status.ok()) {
    writer->Abort();
    log::Info("upload of \"", metadata.name(), "\" failed: ", status.ToString());
    return status;
  }
  const IngestResult& result = pipeline.result();
  v1::UploadDatasetResponse response;
  response.set_format_detection(result.format_detection);
  for (const v1::ValidationIssue& issue : result.issues) *response.add_issues() = issue;

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
    log::Info("upload of \"", metadata.name(), "\" matches dataset ", id, "; nothing stored");
    return response;
  }
  ASSIGN_OR_RETURN(bool records_existed, writer->Commit(id));
  v1::Dataset dataset = result.dataset;
  *dataset.mutable_create_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(clock_->Now()));
  status = index_->Put(dataset);
  if (!status.ok()) {
    if (!records_existed) {
      absl::Status removed = store_->Remove(id);
      if (!removed.ok()) log::Warning("cannot remove records of ", id, ": ", removed.ToString());
    }
    return status;
  }
  log::Info("stored dataset ", id, " \"", dataset.name(), "\" (", FormatName(dataset.format()),
            "): ", dataset.line_count(), " lines, ", dataset.record_count(), " records, ",
            dataset.invalid_line_count(), " invalid lines");
  *response.mutable_dataset() = std::move(dataset);
  return response;
}

absl::StatusOr<v1::ValidateDatasetResponse> DatasetManager::Validate(
    const v1::UploadMetadata& metadata, const ChunkSource& next_chunk) {
  ASSIGN_OR_RETURN(IngestOptions ingest, MakeIngestOptions(metadata));
  IngestPipeline pipeline(std::move(ingest), /*sink=*/nullptr);
  absl::Status status = Drain(pipeline, next_chunk);
  const IngestResult& result = pipeline.result();
  if (!status.ok() && result.rejection.empty()) return status;
  v1::ValidateDatasetResponse response;
  response.set_valid(result.rejection.empty());
  *response.mutable_dataset() = result.dataset;
  response.set_format_detection(result.format_detection);
  for (const v1::ValidationIssue& issue : result.issues) *response.add_issues() = issue;
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
        absl::StrCat("invalid page token \"", request.page_token(), "\""));
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

absl::StatusOr<v1::GetDatasetStatsResponse> DatasetManager::GetDatasetStats(absl::string_view id) {
  ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader, OpenRecords(id));
  struct AddressSeen {
    uint64_t records = 0;
    std::string label;
    bool conflicting = false;
  };
  absl::flat_hash_map<eth::Address, AddressSeen> seen;
  v1::GetDatasetStatsResponse response;
  response.set_id(static_cast<std::string>(id));
  common::v1::AddressRecord record;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) break;
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
  }
  response.set_address_count(seen.size());
  for (const auto& [address, entry] : seen) {
    if (entry.records > 1) {
      response.set_duplicate_address_count(response.duplicate_address_count() + 1);
    }
    if (entry.conflicting) {
      response.set_conflicting_address_count(response.conflicting_address_count() + 1);
    }
  }
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
    dataset.set_name(absl::StrCat(parent.name(), "-", SplitSideName(side)));
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
    ASSIGN_OR_RETURN(bool records_existed, output.writer->Commit(output.id));
    absl::Status status = index_->Put(dataset);
    if (!status.ok()) {
      if (!records_existed) {
        absl::Status removed = store_->Remove(output.id);
        if (!removed.ok()) {
          log::Warning("cannot remove records of ", output.id, ": ", removed.ToString());
        }
      }
      return status;
    }
    log::Info("stored split dataset ", output.id, " \"", dataset.name(), "\" of ", parent_id, ": ",
              dataset.record_count(), " records, ", dataset.address_count(), " addresses");
    set_side(side, std::move(dataset));
  }
  return response;
}

absl::Status DatasetManager::Export(
    absl::string_view id,
    const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit) {
  ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader, OpenRecords(id));
  RecordMerger merger;
  common::v1::AddressRecord record;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) break;
    absl::Status added = merger.Add(record);
    if (!added.ok()) return BadRecord(id, added);
  }
  if (merger.size() < kMinChatExamples) {
    return absl::FailedPreconditionError(absl::StrCat("dataset \"", id, "\" has ", merger.size(),
                                                      " distinct addresses; an OpenAI chat "
                                                      "fine-tuning file needs at least ",
                                                      kMinChatExamples,
                                                      " examples, one per address"));
  }
  v1::ExportDatasetResponse chunk;
  std::string& buffer = *chunk.mutable_chunk();
  for (const common::v1::AddressRecord& merged : merger.records()) {
    buffer.append(ChatExampleLine(merged));
    if (buffer.size() >= options_.export_chunk_bytes) {
      RETURN_IF_ERROR(emit(chunk));
      buffer.clear();
    }
  }
  if (!buffer.empty()) RETURN_IF_ERROR(emit(chunk));
  return absl::OkStatus();
}

}  // namespace ethscan::dataset

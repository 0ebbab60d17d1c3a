// The dataset service's logic: uploads and dry runs over a stream of chunks, metadata lookups
// and listings, statistics, and streaming a dataset's records. The gRPC adapter
// (dataset_service.h) only converts messages and statuses.
//
// An upload streams through an IngestPipeline into a RecordWriter. When the file is accepted
// the records are committed under the dataset id and only then is the metadata written to the
// index, so a listed dataset always has its records. A rejected, failed or interrupted upload
// removes its temporary files. If the index already holds the id (same bytes, name, format and
// chain), nothing is written and the existing dataset is returned.
//
// SplitDataset (dataset_splitter.h has the method) reads the parent's records twice: once to
// assign every address to a side, once to write each record to its side's new dataset. The
// sides' ids follow from the parent id, fractions and seed, so a repeated split finds them in
// the index and writes nothing. ExportDataset merges the rows of each address
// (record_merge.h) and streams one chat example per address (chat_format.h); it holds one
// merged record per distinct address in memory.
//
// Thread-safety: thread-safe; calls may run concurrently.
#ifndef ETHSCAN_SERVICES_DATASET_DATASET_MANAGER_H_
#define ETHSCAN_SERVICES_DATASET_DATASET_MANAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/time/clock.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"
#include "services/dataset/dataset_index.h"
#include "services/dataset/ingest_pipeline.h"
#include "services/dataset/record_store.h"

namespace ethscan::dataset {

struct DatasetManagerOptions {
  // Largest upload accepted, in bytes (RESOURCE_EXHAUSTED beyond it).
  uint64_t max_upload_bytes = uint64_t{1} << 30;
  // Share of invalid lines allowed when the upload does not set one. UploadMetadata's
  // max_invalid_fraction uses it when the field is 0 or negative: proto3 cannot tell an unset
  // 0 from an explicit one, so a strict upload passes a tiny value such as 1e-9.
  double default_max_invalid_fraction = 0.05;
  // Issues returned per upload or dry run.
  size_t max_issues = 1000;
  // Longest CSV row accepted, in bytes.
  size_t max_row_bytes = 1 << 20;
  // ReadRecords batch size when the request gives 0, and the largest one accepted.
  int default_batch_size = 1000;
  int max_batch_size = 10000;
  // ListDatasets page size when the request gives 0, and the largest one returned.
  int default_page_size = 100;
  int max_page_size = 1000;
  // ExportDataset sends chunks of about this many bytes (whole lines, at least one per chunk).
  size_t export_chunk_bytes = 64 << 10;
};

// Supplies the bytes of an upload: stores the next chunk and returns true, returns false at
// the end, or returns an error (for example CANCELLED when the client went away), which
// aborts the upload.
using ChunkSource = std::function<absl::StatusOr<bool>(std::string* chunk)>;

class DatasetManager {
 public:
  // `clock` is not owned and must outlive the manager.
  static absl::StatusOr<std::unique_ptr<DatasetManager>> Create(DatasetManagerOptions options,
                                                                std::unique_ptr<DatasetIndex> index,
                                                                std::unique_ptr<RecordStore> store,
                                                                const common::Clock* clock);

  // Reads a whole upload and stores it. INVALID_ARGUMENT for bad metadata or a rejected file
  // (the message names file, line and reason), RESOURCE_EXHAUSTED for a file over the limit,
  // UNAVAILABLE when the index is down, the source's error when it fails.
  absl::StatusOr<v1::UploadDatasetResponse> Upload(const v1::UploadMetadata& metadata,
                                                   const ChunkSource& next_chunk);
  // Same checks as Upload, nothing stored. A rejected file is a response with valid=false;
  // errors are INVALID_ARGUMENT for bad metadata, RESOURCE_EXHAUSTED and the source's error.
  absl::StatusOr<v1::ValidateDatasetResponse> Validate(const v1::UploadMetadata& metadata,
                                                       const ChunkSource& next_chunk);
  // NOT_FOUND `dataset "x" not found`; INVALID_ARGUMENT for an empty id.
  absl::StatusOr<v1::Dataset> GetDataset(absl::string_view id);
  // Newest first; the page token is the decimal offset of the next page.
  // INVALID_ARGUMENT for a bad page token or a negative page size.
  absl::StatusOr<v1::ListDatasetsResponse> ListDatasets(const v1::ListDatasetsRequest& request);
  // Counts computed by reading the records. NOT_FOUND, DATA_LOSS.
  absl::StatusOr<v1::GetDatasetStatsResponse> GetDatasetStats(absl::string_view id);
  // Emits the records in file order in batches of `batch_size` (0 means the default), after
  // verifying their integrity. NOT_FOUND, DATA_LOSS, INVALID_ARGUMENT for a bad batch size,
  // or the first error `emit` returns (which stops the stream).
  absl::Status ReadRecords(absl::string_view id, int32_t batch_size,
                           const std::function<absl::Status(const v1::ReadRecordsResponse&)>& emit);
  // Splits a dataset into train, validation and test datasets named "<name>-train",
  // "<name>-validation" and "<name>-test" (a side whose fraction is 0 is not made and stays
  // unset in the response). INVALID_ARGUMENT for an empty id or bad fractions (naming the
  // field), NOT_FOUND, DATA_LOSS, FAILED_PRECONDITION when a side with a positive fraction
  // would get no address, UNAVAILABLE when the index is down.
  absl::StatusOr<v1::SplitDatasetResponse> Split(const v1::SplitDatasetRequest& request);
  // Streams the dataset as OpenAI chat JSONL, one example per distinct address in the order
  // the addresses first appear, in chunks of about export_chunk_bytes. NOT_FOUND, DATA_LOSS,
  // FAILED_PRECONDITION when the dataset has fewer than 10 distinct addresses (nothing is
  // emitted then), or the first error `emit` returns (which stops the stream).
  absl::Status Export(absl::string_view id,
                      const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit);

 private:
  DatasetManager(DatasetManagerOptions options, std::unique_ptr<DatasetIndex> index,
                 std::unique_ptr<RecordStore> store, const common::Clock* clock)
      : options_(options), index_(std::move(index)), store_(std::move(store)), clock_(clock) {}

  absl::StatusOr<IngestOptions> MakeIngestOptions(const v1::UploadMetadata& metadata) const;
  // Opens the records of a dataset whose metadata exists.
  absl::StatusOr<std::unique_ptr<RecordReader>> OpenRecords(absl::string_view id);

  const DatasetManagerOptions options_;
  const std::unique_ptr<DatasetIndex> index_;
  const std::unique_ptr<RecordStore> store_;
  const common::Clock* const clock_;
};

// Checks a dataset name: 1-128 characters of [A-Za-z0-9._-]. INVALID_ARGUMENT otherwise.
absl::Status ValidateDatasetName(absl::string_view name);

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_DATASET_MANAGER_H_

// The dataset service's logic: uploads and dry runs over a stream of chunks, metadata lookups
// and listings, statistics, and streaming a dataset's records. The gRPC adapter
// (dataset_service.h) only converts messages and statuses.
//
// An upload streams through an IngestPipeline into a RecordWriter. When the file is accepted
// the records are committed under the dataset id and only then is the metadata written to the
// index, so a listed dataset always has its records. A rejected, failed or interrupted upload
// removes its temporary files. If the index already holds the id (same bytes, name, format and
// chain), nothing is written and the existing dataset is returned: this is also what a client
// gets when it retries an upload whose answer it lost (the service stopped after committing).
//
// A broken stream can look like a clean end (gRPC's sync reader reports both as "no more
// messages"), so an upload is committed only when the bytes received match the size and
// SHA-256 the metadata declares (UploadMetadata size_bytes and sha256, when given), and when
// the caller's CommitCheck, asked after everything was read and processed and immediately
// before the commit, allows it (the adapter refuses a cancelled call there).
//
// SplitDataset (dataset_splitter.h has the method) reads the parent's records twice: once to
// assign every address to a side, once to write each record to its side's new dataset. The
// sides' ids follow from the parent id, fractions and seed, so a repeated split finds them in
// the index and writes nothing. ExportDataset in chat form merges the rows of each address
// (record_merge.h) and streams one chat example per address (chat_format.h); it holds one
// merged record per distinct address in memory, checks every example against the token limit
// before it sends anything, and GetDatasetStats counts the tokens of the very same examples.
// The CSV export reads the records twice (feature columns first, then the rows) and holds
// nothing but the feature names.
//
// MergeDatasets (dataset_merge.h) reads every parent once and keeps their records, serialized,
// in memory until each address is settled; the merged records are written in address order.
// Its id follows from the parent ids and the name, so a repeated merge writes nothing.
//
// References and deletion: AddReference and Delete rely on the index, which makes "add a
// reference to a listed dataset" and "delete an unreferenced dataset" atomic against each
// other. A split or merged dataset references its parents ("dataset/<child id>", kept by the
// index in the same atomic step that lists or unlists the child, dataset_index.h), so a parent
// is not deleted while a child exists. Delete removes the index entry first and the records
// after it. Within one process a mutex also orders every "commit records, then list them"
// (upload, split, merge) against "unlist, then remove records" (delete), so a re-upload racing
// a deletion of the same id never ends up listed without its records.
//
// Derived names: a split side is named "<name>-train", "<name>-validation" or "<name>-test"
// (DerivedDatasetName); when that would exceed the 128-character limit of a name, the parent's
// name is cut so that the whole fits, so every stored name is again a valid name. A merge takes
// the name of its request, which must be valid as it is.
//
// Thread-safety: thread-safe; calls may run concurrently.
#ifndef ETHSCAN_SERVICES_DATASET_DATASET_MANAGER_H_
#define ETHSCAN_SERVICES_DATASET_DATASET_MANAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
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
  // Longest CSV row or JSON line accepted, in bytes.
  size_t max_row_bytes = 1 << 20;
  // Most records one upload may yield (RESOURCE_EXHAUSTED beyond it, while streaming).
  uint64_t max_records = uint64_t{100} << 20;
  // Size limits of one record, in characters (IngestOptions): a record over one is an ERROR
  // that skips its line; a label, tag or mapping constant of the request over one makes the
  // request INVALID_ARGUMENT.
  size_t max_tag_chars = 128;
  size_t max_tags = 32;
  size_t max_field_chars = 256;
  size_t max_note_chars = 1024;
  // ReadRecords batch size when the request gives 0, and the largest one accepted.
  int default_batch_size = 1000;
  int max_batch_size = 10000;
  // ListDatasets page size when the request gives 0, and the largest one returned.
  int default_page_size = 100;
  int max_page_size = 1000;
  // ExportDataset sends chunks of about this many bytes (whole lines, at least one per chunk).
  size_t export_chunk_bytes = 64 << 10;
  // Conflicts listed in a MergeDatasets response (all are counted, and all are in the merged
  // records' evidence).
  size_t max_merge_conflicts = 10000;
};

// Supplies the bytes of an upload: stores the next chunk and returns true, returns false at
// the end, or returns an error (for example CANCELLED when the client went away), which
// aborts the upload.
using ChunkSource = std::function<absl::StatusOr<bool>(std::string* chunk)>;

// Asked once an upload was read and processed whole, immediately before its records are
// committed; an error aborts the upload with nothing stored and is returned. May be null.
using CommitCheck = std::function<absl::Status()>;

class DatasetManager {
 public:
  // `clock` is not owned and must outlive the manager.
  static absl::StatusOr<std::unique_ptr<DatasetManager>> Create(DatasetManagerOptions options,
                                                                std::unique_ptr<DatasetIndex> index,
                                                                std::unique_ptr<RecordStore> store,
                                                                const common::Clock* clock);

  // Reads a whole upload and stores it. INVALID_ARGUMENT for bad metadata, a rejected file
  // (the message names file, line and reason) or bytes that differ from the metadata's
  // size_bytes or sha256 (naming the field and both values), RESOURCE_EXHAUSTED for a file
  // over the limit, UNAVAILABLE when the index is down, the source's or `before_commit`'s
  // error when it fails.
  absl::StatusOr<v1::UploadDatasetResponse> Upload(const v1::UploadMetadata& metadata,
                                                   const ChunkSource& next_chunk,
                                                   const CommitCheck& before_commit = nullptr);
  // Same checks as Upload, nothing stored. A rejected file is a response with valid=false;
  // errors are INVALID_ARGUMENT for bad metadata or bytes that differ from size_bytes or
  // sha256, RESOURCE_EXHAUSTED and the source's error.
  absl::StatusOr<v1::ValidateDatasetResponse> Validate(const v1::UploadMetadata& metadata,
                                                       const ChunkSource& next_chunk);
  // NOT_FOUND `dataset "x" not found`; INVALID_ARGUMENT for an empty id.
  absl::StatusOr<v1::Dataset> GetDataset(absl::string_view id);
  // Newest first; the page token is the decimal offset of the next page.
  // INVALID_ARGUMENT for a bad page token or a negative page size.
  absl::StatusOr<v1::ListDatasetsResponse> ListDatasets(const v1::ListDatasetsRequest& request);
  // Counts computed by reading the records, and the token counts and cost of the chat export.
  // A record's sources are the sources of its evidence when it has evidence (a merged
  // record), else its `source`. INVALID_ARGUMENT for an empty id or a negative (or not finite)
  // price, NOT_FOUND, DATA_LOSS.
  absl::StatusOr<v1::GetDatasetStatsResponse> GetDatasetStats(
      const v1::GetDatasetStatsRequest& request);
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
  // Streams the dataset in the request's format, in chunks of about export_chunk_bytes.
  // Chat JSONL (the default): one example per distinct address in the order the addresses
  // first appear; FAILED_PRECONDITION, with nothing emitted, when the dataset has fewer than
  // 10 distinct addresses or an example is over max_example_tokens (0: 65,536), naming the
  // address and its token count. CSV (canonical_csv.h): one row per record in file order.
  // INVALID_ARGUMENT for an unknown format, NOT_FOUND, DATA_LOSS, or the first error `emit`
  // returns (which stops the stream).
  absl::Status Export(const v1::ExportDatasetRequest& request,
                      const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit);
  // Export of dataset `id` as chat JSONL with the default limit.
  absl::Status Export(absl::string_view id,
                      const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit);
  // Merges datasets (dataset_merge.h). INVALID_ARGUMENT for fewer than two ids, an empty or
  // repeated id, a bad name or parents on different chains; NOT_FOUND naming an unknown id;
  // DATA_LOSS; UNAVAILABLE when the index is down. A repeated merge returns the existing
  // dataset with already_existed and the same conflicts (recomputed from the parents; when a
  // parent has been deleted since, only the count from merge_origin).
  absl::StatusOr<v1::MergeDatasetsResponse> Merge(const v1::MergeDatasetsRequest& request);
  // Deletes a dataset's metadata and records (and, for a split or merged dataset, its lineage
  // references on its parents). INVALID_ARGUMENT for an empty id, NOT_FOUND,
  // FAILED_PRECONDITION naming the datasets split or merged from it and the other holders
  // while it is referenced.
  absl::Status Delete(absl::string_view id);
  // Adds or drops a reference ("job/<id>", "model/<name>") and returns the dataset with its
  // references. Idempotent. INVALID_ARGUMENT for an empty id or holder, a holder longer than
  // 256 characters or holding control characters, or a lineage holder ("dataset/…", which
  // only the manager itself adds and drops); NOT_FOUND.
  absl::StatusOr<v1::Dataset> AddReference(absl::string_view id, absl::string_view holder);
  absl::StatusOr<v1::Dataset> RemoveReference(absl::string_view id, absl::string_view holder);

 private:
  DatasetManager(DatasetManagerOptions options, std::unique_ptr<DatasetIndex> index,
                 std::unique_ptr<RecordStore> store, const common::Clock* clock)
      : options_(options), index_(std::move(index)), store_(std::move(store)), clock_(clock) {}

  absl::StatusOr<IngestOptions> MakeIngestOptions(const v1::UploadMetadata& metadata) const;
  // Opens the records of a dataset whose metadata exists.
  absl::StatusOr<std::unique_ptr<RecordReader>> OpenRecords(absl::string_view id);
  // One merged record per distinct address of dataset `id`, in first-appearance order: the
  // records the chat export writes and GetDatasetStats counts. `each`, when set, sees every
  // stored record first.
  absl::StatusOr<std::vector<common::v1::AddressRecord>> ChatExampleRecords(
      absl::string_view id,
      const std::function<absl::Status(const common::v1::AddressRecord&)>& each);
  absl::Status ExportChat(
      absl::string_view id, uint32_t max_example_tokens,
      const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit);
  absl::Status ExportCsv(absl::string_view id,
                         const std::function<absl::Status(const v1::ExportDatasetResponse&)>& emit);
  // Commits `writer` under `dataset.id()` and lists `dataset`, holding commit_mu_. When the
  // index already lists the id, aborts the writer and returns the listed dataset instead
  // (with `*already_listed` set when given). Otherwise `before_commit` (when set) is asked
  // immediately before the commit; its error aborts the writer and is returned.
  absl::StatusOr<v1::Dataset> CommitAndList(RecordWriter& writer, const v1::Dataset& dataset,
                                            bool* already_listed,
                                            const CommitCheck& before_commit = nullptr);
  absl::StatusOr<v1::Dataset> ChangeReference(absl::string_view id, absl::string_view holder,
                                              bool add);

  const DatasetManagerOptions options_;
  const std::unique_ptr<DatasetIndex> index_;
  const std::unique_ptr<RecordStore> store_;
  const common::Clock* const clock_;
  // Orders committing-and-listing against unlisting-and-removing (see the file comment).
  absl::Mutex commit_mu_;
};

// Checks a dataset name: 1-128 characters of [A-Za-z0-9._-]. INVALID_ARGUMENT otherwise.
absl::Status ValidateDatasetName(absl::string_view name);

// The longest dataset name.
inline constexpr size_t kMaxDatasetNameLength = 128;

// `base` + `suffix` ("-train"), with `base` cut so that the result has at most
// kMaxDatasetNameLength characters.
std::string DerivedDatasetName(absl::string_view base, absl::string_view suffix);

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_DATASET_MANAGER_H_

#include "services/dataset/dataset_service.h"

#include <deque>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/status/grpc_status.h"

namespace ethscan::dataset {
namespace {

using common::ToGrpcStatus;

// Reads the first message of an upload stream, which must carry the metadata.
absl::StatusOr<v1::UploadMetadata> ReadMetadata(
    grpc::ServerReader<v1::UploadDatasetRequest>* reader) {
  v1::UploadDatasetRequest first;
  if (!reader->Read(&first)) {
    return absl::InvalidArgumentError(
        "empty upload stream: the first message must carry the metadata");
  }
  if (!first.has_metadata()) {
    return absl::InvalidArgumentError(
        "the first upload message must carry the metadata, not a chunk");
  }
  return std::move(*first.mutable_metadata());
}

// The last check before an upload is committed, after every byte was read and processed: a
// call that was cancelled (by the client, or by gRPC when a message broke the size limit or
// the client went away) must not store what arrived before, even where the reader reported a
// clean end.
absl::Status RefuseCancelled(grpc::ServerContext* context) {
  if (context->IsCancelled()) {
    return absl::CancelledError("upload cancelled before it was committed; nothing stored");
  }
  return absl::OkStatus();
}

// How many chunks ChunkPrefetcher reads ahead of the one being processed.
constexpr size_t kPrefetchChunks = 3;
// How long a stopping ChunkPrefetcher waits for a Read still in flight before it cancels the
// call (only a client that stalls mid-stream makes a Read wait that long).
constexpr absl::Duration kStopReadGrace = absl::Seconds(10);

// The chunks that follow the metadata, read on a second thread up to kPrefetchChunks ahead, so
// that gRPC receives the next chunks while the current one is processed (and memory stays at a
// few chunks whatever the file size). A stream that ends because the client cancelled or went
// away is CANCELLED, not a complete file. Destroying the prefetcher stops the reading promptly:
// no further chunk is read once the Read in flight returns; if that Read waits for a stalled
// client longer than kStopReadGrace, the call is cancelled to end it.
//
// Thread-safety: Next is called from one thread at a time; the reader thread is internal.
class ChunkPrefetcher {
 public:
  ChunkPrefetcher(grpc::ServerContext* context,
                  grpc::ServerReader<v1::UploadDatasetRequest>* reader)
      : context_(context), reader_(reader) {
    try {
      thread_ = std::thread([this] { ReadAll(); });
    } catch (const std::system_error&) {
      // No second thread: Next reads each chunk itself.
    }
  }

  ~ChunkPrefetcher() {
    if (!thread_.joinable()) return;
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
      if (!mu_.AwaitWithTimeout(absl::Condition(&done_), kStopReadGrace)) context_->TryCancel();
    }
    thread_.join();
  }

  ChunkPrefetcher(const ChunkPrefetcher&) = delete;
  ChunkPrefetcher& operator=(const ChunkPrefetcher&) = delete;

  // The ChunkSource contract: the next chunk and true, false at the end, or the stream's error.
  absl::StatusOr<bool> Next(std::string* chunk) {
    if (!thread_.joinable()) {
      absl::StatusOr<std::optional<std::string>> read = ReadOne();
      if (!read.ok()) return read.status();
      if (!read->has_value()) return false;
      *chunk = std::move(**read);
      return true;
    }
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &ChunkPrefetcher::HasNext));
    if (queue_.empty()) {
      if (!end_.ok()) return end_;
      return false;
    }
    *chunk = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }

 private:
  // Reads one message: a chunk, nullopt at the end of the stream, or the stream's error.
  absl::StatusOr<std::optional<std::string>> ReadOne() {
    v1::UploadDatasetRequest request;
    if (!reader_->Read(&request)) {
      if (context_->IsCancelled()) {
        return absl::CancelledError("upload cancelled before the end of the file");
      }
      return std::optional<std::string>();
    }
    if (request.payload_case() != v1::UploadDatasetRequest::kChunk) {
      return absl::InvalidArgumentError("only the first upload message may carry metadata");
    }
    return std::optional<std::string>(std::move(*request.mutable_chunk()));
  }

  // The reader thread: fills the queue until the stream ends, fails or the consumer stops.
  void ReadAll() {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &ChunkPrefetcher::HasRoom));
        if (stop_) break;
      }
      absl::StatusOr<std::optional<std::string>> read = ReadOne();
      absl::MutexLock lock(&mu_);
      if (!read.ok() || !read->has_value()) {
        end_ = read.ok() ? absl::OkStatus() : read.status();
        ended_ = true;
        break;
      }
      queue_.push_back(std::move(**read));
    }
    absl::MutexLock lock(&mu_);
    done_ = true;
  }

  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || queue_.size() < kPrefetchChunks;
  }
  bool HasNext() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || ended_; }

  grpc::ServerContext* const context_;
  grpc::ServerReader<v1::UploadDatasetRequest>* const reader_;
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  // The stream ended (end_ OK) or failed (end_ the error); queue_ holds the last chunks.
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status end_ ABSL_GUARDED_BY(mu_);
  // The consumer stopped; the reader thread reads no further chunk.
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // The reader thread does not touch the reader any more.
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace

grpc::Status DatasetServiceImpl::UploadDataset(grpc::ServerContext* context,
                                               grpc::ServerReader<v1::UploadDatasetRequest>* reader,
                                               v1::UploadDatasetResponse* response) {
  absl::StatusOr<v1::UploadMetadata> metadata = ReadMetadata(reader);
  if (!metadata.ok()) return ToGrpcStatus(metadata.status());
  ChunkPrefetcher chunks(context, reader);
  absl::StatusOr<v1::UploadDatasetResponse> result = manager_->Upload(
      *metadata, [&chunks](std::string* chunk) { return chunks.Next(chunk); },
      [context] { return RefuseCancelled(context); });
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status DatasetServiceImpl::ValidateDataset(
    grpc::ServerContext* context, grpc::ServerReader<v1::UploadDatasetRequest>* reader,
    v1::ValidateDatasetResponse* response) {
  absl::StatusOr<v1::UploadMetadata> metadata = ReadMetadata(reader);
  if (!metadata.ok()) return ToGrpcStatus(metadata.status());
  ChunkPrefetcher chunks(context, reader);
  absl::StatusOr<v1::ValidateDatasetResponse> result =
      manager_->Validate(*metadata, [&chunks](std::string* chunk) { return chunks.Next(chunk); });
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status DatasetServiceImpl::GetDataset(grpc::ServerContext* context,
                                            const v1::GetDatasetRequest* request,
                                            v1::GetDatasetResponse* response) {
  absl::StatusOr<v1::Dataset> dataset = manager_->GetDataset(request->id());
  if (!dataset.ok()) return ToGrpcStatus(dataset.status());
  *response->mutable_dataset() = *std::move(dataset);
  return grpc::Status::OK;
}

grpc::Status DatasetServiceImpl::ListDatasets(grpc::ServerContext* context,
                                              const v1::ListDatasetsRequest* request,
                                              v1::ListDatasetsResponse* response) {
  absl::StatusOr<v1::ListDatasetsResponse> result = manager_->ListDatasets(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status DatasetServiceImpl::GetDatasetStats(grpc::ServerContext* context,
                                                 const v1::GetDatasetStatsRequest* request,
                                                 v1::GetDatasetStatsResponse* response) {
  absl::StatusOr<v1::GetDatasetStatsResponse> result = manager_->GetDatasetStats(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status DatasetServiceImpl::ReadRecords(grpc::ServerContext* context,
                                             const v1::ReadRecordsRequest* request,
                                             grpc::ServerWriter<v1::ReadRecordsResponse>* writer) {
  absl::Status status = manager_->ReadRecords(
      request->id(), request->batch_size(),
      [context, writer](const v1::ReadRecordsResponse& batch) -> absl::Status {
        if (context->IsCancelled() || !writer->Write(batch)) {
          return absl::CancelledError("the client stopped reading records");
        }
        return absl::OkStatus();
      });
  return ToGrpcStatus(status);
}

grpc::Status DatasetServiceImpl::SplitDataset(grpc::ServerContext* context,
                                              const v1::SplitDatasetRequest* request,
                                              v1::SplitDatasetResponse* response) {
  absl::StatusOr<v1::SplitDatasetResponse> result = manager_->Split(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status DatasetServiceImpl::ExportDataset(
    grpc::ServerContext* context, const v1::ExportDatasetRequest* request,
    grpc::ServerWriter<v1::ExportDatasetResponse>* writer) {
  absl::Status status = manager_->Export(
      *request, [context, writer](const v1::ExportDatasetResponse& chunk) -> absl::Status {
        if (context->IsCancelled() || !writer->Write(chunk)) {
          return absl::CancelledError("the client stopped reading the export");
        }
        return absl::OkStatus();
      });
  return ToGrpcStatus(status);
}

grpc::Status DatasetServiceImpl::MergeDatasets(grpc::ServerContext* context,
                                               const v1::MergeDatasetsRequest* request,
                                               v1::MergeDatasetsResponse* response) {
  absl::StatusOr<v1::MergeDatasetsResponse> result = manager_->Merge(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status DatasetServiceImpl::DeleteDataset(grpc::ServerContext* context,
                                               const v1::DeleteDatasetRequest* request,
                                               v1::DeleteDatasetResponse* response) {
  return ToGrpcStatus(manager_->Delete(request->id()));
}

grpc::Status DatasetServiceImpl::AddDatasetReference(grpc::ServerContext* context,
                                                     const v1::DatasetReferenceRequest* request,
                                                     v1::DatasetReferenceResponse* response) {
  absl::StatusOr<v1::Dataset> dataset = manager_->AddReference(request->id(), request->holder());
  if (!dataset.ok()) return ToGrpcStatus(dataset.status());
  *response->mutable_dataset() = *std::move(dataset);
  return grpc::Status::OK;
}

grpc::Status DatasetServiceImpl::RemoveDatasetReference(grpc::ServerContext* context,
                                                        const v1::DatasetReferenceRequest* request,
                                                        v1::DatasetReferenceResponse* response) {
  absl::StatusOr<v1::Dataset> dataset = manager_->RemoveReference(request->id(), request->holder());
  if (!dataset.ok()) return ToGrpcStatus(dataset.status());
  *response->mutable_dataset() = *std::move(dataset);
  return grpc::Status::OK;
}

}  // namespace ethscan::dataset

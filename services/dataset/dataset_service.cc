#include "services/dataset/dataset_service.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// The chunks that follow the metadata. A stream that ends because the client cancelled or
// went away is CANCELLED, not a complete file.
ChunkSource StreamChunks(grpc::ServerContext* context,
                         grpc::ServerReader<v1::UploadDatasetRequest>* reader) {
  return [context, reader](std::string* chunk) -> absl::StatusOr<bool> {
    v1::UploadDatasetRequest request;
    if (!reader->Read(&request)) {
      if (context->IsCancelled()) {
        return absl::CancelledError("upload cancelled before the end of the file");
      }
      return false;
    }
    if (request.payload_case() != v1::UploadDatasetRequest::kChunk) {
      return absl::InvalidArgumentError("only the first upload message may carry metadata");
    }
    *chunk = std::move(*request.mutable_chunk());
    return true;
  };
}

}  // namespace

grpc::Status DatasetServiceImpl::UploadDataset(grpc::ServerContext* context,
                                               grpc::ServerReader<v1::UploadDatasetRequest>* reader,
                                               v1::UploadDatasetResponse* response) {
  absl::StatusOr<v1::UploadMetadata> metadata = ReadMetadata(reader);
  if (!metadata.ok()) return ToGrpcStatus(metadata.status());
  absl::StatusOr<v1::UploadDatasetResponse> result =
      manager_->Upload(*metadata, StreamChunks(context, reader));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status DatasetServiceImpl::ValidateDataset(
    grpc::ServerContext* context, grpc::ServerReader<v1::UploadDatasetRequest>* reader,
    v1::ValidateDatasetResponse* response) {
  absl::StatusOr<v1::UploadMetadata> metadata = ReadMetadata(reader);
  if (!metadata.ok()) return ToGrpcStatus(metadata.status());
  absl::StatusOr<v1::ValidateDatasetResponse> result =
      manager_->Validate(*metadata, StreamChunks(context, reader));
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

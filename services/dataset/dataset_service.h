// The gRPC adapter of ethscan.dataset.v1.DatasetService: converts requests for the
// DatasetManager and its results and statuses back (through common::ToGrpcStatus). Uses the
// synchronous service API; each call runs on a gRPC server thread.
//
// Upload streams: the first message must carry metadata, every later one a chunk. Chunks are
// read on a second thread, up to three ahead of the one being validated, so receiving overlaps
// processing while memory stays at a few chunks. A client that cancels or disconnects
// mid-stream ends the upload with CANCELLED and nothing stored; a rejected file stops the
// reading at once (a client stalled mid-stream after that is cancelled after 10 s).
// ServerReader::Read reports a clean half-close and a broken stream (a message over the size
// limit or one that does not parse) alike, so an upload is committed only when the call is
// not cancelled immediately before the commit and the bytes match the size and SHA-256 the
// metadata declares (DatasetManager::Upload).
// ExportDataset and ReadRecords stop with CANCELLED when the client stops reading.
//
// Thread-safety: thread-safe; the manager is.
#ifndef ETHSCAN_SERVICES_DATASET_DATASET_SERVICE_H_
#define ETHSCAN_SERVICES_DATASET_DATASET_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "services/dataset/dataset_manager.h"

namespace ethscan::dataset {

class DatasetServiceImpl final : public v1::DatasetService::Service {
 public:
  // `manager` is not owned and must outlive the service.
  explicit DatasetServiceImpl(DatasetManager* manager) : manager_(manager) {}

  grpc::Status UploadDataset(grpc::ServerContext* context,
                             grpc::ServerReader<v1::UploadDatasetRequest>* reader,
                             v1::UploadDatasetResponse* response) override;
  grpc::Status ValidateDataset(grpc::ServerContext* context,
                               grpc::ServerReader<v1::UploadDatasetRequest>* reader,
                               v1::ValidateDatasetResponse* response) override;
  grpc::Status GetDataset(grpc::ServerContext* context, const v1::GetDatasetRequest* request,
                          v1::GetDatasetResponse* response) override;
  grpc::Status ListDatasets(grpc::ServerContext* context, const v1::ListDatasetsRequest* request,
                            v1::ListDatasetsResponse* response) override;
  grpc::Status GetDatasetStats(grpc::ServerContext* context,
                               const v1::GetDatasetStatsRequest* request,
                               v1::GetDatasetStatsResponse* response) override;
  grpc::Status ReadRecords(grpc::ServerContext* context, const v1::ReadRecordsRequest* request,
                           grpc::ServerWriter<v1::ReadRecordsResponse>* writer) override;
  grpc::Status SplitDataset(grpc::ServerContext* context, const v1::SplitDatasetRequest* request,
                            v1::SplitDatasetResponse* response) override;
  grpc::Status ExportDataset(grpc::ServerContext* context, const v1::ExportDatasetRequest* request,
                             grpc::ServerWriter<v1::ExportDatasetResponse>* writer) override;
  grpc::Status MergeDatasets(grpc::ServerContext* context, const v1::MergeDatasetsRequest* request,
                             v1::MergeDatasetsResponse* response) override;
  grpc::Status DeleteDataset(grpc::ServerContext* context, const v1::DeleteDatasetRequest* request,
                             v1::DeleteDatasetResponse* response) override;
  grpc::Status AddDatasetReference(grpc::ServerContext* context,
                                   const v1::DatasetReferenceRequest* request,
                                   v1::DatasetReferenceResponse* response) override;
  grpc::Status RemoveDatasetReference(grpc::ServerContext* context,
                                      const v1::DatasetReferenceRequest* request,
                                      v1::DatasetReferenceResponse* response) override;

 private:
  DatasetManager* const manager_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_DATASET_SERVICE_H_

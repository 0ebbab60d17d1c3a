// gRPC adapters of the training server: TrainingService over JobManager and
// ModelRegistryService over ModelRegistry. They only translate messages and map statuses
// (common/status/grpc_status.h); the logic is in the classes they wrap.
//
// Thread-safety: thread-safe; gRPC calls them from many threads (sync API).
#ifndef ETHSCAN_SERVICES_TRAINING_TRAINING_SERVICE_H_
#define ETHSCAN_SERVICES_TRAINING_TRAINING_SERVICE_H_

#include <cstddef>

#include "ethscan/training/v1/model_registry_service.grpc.pb.h"
#include "ethscan/training/v1/training_service.grpc.pb.h"
#include "services/training/job_manager.h"
#include "services/training/model_registry.h"

namespace ethscan::training {

class TrainingServiceImpl final : public v1::TrainingService::Service {
 public:
  // `manager` is not owned and must outlive the service.
  explicit TrainingServiceImpl(JobManager* manager) : manager_(manager) {}

  grpc::Status CreateJob(grpc::ServerContext* context, const v1::CreateJobRequest* request,
                         v1::CreateJobResponse* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                      v1::GetJobResponse* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const v1::CancelJobRequest* request,
                         v1::CancelJobResponse* response) override;
  grpc::Status ListJobEvents(grpc::ServerContext* context, const v1::ListJobEventsRequest* request,
                             v1::ListJobEventsResponse* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::WatchJobResponse>* writer) override;
  grpc::Status ListCheckpoints(grpc::ServerContext* context,
                               const v1::ListCheckpointsRequest* request,
                               v1::ListCheckpointsResponse* response) override;
  grpc::Status ListDeadLetters(grpc::ServerContext* context,
                               const v1::ListDeadLettersRequest* request,
                               v1::ListDeadLettersResponse* response) override;

 private:
  JobManager* const manager_;
};

class ModelRegistryServiceImpl final : public v1::ModelRegistryService::Service {
 public:
  // `registry` is not owned and must outlive the service. DownloadModel sends the bytes in
  // chunks of `chunk_bytes`.
  explicit ModelRegistryServiceImpl(ModelRegistry* registry, size_t chunk_bytes = 1 << 20)
      : registry_(registry), chunk_bytes_(chunk_bytes) {}

  grpc::Status ListModels(grpc::ServerContext* context, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status GetModel(grpc::ServerContext* context, const v1::GetModelRequest* request,
                        v1::GetModelResponse* response) override;
  grpc::Status SetAlias(grpc::ServerContext* context, const v1::SetAliasRequest* request,
                        v1::SetAliasResponse* response) override;
  grpc::Status DeleteAlias(grpc::ServerContext* context, const v1::DeleteAliasRequest* request,
                           v1::DeleteAliasResponse* response) override;
  grpc::Status GetAlias(grpc::ServerContext* context, const v1::GetAliasRequest* request,
                        v1::GetAliasResponse* response) override;
  grpc::Status PruneModels(grpc::ServerContext* context, const v1::PruneModelsRequest* request,
                           v1::PruneModelsResponse* response) override;
  grpc::Status DeleteModel(grpc::ServerContext* context, const v1::DeleteModelRequest* request,
                           v1::DeleteModelResponse* response) override;
  grpc::Status DownloadModel(grpc::ServerContext* context, const v1::DownloadModelRequest* request,
                             grpc::ServerWriter<v1::DownloadModelResponse>* writer) override;

 private:
  ModelRegistry* const registry_;
  const size_t chunk_bytes_;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_TRAINING_SERVICE_H_

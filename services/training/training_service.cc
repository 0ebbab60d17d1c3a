#include "services/training/training_service.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"

namespace ethscan::training {

using common::ToGrpcStatus;

grpc::Status TrainingServiceImpl::CreateJob(grpc::ServerContext* context,
                                            const v1::CreateJobRequest* request,
                                            v1::CreateJobResponse* response) {
  absl::StatusOr<v1::Job> job = manager_->CreateJob(*request);
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response->mutable_job() = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::GetJob(grpc::ServerContext* context,
                                         const v1::GetJobRequest* request,
                                         v1::GetJobResponse* response) {
  absl::StatusOr<v1::Job> job = manager_->GetJob(request->id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response->mutable_job() = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::ListJobs(grpc::ServerContext* context,
                                           const v1::ListJobsRequest* request,
                                           v1::ListJobsResponse* response) {
  absl::StatusOr<v1::ListJobsResponse> jobs = manager_->ListJobs(*request);
  if (!jobs.ok()) return ToGrpcStatus(jobs.status());
  *response = *std::move(jobs);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::CancelJob(grpc::ServerContext* context,
                                            const v1::CancelJobRequest* request,
                                            v1::CancelJobResponse* response) {
  absl::StatusOr<v1::Job> job = manager_->CancelJob(request->id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response->mutable_job() = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::ListJobEvents(grpc::ServerContext* context,
                                                const v1::ListJobEventsRequest* request,
                                                v1::ListJobEventsResponse* response) {
  // One event past the limit says whether there are more.
  v1::ListJobEventsRequest one_more = *request;
  if (request->limit() > 0 && request->limit() < std::numeric_limits<int32_t>::max()) {
    one_more.set_limit(request->limit() + 1);
  }
  absl::StatusOr<std::vector<v1::JobEvent>> events = manager_->ListJobEvents(one_more);
  if (!events.ok()) return ToGrpcStatus(events.status());
  if (request->limit() > 0 && events->size() > static_cast<size_t>(request->limit())) {
    events->resize(request->limit());
    response->set_has_more(true);
  }
  for (v1::JobEvent& e : *events) *response->add_events() = std::move(e);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::WatchJob(grpc::ServerContext* context,
                                           const v1::WatchJobRequest* request,
                                           grpc::ServerWriter<v1::WatchJobResponse>* writer) {
  return ToGrpcStatus(manager_->WatchJob(
      request->id(), request->after(),
      [writer](const v1::WatchJobResponse& r) { return writer->Write(r); },
      [context] { return context->IsCancelled(); }));
}

grpc::Status TrainingServiceImpl::ListCheckpoints(grpc::ServerContext* context,
                                                  const v1::ListCheckpointsRequest* request,
                                                  v1::ListCheckpointsResponse* response) {
  absl::StatusOr<std::vector<v1::Checkpoint>> checkpoints =
      manager_->ListCheckpoints(request->id());
  if (!checkpoints.ok()) return ToGrpcStatus(checkpoints.status());
  for (v1::Checkpoint& c : *checkpoints) *response->add_checkpoints() = std::move(c);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::ListDeadLetters(grpc::ServerContext* context,
                                                  const v1::ListDeadLettersRequest* request,
                                                  v1::ListDeadLettersResponse* response) {
  absl::StatusOr<v1::ListDeadLettersResponse> dead = manager_->ListDeadLetters(*request);
  if (!dead.ok()) return ToGrpcStatus(dead.status());
  *response = *std::move(dead);
  return grpc::Status::OK;
}

grpc::Status ModelRegistryServiceImpl::ListModels(grpc::ServerContext* context,
                                                  const v1::ListModelsRequest* request,
                                                  v1::ListModelsResponse* response) {
  absl::StatusOr<v1::ListModelsResponse> models =
      registry_->List(request->page_size(), request->page_token());
  if (!models.ok()) return ToGrpcStatus(models.status());
  *response = *std::move(models);
  return grpc::Status::OK;
}

grpc::Status ModelRegistryServiceImpl::GetModel(grpc::ServerContext* context,
                                                const v1::GetModelRequest* request,
                                                v1::GetModelResponse* response) {
  absl::StatusOr<v1::Model> model = registry_->Resolve(request->name());
  if (!model.ok()) return ToGrpcStatus(model.status());
  *response->mutable_model() = *std::move(model);
  return grpc::Status::OK;
}

grpc::Status ModelRegistryServiceImpl::SetAlias(grpc::ServerContext* context,
                                                const v1::SetAliasRequest* request,
                                                v1::SetAliasResponse* response) {
  if (request->rollback() && !request->model().empty()) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("rollback points the alias back itself: leave model empty"));
  }
  absl::StatusOr<v1::Model> model = request->rollback()
                                        ? registry_->RollbackAlias(request->alias())
                                        : registry_->SetAlias(request->alias(), request->model());
  if (!model.ok()) return ToGrpcStatus(model.status());
  *response->mutable_model() = *std::move(model);
  return grpc::Status::OK;
}

grpc::Status ModelRegistryServiceImpl::DeleteAlias(grpc::ServerContext* context,
                                                   const v1::DeleteAliasRequest* request,
                                                   v1::DeleteAliasResponse* response) {
  return ToGrpcStatus(registry_->DeleteAlias(request->alias()));
}

grpc::Status ModelRegistryServiceImpl::GetAlias(grpc::ServerContext* context,
                                                const v1::GetAliasRequest* request,
                                                v1::GetAliasResponse* response) {
  auto alias = registry_->Alias(request->alias());
  if (!alias.ok()) return ToGrpcStatus(alias.status());
  response->set_model(alias->first.value_or(""));
  for (std::string& m : alias->second) response->add_history(std::move(m));
  return grpc::Status::OK;
}

grpc::Status ModelRegistryServiceImpl::PruneModels(grpc::ServerContext* context,
                                                   const v1::PruneModelsRequest* request,
                                                   v1::PruneModelsResponse* response) {
  if (request->keep() < 0) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("keep ", request->keep(), " must be 0 (3) or more")));
  }
  absl::StatusOr<std::vector<v1::Model>> pruned =
      registry_->Prune(request->keep() == 0 ? 3 : request->keep(), request->dry_run());
  if (!pruned.ok()) return ToGrpcStatus(pruned.status());
  uint64_t bytes = 0;
  for (v1::Model& m : *pruned) {
    bytes += m.size_bytes();
    *response->add_models() = std::move(m);
  }
  response->set_bytes(bytes);
  return grpc::Status::OK;
}

grpc::Status ModelRegistryServiceImpl::DeleteModel(grpc::ServerContext* context,
                                                   const v1::DeleteModelRequest* request,
                                                   v1::DeleteModelResponse* response) {
  return ToGrpcStatus(registry_->Delete(request->name()));
}

grpc::Status ModelRegistryServiceImpl::DownloadModel(
    grpc::ServerContext* context, const v1::DownloadModelRequest* request,
    grpc::ServerWriter<v1::DownloadModelResponse>* writer) {
  absl::StatusOr<v1::Model> model = registry_->Resolve(request->name());
  if (!model.ok()) return ToGrpcStatus(model.status());
  // The bytes are checked before anything is sent, so a client never gets a corrupt model.
  absl::StatusOr<std::string> bytes = registry_->ReadVerified(*model);
  if (!bytes.ok()) return ToGrpcStatus(bytes.status());
  v1::DownloadModelResponse first;
  *first.mutable_model() = *model;
  if (!writer->Write(first)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  for (size_t offset = 0; offset < bytes->size(); offset += chunk_bytes_) {
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    }
    v1::DownloadModelResponse chunk;
    chunk.set_chunk(bytes->substr(offset, std::min(chunk_bytes_, bytes->size() - offset)));
    if (!writer->Write(chunk)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    }
  }
  return grpc::Status::OK;
}

}  // namespace ethscan::training

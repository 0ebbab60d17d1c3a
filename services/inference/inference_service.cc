#include "services/inference/inference_service.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/eth/address.h"
#include "common/features/vector.h"
#include "common/grpc/streams.h"
#include "common/status/grpc_status.h"
#include "common/text/quote.h"
#include "services/inference/report.h"

namespace ethscan::inference {

absl::StatusOr<v1::PredictResponse> InferenceServiceImpl::PredictOne(
    const v1::PredictRequest& request) {
  absl::StatusOr<eth::Address> address =
      eth::Address::Parse(absl::StripAsciiWhitespace(request.address()));
  if (!address.ok()) return address.status();
  if (request.chain_id() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("chain_id ", request.chain_id(),
                                                   " is not supported yet: models cover chain 1"));
  }
  PredictInput input{*address, {}};
  if (!request.features().empty()) {
    std::vector<std::pair<std::string, double>> values(request.features().begin(),
                                                       request.features().end());
    // Map order is unspecified; sorted, an error always names the same feature first.
    std::sort(values.begin(), values.end());
    for (const auto& [name, value] : values) {
      if (!std::isfinite(value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("features: ", text::Quote(name), " is ", value,
                         "; give finite numbers, and leave a missing feature out"));
      }
    }
    absl::StatusOr<std::vector<float>> dense = features::DenseVector(values);
    if (!dense.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("features: ", dense.status().message()));
    }
    input.features = *std::move(dense);
  }
  absl::StatusOr<std::shared_ptr<const LoadedModel>> model = models_->Get(request.model());
  if (!model.ok()) return model.status();
  absl::StatusOr<Assessment> assessment = (*model)->Assess(input);
  if (!assessment.ok()) return assessment.status();
  return BuildReport(*address, *assessment, (*model)->name());
}

grpc::Status InferenceServiceImpl::Predict(grpc::ServerContext* context,
                                           const v1::PredictRequest* request,
                                           v1::PredictResponse* response) {
  absl::StatusOr<v1::PredictResponse> result = PredictOne(*request);
  if (!result.ok()) return common::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status InferenceServiceImpl::BatchPredict(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::PredictResponse, v1::PredictRequest>* stream) {
  return common::AnswerEachInOrder(stream, "request",
                                   [this](const v1::PredictRequest& r) { return PredictOne(r); });
}

grpc::Status InferenceServiceImpl::LoadModel(grpc::ServerContext* context,
                                             const v1::LoadModelRequest* request,
                                             v1::LoadModelResponse* response) {
  absl::StatusOr<v1::LoadedModel> loaded = models_->Load(request->model());
  if (!loaded.ok()) return common::ToGrpcStatus(loaded.status());
  *response->mutable_model() = *std::move(loaded);
  return grpc::Status::OK;
}

grpc::Status InferenceServiceImpl::UnloadModel(grpc::ServerContext* context,
                                               const v1::UnloadModelRequest* request,
                                               v1::UnloadModelResponse* response) {
  return common::ToGrpcStatus(models_->Unload(request->model()));
}

grpc::Status InferenceServiceImpl::ListLoadedModels(grpc::ServerContext* context,
                                                    const v1::ListLoadedModelsRequest* request,
                                                    v1::ListLoadedModelsResponse* response) {
  for (v1::LoadedModel& m : models_->List()) *response->add_models() = std::move(m);
  return grpc::Status::OK;
}

grpc::Status InferenceServiceImpl::ModelReady(grpc::ServerContext* context,
                                              const v1::ModelReadyRequest* request,
                                              v1::ModelReadyResponse* response) {
  absl::StatusOr<std::string> name = models_->Ready(request->model());
  if (name.ok()) {
    response->set_ready(true);
    response->set_name(*name);
    return grpc::Status::OK;
  }
  if (absl::IsNotFound(name.status())) {
    response->set_ready(false);
    return grpc::Status::OK;
  }
  return common::ToGrpcStatus(name.status());
}

}  // namespace ethscan::inference

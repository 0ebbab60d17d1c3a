// gRPC adapter of the inference service: parses requests, asks the ModelManager, and builds
// predictions with BuildPrediction.
#ifndef ETHSCAN_SERVICES_INFERENCE_INFERENCE_SERVICE_H_
#define ETHSCAN_SERVICES_INFERENCE_INFERENCE_SERVICE_H_

#include "ethscan/inference/v1/inference_service.grpc.pb.h"
#include "services/inference/model_manager.h"

namespace ethscan::inference {

// Thread-safe.
class InferenceServiceImpl final : public inference::v1::InferenceService::Service {
 public:
  // `models` must outlive the service.
  explicit InferenceServiceImpl(ModelManager* models) : models_(models) {}

  // The logic behind Predict and BatchPredict, usable without gRPC.
  absl::StatusOr<inference::v1::PredictResponse> PredictOne(
      const inference::v1::PredictRequest& request);

  grpc::Status Predict(grpc::ServerContext* context, const inference::v1::PredictRequest* request,
                       inference::v1::PredictResponse* response) override;
  grpc::Status BatchPredict(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<inference::v1::PredictResponse, inference::v1::PredictRequest>*
          stream) override;
  grpc::Status LoadModel(grpc::ServerContext* context,
                         const inference::v1::LoadModelRequest* request,
                         inference::v1::LoadModelResponse* response) override;
  grpc::Status UnloadModel(grpc::ServerContext* context,
                           const inference::v1::UnloadModelRequest* request,
                           inference::v1::UnloadModelResponse* response) override;
  grpc::Status ListLoadedModels(grpc::ServerContext* context,
                                const inference::v1::ListLoadedModelsRequest* request,
                                inference::v1::ListLoadedModelsResponse* response) override;
  grpc::Status ModelReady(grpc::ServerContext* context,
                          const inference::v1::ModelReadyRequest* request,
                          inference::v1::ModelReadyResponse* response) override;

 private:
  ModelManager* const models_;
};

}  // namespace ethscan::inference

#endif  // ETHSCAN_SERVICES_INFERENCE_INFERENCE_SERVICE_H_

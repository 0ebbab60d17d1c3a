// Where the `ethscan` client gets its RPC stubs. Commands are written against the generated
// StubInterfaces; GrpcClientFactory makes real stubs over gRPC channels, tests hand in mocks or
// stubs over in-process channels. Implementations need not be thread-safe: the client calls
// them from one thread.
#ifndef ETHSCAN_TOOLS_CLI_CLIENT_FACTORY_H_
#define ETHSCAN_TOOLS_CLI_CLIENT_FACTORY_H_

#include <grpcpp/channel.h>

#include <map>
#include <memory>
#include <string>

#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "ethscan/gateway/v1/scan_service.grpc.pb.h"
#include "ethscan/inference/v1/inference_service.grpc.pb.h"
#include "ethscan/training/v1/model_registry_service.grpc.pb.h"
#include "ethscan/training/v1/training_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace ethscan::cli {

// Makes one stub per call; `target` is "host:port" or a gRPC name such as "dns:///gateway:50051".
class ClientFactory {
 public:
  virtual ~ClientFactory() = default;

  virtual std::unique_ptr<gateway::v1::ScanService::StubInterface> NewScanStub(
      const std::string& target) = 0;
  virtual std::unique_ptr<dataset::v1::DatasetService::StubInterface> NewDatasetStub(
      const std::string& target) = 0;
  virtual std::unique_ptr<training::v1::TrainingService::StubInterface> NewTrainingStub(
      const std::string& target) = 0;
  virtual std::unique_ptr<training::v1::ModelRegistryService::StubInterface> NewModelRegistryStub(
      const std::string& target) = 0;
  virtual std::unique_ptr<inference::v1::InferenceService::StubInterface> NewInferenceStub(
      const std::string& target) = 0;
  virtual std::unique_ptr<grpc::health::v1::Health::StubInterface> NewHealthStub(
      const std::string& target) = 0;
};

// Stubs over insecure channels made by common::CreateChannel (client-side round-robin). One
// channel per target is shared by the stubs made for it.
class GrpcClientFactory final : public ClientFactory {
 public:
  std::unique_ptr<gateway::v1::ScanService::StubInterface> NewScanStub(
      const std::string& target) override;
  std::unique_ptr<dataset::v1::DatasetService::StubInterface> NewDatasetStub(
      const std::string& target) override;
  std::unique_ptr<training::v1::TrainingService::StubInterface> NewTrainingStub(
      const std::string& target) override;
  std::unique_ptr<training::v1::ModelRegistryService::StubInterface> NewModelRegistryStub(
      const std::string& target) override;
  std::unique_ptr<inference::v1::InferenceService::StubInterface> NewInferenceStub(
      const std::string& target) override;
  std::unique_ptr<grpc::health::v1::Health::StubInterface> NewHealthStub(
      const std::string& target) override;

 private:
  std::shared_ptr<grpc::Channel> Channel(const std::string& target);

  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
};

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_CLIENT_FACTORY_H_

#include "tools/cli/client_factory.h"

#include "common/grpc/channel.h"

namespace ethscan::cli {

std::shared_ptr<grpc::Channel> GrpcClientFactory::Channel(const std::string& target) {
  std::shared_ptr<grpc::Channel>& channel = channels_[target];
  if (channel == nullptr) channel = common::CreateChannel(target);
  return channel;
}

std::unique_ptr<gateway::v1::ScanService::StubInterface> GrpcClientFactory::NewScanStub(
    const std::string& target) {
  return gateway::v1::ScanService::NewStub(Channel(target));
}

std::unique_ptr<dataset::v1::DatasetService::StubInterface> GrpcClientFactory::NewDatasetStub(
    const std::string& target) {
  return dataset::v1::DatasetService::NewStub(Channel(target));
}

std::unique_ptr<training::v1::TrainingService::StubInterface> GrpcClientFactory::NewTrainingStub(
    const std::string& target) {
  return training::v1::TrainingService::NewStub(Channel(target));
}

std::unique_ptr<training::v1::ModelRegistryService::StubInterface>
GrpcClientFactory::NewModelRegistryStub(const std::string& target) {
  return training::v1::ModelRegistryService::NewStub(Channel(target));
}

std::unique_ptr<inference::v1::InferenceService::StubInterface> GrpcClientFactory::NewInferenceStub(
    const std::string& target) {
  return inference::v1::InferenceService::NewStub(Channel(target));
}

std::unique_ptr<grpc::health::v1::Health::StubInterface> GrpcClientFactory::NewHealthStub(
    const std::string& target) {
  return grpc::health::v1::Health::NewStub(Channel(target));
}

}  // namespace ethscan::cli

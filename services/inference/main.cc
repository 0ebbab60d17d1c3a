// ethscan_inference: answers predictions from models fetched from the model registry.
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/config/config.h"
#include "common/config/usage.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "common/log/log.h"
#include "services/inference/inference_service.h"

ABSL_FLAG(std::string, listen, "", "HOST:PORT to listen on (env ETHSCAN_INFERENCE_LISTEN)");
ABSL_FLAG(std::string, shutdown_deadline, "10s", "Grace period for in-flight calls on SIGTERM");
ABSL_FLAG(std::string, training_addr, "",
          "Model registry (training service) HOST:PORT (env ETHSCAN_TRAINING_ADDR)");
ABSL_FLAG(std::string, resolve_ttl, "5s", "How long a model name or alias resolution is reused");

int main(int argc, char** argv) {
  namespace es = ethscan;
  es::common::BlockTerminationSignals();
  ethscan::config::InitUsage(
      "ethscan_inference [--listen=HOST:PORT] …: the inference service (reports and behavioural "
      "scores from fine-tuned models).");
  absl::ParseCommandLine(argc, argv);
  es::log::SetComponent("inference");
  auto options = es::common::ServerOptionsFromFlags(
      absl::GetFlag(FLAGS_listen), "ETHSCAN_INFERENCE_LISTEN", es::config::kInferencePort,
      absl::GetFlag(FLAGS_shutdown_deadline));
  auto ttl = es::config::ParseDurationFlag(absl::GetFlag(FLAGS_resolve_ttl), "--resolve_ttl");
  std::string registry =
      es::config::FlagOrEnv(absl::GetFlag(FLAGS_training_addr), "ETHSCAN_TRAINING_ADDR",
                            es::config::ServiceTargets::FromEnv().training);
  if (!options.ok() || !ttl.ok()) {
    es::log::Error(options.ok() ? ttl.status().message() : options.status().message());
    return 2;
  }
  auto source = std::make_unique<es::inference::RegistryModelSource>(
      es::training::v1::ModelRegistryService::NewStub(es::common::CreateChannel(registry)),
      es::inference::RegistryModelSource::Options());
  es::inference::ModelManager::Options manager_options;
  manager_options.resolve_ttl = *ttl;
  es::inference::ModelManager models(std::move(source), &es::common::SystemClock::Get(),
                                     manager_options);
  es::inference::InferenceServiceImpl service(&models);
  es::log::Info("model registry at ", registry);
  options->readiness_services = {es::inference::v1::InferenceService::service_full_name()};
  absl::Status status = es::common::RunServer(*options, {&service});
  if (!status.ok()) {
    es::log::Error(status.message());
    return 1;
  }
  return 0;
}

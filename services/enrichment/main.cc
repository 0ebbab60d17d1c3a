// ethscan_enrichment: live on-chain facts for addresses.
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/config/config.h"
#include "common/config/usage.h"
#include "common/grpc/server.h"
#include "common/log/log.h"
#include "services/enrichment/enrichment_service.h"

ABSL_FLAG(std::string, listen, "", "HOST:PORT to listen on (env ETHSCAN_ENRICHMENT_LISTEN)");
ABSL_FLAG(std::string, shutdown_deadline, "10s", "Grace period for in-flight calls on SIGTERM");

int main(int argc, char** argv) {
  ethscan::common::BlockTerminationSignals();
  ethscan::config::InitUsage(
      "ethscan_enrichment [--listen=HOST:PORT] …: the enrichment service (on-chain facts of an "
      "address).");
  absl::ParseCommandLine(argc, argv);
  ethscan::log::SetComponent("enrichment");
  auto options = ethscan::common::ServerOptionsFromFlags(
      absl::GetFlag(FLAGS_listen), "ETHSCAN_ENRICHMENT_LISTEN", ethscan::config::kEnrichmentPort,
      absl::GetFlag(FLAGS_shutdown_deadline));
  if (!options.ok()) {
    ethscan::log::Error(options.status().message());
    return 2;
  }
  auto config = ethscan::enrichment::SourceConfig::FromEnv();
  if (!config.ok()) {
    ethscan::log::Error(config.status().message());
    return 2;
  }
  auto source = ethscan::enrichment::CreateChainDataSource(*config);
  if (!source.ok()) {
    ethscan::log::Error(source.status().message());
    return 1;
  }
  if (*source == nullptr) {
    ethscan::log::Warning("no chain data source configured (set ETHERSCAN_API_KEY or ETH_RPC_URL)");
  } else {
    ethscan::log::Info("chain data from ", config->Describe());
  }
  ethscan::enrichment::EnrichmentServiceImpl service(*std::move(source));
  options->readiness_services = {ethscan::enrichment::v1::EnrichmentService::service_full_name()};
  absl::Status status = ethscan::common::RunServer(*options, {&service});
  if (!status.ok()) {
    ethscan::log::Error(status.message());
    return 1;
  }
  return 0;
}

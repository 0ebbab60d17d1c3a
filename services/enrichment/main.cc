// ethscan_enrichment: live on-chain facts for addresses.
#include <functional>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/config/config.h"
#include "common/config/usage.h"
#include "common/eth/hash.h"
#include "common/grpc/server.h"
#include "common/log/log.h"
#include "common/redis/redis_client.h"
#include "common/text/quote.h"
#include "services/enrichment/enrichment_service.h"
#include "services/enrichment/shared_state.h"

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
  // Redis holds the profile cache and the key's rate budget for every replica; it may start
  // after this process or go away (the service then runs uncached, each replica keeping the
  // budget on its own).
  ethscan::redis::Options redis_options = ethscan::redis::Options::FromEnv();
  if (auto url = ethscan::redis::ParseUrl(redis_options.url); !url.ok()) {
    ethscan::log::Error(url.status().message());
    return 2;
  }
  auto redis = ethscan::redis::HiredisClient::CreateLazy(redis_options);
  if (!redis.ok()) {
    ethscan::log::Error(redis.status().message());
    return 1;
  }
  std::unique_ptr<ethscan::enrichment::RateBudget> budget;
  std::function<absl::Status(absl::Time)> acquire;
  if (!config->etherscan_api_key.empty()) {
    budget = std::make_unique<ethscan::enrichment::RateBudget>(
        redis->get(), config->etherscan_rate,
        ethscan::eth::Sha256::HexDigest(config->etherscan_api_key).substr(0, 16));
    acquire = [b = budget.get()](absl::Time deadline) { return b->Acquire(deadline); };
  }
  auto source = ethscan::enrichment::CreateChainDataSource(*config, acquire);
  if (!source.ok()) {
    ethscan::log::Error(source.status().message());
    return 1;
  }
  std::unique_ptr<ethscan::enrichment::ProfileCache> cache;
  if (*source == nullptr) {
    ethscan::log::Warning("no chain data source configured (set ETHERSCAN_API_KEY or ETH_RPC_URL)");
  } else {
    cache = std::make_unique<ethscan::enrichment::ProfileCache>(redis->get(), config->cache_ttl);
    ethscan::log::Info("chain data from ", config->Describe(), "; profiles cached for ",
                       absl::FormatDuration(config->cache_ttl), " in Redis at ",
                       ethscan::text::RedactUrl(redis_options.url));
  }
  ethscan::enrichment::EnrichmentServiceImpl service(*std::move(source), cache.get());
  options->readiness_services = {ethscan::enrichment::v1::EnrichmentService::service_full_name()};
  absl::Status status = ethscan::common::RunServer(*options, {&service});
  if (!status.ok()) {
    ethscan::log::Error(status.message());
    return 1;
  }
  return 0;
}

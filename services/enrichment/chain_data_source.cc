#include "services/enrichment/chain_data_source.h"

#include "absl/status/status.h"
#include "common/config/config.h"

namespace ethscan::enrichment {

SourceConfig SourceConfig::FromEnv() {
  SourceConfig config;
  config.etherscan_api_key = config::GetEnv("ETHERSCAN_API_KEY");
  config.etherscan_base_url =
      config::GetEnv("ETHERSCAN_BASE_URL", "https://api.etherscan.io/v2/api");
  config.eth_rpc_url = config::GetEnv("ETH_RPC_URL");
  return config;
}

absl::StatusOr<std::unique_ptr<ChainDataSource>> CreateChainDataSource(const SourceConfig& config) {
  if (!config.any()) return std::unique_ptr<ChainDataSource>();
  return absl::UnimplementedError(
      "chain data clients (Etherscan API V2, Ethereum JSON-RPC) are not in this version; unset "
      "ETHERSCAN_API_KEY and ETH_RPC_URL to run without chain data");
}

}  // namespace ethscan::enrichment

// Where the enrichment service gets live chain facts from. The Etherscan API V2 and Ethereum
// JSON-RPC clients implement ChainDataSource; with neither configured there is no source, and
// the service says so instead of answering with made-up data.
#ifndef ETHSCAN_SERVICES_ENRICHMENT_CHAIN_DATA_SOURCE_H_
#define ETHSCAN_SERVICES_ENRICHMENT_CHAIN_DATA_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/eth/address.h"
#include "ethscan/enrichment/v1/enrichment_service.pb.h"

namespace ethscan::enrichment {

// Fetches the chain profile of an address. Implementations are thread-safe.
class ChainDataSource {
 public:
  virtual ~ChainDataSource() = default;
  // UNAVAILABLE when the source cannot be reached, RESOURCE_EXHAUSTED when rate limited.
  virtual absl::StatusOr<enrichment::v1::ChainProfile> GetProfile(const eth::Address& address,
                                                                  uint64_t chain_id) = 0;
};

// Which outside systems are configured, read from the environment.
struct SourceConfig {
  // ETHERSCAN_API_KEY.
  std::string etherscan_api_key;
  // ETHERSCAN_BASE_URL, default the Etherscan V2 endpoint.
  std::string etherscan_base_url;
  // ETH_RPC_URL.
  std::string eth_rpc_url;

  static SourceConfig FromEnv();
  bool any() const { return !etherscan_api_key.empty() || !eth_rpc_url.empty(); }
};

// Builds the source the configuration asks for. Returns nullptr (no error) when nothing is
// configured. With a source configured, returns UNIMPLEMENTED until the Etherscan and JSON-RPC
// clients exist, so a misconfiguration is never silently ignored.
absl::StatusOr<std::unique_ptr<ChainDataSource>> CreateChainDataSource(const SourceConfig& config);

}  // namespace ethscan::enrichment

#endif  // ETHSCAN_SERVICES_ENRICHMENT_CHAIN_DATA_SOURCE_H_

// Where the enrichment service gets live chain facts from: the Etherscan API V2
// (etherscan_client.h) for balances, histories and contract facts, an Ethereum JSON-RPC node
// (rpc_client.h) for balance, code and nonce, or both (the node then answers what it can, and
// Etherscan the histories). With neither configured there is no source, and the service says
// so instead of answering with made-up data.
#ifndef ETHSCAN_SERVICES_ENRICHMENT_CHAIN_DATA_SOURCE_H_
#define ETHSCAN_SERVICES_ENRICHMENT_CHAIN_DATA_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eth/address.h"
#include "common/http/http_client.h"
#include "ethscan/enrichment/v1/enrichment_service.pb.h"
#include "services/enrichment/etherscan_client.h"
#include "services/enrichment/rpc_client.h"

namespace ethscan::enrichment {

// Fetches the chain profile of an address. Implementations are thread-safe.
class ChainDataSource {
 public:
  virtual ~ChainDataSource() = default;
  // UNAVAILABLE when the source cannot be reached, RESOURCE_EXHAUSTED when rate limited,
  // DEADLINE_EXCEEDED past `deadline`.
  virtual absl::StatusOr<enrichment::v1::ChainProfile> GetProfile(const eth::Address& address,
                                                                  uint64_t chain_id,
                                                                  absl::Time deadline) = 0;
};

// Which outside systems are configured, read from the environment.
struct SourceConfig {
  // ETHERSCAN_API_KEY.
  std::string etherscan_api_key;
  // ETHERSCAN_BASE_URL, default the Etherscan V2 endpoint.
  std::string etherscan_base_url;
  // ETH_RPC_URL.
  std::string eth_rpc_url;
  // ETHSCAN_ENRICHMENT_MAX_RECORDS: the most records one history fetches (default 10,000).
  uint64_t max_records = 10000;
  // ETHSCAN_ETHERSCAN_RATE: the key's calls per second, across every replica (default 3).
  double etherscan_rate = 3;
  // ETHSCAN_ENRICHMENT_CACHE_TTL: how long a profile is cached (default 10m).
  absl::Duration cache_ttl = absl::Minutes(10);

  static absl::StatusOr<SourceConfig> FromEnv();
  bool any() const { return !etherscan_api_key.empty() || !eth_rpc_url.empty(); }
  // What is configured, credentials left out ("etherscan at https://api.etherscan.io, rpc at
  // https://node.example").
  std::string Describe() const;
};

// Etherscan and/or a node behind one profile.
class LiveSource final : public ChainDataSource {
 public:
  // Either client may be null, not both; `http` is owned and outlives them.
  LiveSource(std::unique_ptr<http::Client> http, std::unique_ptr<EtherscanClient> etherscan,
             std::unique_ptr<RpcClient> rpc);

  absl::StatusOr<enrichment::v1::ChainProfile> GetProfile(const eth::Address& address,
                                                          uint64_t chain_id,
                                                          absl::Time deadline) override;

 private:
  const std::unique_ptr<http::Client> http_;
  const std::unique_ptr<EtherscanClient> etherscan_;
  const std::unique_ptr<RpcClient> rpc_;
};

// Builds the source the configuration asks for; nullptr (no error) when nothing is
// configured. `acquire`, when set, is the Etherscan rate budget every call waits on.
absl::StatusOr<std::unique_ptr<ChainDataSource>> CreateChainDataSource(
    const SourceConfig& config, std::function<absl::Status(absl::Time deadline)> acquire = nullptr);

}  // namespace ethscan::enrichment

#endif  // ETHSCAN_SERVICES_ENRICHMENT_CHAIN_DATA_SOURCE_H_

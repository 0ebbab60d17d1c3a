#include "services/enrichment/chain_data_source.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/config/config.h"
#include "common/features/schema.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "services/enrichment/history_features.h"

namespace ethscan::enrichment {
namespace {

void SetTime(int64_t unix_seconds, google::protobuf::Timestamp* out) {
  out->set_seconds(unix_seconds);
  out->set_nanos(0);
}

absl::Status CheckUrl(absl::string_view name, absl::string_view url) {
  if (absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://")) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(name, " ", text::Quote(http::Origin(url)),
                                                 " must start with http:// or https://"));
}

}  // namespace

absl::StatusOr<SourceConfig> SourceConfig::FromEnv() {
  SourceConfig config;
  config.etherscan_api_key = config::GetEnv("ETHERSCAN_API_KEY");
  config.etherscan_base_url =
      config::GetEnv("ETHERSCAN_BASE_URL", "https://api.etherscan.io/v2/api");
  config.eth_rpc_url = config::GetEnv("ETH_RPC_URL");
  if (!config.etherscan_api_key.empty()) {
    RETURN_IF_ERROR(CheckUrl("ETHERSCAN_BASE_URL", config.etherscan_base_url));
  }
  if (!config.eth_rpc_url.empty()) RETURN_IF_ERROR(CheckUrl("ETH_RPC_URL", config.eth_rpc_url));
  const std::string max = config::GetEnv("ETHSCAN_ENRICHMENT_MAX_RECORDS");
  if (!max.empty() && (!absl::SimpleAtoi(max, &config.max_records) || config.max_records == 0)) {
    return absl::InvalidArgumentError(absl::StrCat("ETHSCAN_ENRICHMENT_MAX_RECORDS ",
                                                   text::Quote(max), " must be a positive count"));
  }
  const std::string rate = config::GetEnv("ETHSCAN_ETHERSCAN_RATE");
  if (!rate.empty() && (!absl::SimpleAtod(rate, &config.etherscan_rate) ||
                        !(config.etherscan_rate > 0) || config.etherscan_rate > 1000)) {
    return absl::InvalidArgumentError(absl::StrCat("ETHSCAN_ETHERSCAN_RATE ", text::Quote(rate),
                                                   " must be calls per second in (0, 1000]"));
  }
  const std::string ttl = config::GetEnv("ETHSCAN_ENRICHMENT_CACHE_TTL");
  if (!ttl.empty()) {
    ASSIGN_OR_RETURN(config.cache_ttl,
                     config::ParseDurationFlag(ttl, "ETHSCAN_ENRICHMENT_CACHE_TTL"));
    if (config.cache_ttl <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("ETHSCAN_ENRICHMENT_CACHE_TTL must be positive");
    }
  }
  return config;
}

std::string SourceConfig::Describe() const {
  std::vector<std::string> parts;
  if (!etherscan_api_key.empty()) {
    parts.push_back(absl::StrCat("etherscan at ", http::Origin(etherscan_base_url)));
  }
  if (!eth_rpc_url.empty()) parts.push_back(absl::StrCat("rpc at ", http::Origin(eth_rpc_url)));
  return parts.empty() ? "no chain data source" : absl::StrJoin(parts, ", ");
}

LiveSource::LiveSource(std::unique_ptr<http::Client> http,
                       std::unique_ptr<EtherscanClient> etherscan, std::unique_ptr<RpcClient> rpc)
    : http_(std::move(http)), etherscan_(std::move(etherscan)), rpc_(std::move(rpc)) {}

absl::StatusOr<v1::ChainProfile> LiveSource::GetProfile(const eth::Address& address,
                                                        uint64_t chain_id, absl::Time deadline) {
  const std::string a = address.ToLowerHex();
  v1::ChainProfile p;
  p.set_address(address.ToChecksumHex());
  p.set_chain_id(chain_id);
  auto& sources = *p.mutable_fact_sources();
  std::vector<std::string> used;
  bool contract_known = false;
  if (rpc_ != nullptr) {
    ASSIGN_OR_RETURN(RpcClient::Account account, rpc_->GetAccount(a, deadline));
    p.set_balance_wei(account.balance_wei);
    p.set_nonce(account.nonce);
    const CodeKind kind = ClassifyCode(account.code);
    p.set_is_contract(kind.type == CodeKind::kContract);
    if (kind.type == CodeKind::kDelegatedEoa) p.set_delegated_to(kind.delegate);
    contract_known = true;
    sources["balance_wei"] = "rpc eth_getBalance";
    sources["nonce"] = "rpc eth_getTransactionCount";
    sources["is_contract"] = "rpc eth_getCode";
    if (kind.type == CodeKind::kDelegatedEoa) sources["delegated_to"] = "rpc eth_getCode";
    used.push_back("rpc");
  }
  if (etherscan_ != nullptr) {
    used.push_back("etherscan");
    if (rpc_ == nullptr) {
      ASSIGN_OR_RETURN(std::string balance, etherscan_->Balance(chain_id, a, deadline));
      p.set_balance_wei(balance);
      sources["balance_wei"] = "etherscan balance";
    }
    ASSIGN_OR_RETURN(History normal,
                     etherscan_->Transfers(chain_id, a, HistoryKind::kNormal, deadline));
    ASSIGN_OR_RETURN(History internal,
                     etherscan_->Transfers(chain_id, a, HistoryKind::kInternal, deadline));
    ASSIGN_OR_RETURN(History tokens,
                     etherscan_->Transfers(chain_id, a, HistoryKind::kToken, deadline));
    p.set_history_truncated(normal.truncated || internal.truncated || tokens.truncated);
    p.set_internal_transaction_count(internal.records.size());
    p.set_token_transfer_count(tokens.records.size());
    // Contract facts: the creation record says whether it is a contract when no node does.
    if (!contract_known || p.is_contract()) {
      ASSIGN_OR_RETURN(auto creations, etherscan_->Creations(chain_id, {a}, deadline));
      auto it = creations.find(a);
      if (it != creations.end()) {
        p.set_creator(it->second.creator);
        p.set_creation_tx(it->second.tx_hash);
        sources["creator"] = "etherscan getcontractcreation";
        if (!contract_known) {
          p.set_is_contract(true);
          sources["is_contract"] = "etherscan getcontractcreation";
        }
      } else if (!contract_known) {
        sources["is_contract"] = "etherscan getcontractcreation (no creation record)";
      }
    }
    if (p.is_contract()) {
      ASSIGN_OR_RETURN(SourceInfo source, etherscan_->Source(chain_id, a, deadline));
      p.set_source_verified(source.verified);
      p.set_contract_name(source.contract_name);
      p.set_compiler(source.compiler);
      p.set_proxy(source.proxy);
      p.set_implementation(source.implementation);
      sources["source_verified"] = "etherscan getsourcecode";
    }
    // Activity and features.
    uint64_t count = 0;
    int64_t first = 0, last = 0;
    absl::flat_hash_set<std::string> counterparties;
    for (const Transfer& t : normal.records) {
      if (t.from != a && t.to != a) continue;
      ++count;
      first = first == 0 ? t.time : std::min(first, t.time);
      last = std::max(last, t.time);
      const std::string& other = t.from == a ? t.to : t.from;
      if (!other.empty() && other != a) counterparties.insert(other);
    }
    p.set_transaction_count(count);
    p.set_counterparty_count(counterparties.size());
    if (first > 0) {
      SetTime(first, p.mutable_first_seen_time());
      SetTime(last, p.mutable_last_seen_time());
    }
    sources["transaction_count"] = "etherscan txlist";
    const absl::flat_hash_set<std::string> contracts =
        ContractsSeen(normal.records, tokens.records);
    for (const auto& [name, value] : TransactionFeatures(a, normal.records, contracts)) {
      (*p.mutable_features())[name] = value;
    }
    std::string most_sent, most_received;
    for (const auto& [name, value] :
         Erc20Features(a, tokens.records, contracts, &most_sent, &most_received)) {
      (*p.mutable_features())[name] = value;
    }
    p.set_most_sent_token(most_sent);
    p.set_most_received_token(most_received);
    sources["features"] = absl::StrCat("etherscan txlist and tokentx, ", features::kSchemaName);
  }
  p.set_source(absl::StrJoin(used, "+"));
  SetTime(absl::ToUnixSeconds(absl::Now()), p.mutable_fetch_time());
  return p;
}

absl::StatusOr<std::unique_ptr<ChainDataSource>> CreateChainDataSource(
    const SourceConfig& config, std::function<absl::Status(absl::Time deadline)> acquire) {
  if (!config.any()) return std::unique_ptr<ChainDataSource>();
  auto http = std::make_unique<http::CurlClient>();
  std::unique_ptr<EtherscanClient> etherscan;
  if (!config.etherscan_api_key.empty()) {
    EtherscanClient::Options o;
    o.base_url = config.etherscan_base_url;
    o.api_key = config.etherscan_api_key;
    o.max_records = config.max_records;
    o.acquire = std::move(acquire);
    etherscan = std::make_unique<EtherscanClient>(o, http.get());
  }
  std::unique_ptr<RpcClient> rpc;
  if (!config.eth_rpc_url.empty()) {
    RpcClient::Options o;
    o.url = config.eth_rpc_url;
    rpc = std::make_unique<RpcClient>(o, http.get());
  }
  return std::unique_ptr<ChainDataSource>(
      std::make_unique<LiveSource>(std::move(http), std::move(etherscan), std::move(rpc)));
}

}  // namespace ethscan::enrichment

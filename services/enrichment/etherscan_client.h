// Client of the Etherscan API V2 (https://api.etherscan.io/v2/api, or any server that speaks
// its format: ETHERSCAN_BASE_URL) over libcurl: balances, the normal, internal and ERC-20
// transfer histories, verified source and contract creation, each call with `chainid`.
//
// Etherscan's answers are an envelope {status, message, result}, and its errors arrive as
// HTTP 200 with status "0" and the reason in `result`. This client reads them as Etherscan
// means them:
//   - "No transactions found" / "No records found" / "No data found" with an empty result is
//     an empty answer, not an error;
//   - "Max calls per sec rate limit reached" (and other per-second limits) is retried with
//     backoff and jitter, then RESOURCE_EXHAUSTED; the daily limit is RESOURCE_EXHAUSTED at
//     once (no retry can help today);
//   - "Invalid API Key" / "Missing/Invalid API Key" is PERMISSION_DENIED;
//   - an unsupported chain id is INVALID_ARGUMENT;
//   - a proxy's HTML page, a 5xx, a connection reset, or a body that is not whole JSON is
//     retried, then UNAVAILABLE; a call past its deadline is DEADLINE_EXCEEDED.
// The key travels only in the query string and is redacted from every message.
//
// Histories: a list call returns at most `page_size` records (1,000 on the free tier since
// 2026-07-01) and page × offset may not pass 10,000, so a history is paged by block cursor:
// each page starts at the last block of the one before, and records seen already are
// dropped (by hash, or by the whole record for internal and token transfers, which share
// hashes). `max_records` caps one history; a history cut there says so (`truncated`).
//
// Thread-safety: thread-safe when the http::Client is.
#ifndef ETHSCAN_SERVICES_ENRICHMENT_ETHERSCAN_CLIENT_H_
#define ETHSCAN_SERVICES_ENRICHMENT_ETHERSCAN_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/time/backoff.h"

namespace ethscan::enrichment {

// One record of a history, as Etherscan lists it (addresses in lowercase, amounts as decimal
// strings in wei or token units).
struct Transfer {
  std::string hash;
  uint64_t block = 0;
  int64_t time = 0;  // Unix seconds.
  std::string from;
  std::string to;
  std::string value;
  bool is_error = false;
  // Call data of a normal transaction ("0x" for a plain transfer).
  std::string input;
  // The contract a normal transaction created, or the token contract of a token transfer.
  std::string contract_address;
  std::string token_name;
  std::string token_symbol;
  int token_decimals = 0;
};

struct History {
  // Oldest first.
  std::vector<Transfer> records;
  // True when the history was cut at max_records.
  bool truncated = false;
};

enum class HistoryKind { kNormal, kInternal, kToken };

struct SourceInfo {
  bool verified = false;
  std::string contract_name;
  std::string compiler;
  bool proxy = false;
  std::string implementation;
};

struct Creation {
  std::string creator;
  std::string tx_hash;
};

class EtherscanClient {
 public:
  struct Options {
    std::string base_url = "https://api.etherscan.io/v2/api";
    std::string api_key;
    // Tries after the first for a retryable failure.
    int max_retries = 3;
    absl::Duration initial_backoff = absl::Milliseconds(500);
    absl::Duration max_backoff = absl::Seconds(8);
    // One call's limit (cut to the caller's deadline).
    absl::Duration timeout = absl::Seconds(10);
    // Records asked per page (offset).
    int page_size = 1000;
    // The most records one history fetches.
    uint64_t max_records = 10000;
    // Waits between retries; false when cut short (CANCELLED). Empty: absl::SleepFor.
    std::function<bool(absl::Duration)> sleep;
    // Called before every request: the shared rate budget waits here or refuses (its status
    // is returned). Empty: no budget.
    std::function<absl::Status(absl::Time deadline)> acquire;
  };

  // `http` is not owned.
  EtherscanClient(Options options, http::Client* http);

  // Balance in wei (decimal).
  absl::StatusOr<std::string> Balance(uint64_t chain_id, absl::string_view address,
                                      absl::Time deadline);
  // Balances of up to any number of addresses (balancemulti, 20 per call), by lowercase
  // address.
  absl::StatusOr<std::map<std::string, std::string>> Balances(
      uint64_t chain_id, const std::vector<std::string>& addresses, absl::Time deadline);
  absl::StatusOr<History> Transfers(uint64_t chain_id, absl::string_view address, HistoryKind kind,
                                    absl::Time deadline);
  absl::StatusOr<SourceInfo> Source(uint64_t chain_id, absl::string_view address,
                                    absl::Time deadline);
  // Creation records of the contracts among `addresses` (getcontractcreation, 5 per call), by
  // lowercase address; an EOA has none.
  absl::StatusOr<std::map<std::string, Creation>> Creations(
      uint64_t chain_id, const std::vector<std::string>& addresses, absl::Time deadline);

  // The base URL without credentials, for messages.
  std::string Endpoint() const;

 private:
  // One call: the envelope's `result` as JSON text, or "" for an empty answer.
  absl::StatusOr<std::string> Call(uint64_t chain_id,
                                   const std::vector<std::pair<std::string, std::string>>& params,
                                   absl::Time deadline);
  bool Sleep(absl::Duration d) const;
  std::string Redact(absl::string_view text) const;

  const Options options_;
  http::Client* const http_;
  common::Backoff backoff_;
};

}  // namespace ethscan::enrichment

#endif  // ETHSCAN_SERVICES_ENRICHMENT_ETHERSCAN_CLIENT_H_

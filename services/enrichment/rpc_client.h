// Client of an Ethereum JSON-RPC node (ETH_RPC_URL): an account's balance, code and
// transaction count in one batched request (eth_getBalance, eth_getCode,
// eth_getTransactionCount at "latest"), and what the code says the account is.
//
// Errors: a JSON-RPC error object is FAILED_PRECONDITION with the node's code and message; an
// HTTP 429 or 5xx, a broken connection or a body that is not whole JSON is retried with
// backoff and jitter, then UNAVAILABLE (RESOURCE_EXHAUSTED for 429); past the deadline,
// DEADLINE_EXCEEDED. A URL's credentials (many node providers put the key in the path or
// the user part) are redacted from every message.
//
// Thread-safety: thread-safe when the http::Client is.
#ifndef ETHSCAN_SERVICES_ENRICHMENT_RPC_CLIENT_H_
#define ETHSCAN_SERVICES_ENRICHMENT_RPC_CLIENT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/time/backoff.h"

namespace ethscan::enrichment {

// What an account's code makes it.
struct CodeKind {
  enum Type { kEoa, kDelegatedEoa, kContract };
  Type type = kEoa;
  // kDelegatedEoa: the EIP-7702 delegate ("0x" + 40 lowercase hex digits).
  std::string delegate;
};

// Empty code ("0x") is an EOA; 0xef0100 followed by 20 bytes (23 bytes in all) is an EOA
// that delegates to that address under EIP-7702; any other code is a contract.
CodeKind ClassifyCode(absl::string_view code_hex);

// A hex quantity ("0x1bc16d674ec80000") as a decimal string ("2000000000000000000"), for any
// size (balances pass 2^64); nullopt when it is not one.
std::optional<std::string> HexQuantityToDecimal(absl::string_view hex);

class RpcClient {
 public:
  struct Options {
    std::string url;
    int max_retries = 2;
    absl::Duration initial_backoff = absl::Milliseconds(300);
    absl::Duration max_backoff = absl::Seconds(4);
    absl::Duration timeout = absl::Seconds(10);
    // Waits between retries; false when cut short. Empty: absl::SleepFor.
    std::function<bool(absl::Duration)> sleep;
  };

  struct Account {
    std::string balance_wei;  // Decimal.
    std::string code;         // Hex, "0x" when none.
    uint64_t nonce = 0;
  };

  // `http` is not owned.
  RpcClient(Options options, http::Client* http);

  absl::StatusOr<Account> GetAccount(absl::string_view address, absl::Time deadline);

  // The node's URL with its credentials redacted.
  std::string Endpoint() const;

 private:
  const Options options_;
  http::Client* const http_;
  common::Backoff backoff_;
};

}  // namespace ethscan::enrichment

#endif  // ETHSCAN_SERVICES_ENRICHMENT_RPC_CLIENT_H_

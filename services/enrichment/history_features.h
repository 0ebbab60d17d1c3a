// The behavioural features of ethscan.features.v1 (common/features/schema.h) computed from an
// account's live history, as the schema defines each one, so the classifier sees a live
// account the way it saw the training rows.
//
// What the definitions leave open is decided here, once:
//   - a normal transaction is *sent* when the account is its `from` and it has a recipient,
//     *received* when the account is its `to`, a *contract creation* when the account sent
//     it with no recipient (Etherscan then names the new contract in `contractAddress`);
//     a transaction to itself counts as sent and received;
//   - failed transactions (isError "1") moved no ether and are left out;
//   - values are in ETH (wei / 10^18) for normal transactions and in raw token units (no
//     decimals applied, summed across tokens) for token transfers, as the source has them;
//   - gaps are in minutes, the mean gap of n events (sorted by time) is
//     (last - first) / (n - 1), and 0 with fewer than two events;
//   - min/max/avg of an empty set are 0, except the "sent to contract" ETH features, which
//     are missing (absent from the map) when nothing was sent to a contract;
//   - a *contract account* is recognised from the history itself, without a call per
//     counterparty: the recipient of a transaction that carries call data, a contract the
//     account created, or a token contract; a plain transfer to a contract the history never
//     calls is not recognised (a known, documented limit);
//   - "ERC20 avg time between rec 2 tnx" is the mean gap between every second received
//     transfer (events 0, 2, 4, …).
// Text features (most sent / received token name) are returned apart, as they are no input
// of the classifier.
//
// Thread-safety: pure functions.
#ifndef ETHSCAN_SERVICES_ENRICHMENT_HISTORY_FEATURES_H_
#define ETHSCAN_SERVICES_ENRICHMENT_HISTORY_FEATURES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "services/enrichment/etherscan_client.h"

namespace ethscan::enrichment {

// The contract accounts the history shows (see above).
absl::flat_hash_set<std::string> ContractsSeen(const std::vector<Transfer>& normal,
                                               const std::vector<Transfer>& tokens);

// The 22 transaction features, by canonical name. `account` in lowercase.
std::map<std::string, double> TransactionFeatures(
    absl::string_view account, const std::vector<Transfer>& normal,
    const absl::flat_hash_set<std::string>& contracts);

// The numeric ERC-20 features, by canonical name; `most_sent` and `most_received` get the
// names of the tokens sent and received most often ("" when none).
std::map<std::string, double> Erc20Features(absl::string_view account,
                                            const std::vector<Transfer>& tokens,
                                            const absl::flat_hash_set<std::string>& contracts,
                                            std::string* most_sent, std::string* most_received);

}  // namespace ethscan::enrichment

#endif  // ETHSCAN_SERVICES_ENRICHMENT_HISTORY_FEATURES_H_

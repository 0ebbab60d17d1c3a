#include "common/features/schema.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"

namespace ethscan::features {
namespace {

// "Normal transactions" are the account's external transactions as a block explorer lists
// them (Etherscan `txlist`): `from` or `to` is the account. "Sent" means `from` is the
// account, "received" means `to` is. Values are `value` in ETH (wei / 1e18). Times are the
// blocks' timestamps. A mean, minimum or maximum over no transaction is 0, as in the source
// data, except where the source left the cell empty (then the feature is missing).
// ERC-20 features come from the account's token transfer events (Etherscan `tokentx`),
// amounts as raw token units (`value`, not divided by 10^decimals), summed across tokens.
constexpr Block kTx = Block::kTransactions;
constexpr Block kErc = Block::kErc20;
constexpr Kind kNum = Kind::kNumber;
constexpr Kind kText = Kind::kText;

const std::vector<FeatureDef>* MakeSchema() {
  return new std::vector<FeatureDef>{
      {"avg_min_between_sent_tnx", "Avg min between sent tnx", kTx, kNum, "minutes",
       "mean gap between consecutive sent normal transactions (0 with fewer than two)"},
      {"avg_min_between_received_tnx", "Avg min between received tnx", kTx, kNum, "minutes",
       "mean gap between consecutive received normal transactions (0 with fewer than two)"},
      {"time_diff_first_last_mins", "Time Diff between first and last (Mins)", kTx, kNum, "minutes",
       "time from the first to the last normal transaction, sent or received"},
      {"sent_tnx", "Sent tnx", kTx, kNum, "count", "normal transactions sent"},
      {"received_tnx", "Received Tnx", kTx, kNum, "count", "normal transactions received"},
      {"created_contracts", "Number of Created Contracts", kTx, kNum, "count",
       "contract-creation transactions sent (empty `to`, a `contractAddress` in the receipt)"},
      {"unique_received_from_addresses", "Unique Received From Addresses", kTx, kNum, "count",
       "distinct senders of the normal transactions received"},
      {"unique_sent_to_addresses", "Unique Sent To Addresses", kTx, kNum, "count",
       "distinct recipients of the normal transactions sent"},
      {"min_value_received", "min value received", kTx, kNum, "ETH",
       "smallest value of a received normal transaction"},
      {"max_value_received", "max value received", kTx, kNum, "ETH",
       "largest value of a received normal transaction"},
      {"avg_value_received", "avg val received", kTx, kNum, "ETH",
       "mean value of the received normal transactions"},
      {"min_value_sent", "min val sent", kTx, kNum, "ETH",
       "smallest value of a sent normal transaction"},
      {"max_value_sent", "max val sent", kTx, kNum, "ETH",
       "largest value of a sent normal transaction"},
      {"avg_value_sent", "avg val sent", kTx, kNum, "ETH",
       "mean value of the sent normal transactions"},
      {"min_value_sent_to_contract", "min value sent to contract", kTx, kNum, "ETH",
       "smallest value sent in a normal transaction to a contract account; missing when none"},
      {"max_value_sent_to_contract", "max val sent to contract", kTx, kNum, "ETH",
       "largest value sent in a normal transaction to a contract account; missing when none"},
      {"avg_value_sent_to_contract", "avg value sent to contract", kTx, kNum, "ETH",
       "mean value sent in normal transactions to contract accounts; missing when none"},
      {"total_transactions", "total transactions (including tnx to create contract", kTx, kNum,
       "count", "sent_tnx + received_tnx + created_contracts"},
      {"total_ether_sent", "total Ether sent", kTx, kNum, "ETH",
       "sum of the values of the sent normal transactions"},
      {"total_ether_received", "total ether received", kTx, kNum, "ETH",
       "sum of the values of the received normal transactions"},
      {"total_ether_sent_contracts", "total ether sent contracts", kTx, kNum, "ETH",
       "sum of the values sent in normal transactions to contract accounts"},
      {"total_ether_balance", "total ether balance", kTx, kNum, "ETH",
       "total_ether_received - total_ether_sent; fees and internal transactions are ignored, "
       "so it can be negative"},
      {"erc20_total_tnxs", "Total ERC20 tnxs", kErc, kNum, "count",
       "ERC-20 transfer events in which the account is sender or recipient"},
      {"erc20_total_received", "ERC20 total Ether received", kErc, kNum, "token units",
       "sum of the raw amounts of the token transfers received, across tokens (not ETH)"},
      {"erc20_total_sent", "ERC20 total ether sent", kErc, kNum, "token units",
       "sum of the raw amounts of the token transfers sent, across tokens (not ETH)"},
      {"erc20_total_sent_contract", "ERC20 total Ether sent contract", kErc, kNum, "token units",
       "sum of the raw amounts of the token transfers sent to contract accounts"},
      {"erc20_uniq_sent_addr", "ERC20 uniq sent addr", kErc, kNum, "count",
       "distinct recipients of the token transfers sent"},
      {"erc20_uniq_rec_addr", "ERC20 uniq rec addr", kErc, kNum, "count",
       "distinct senders of the token transfers received"},
      {"erc20_uniq_sent_contract_addr", "ERC20 uniq sent addr.1", kErc, kNum, "count",
       "distinct contract accounts the token transfers sent went to (the source's second "
       "\"uniq sent addr\" column)"},
      {"erc20_uniq_rec_contract_addr", "ERC20 uniq rec contract addr", kErc, kNum, "count",
       "distinct token contracts of the token transfers received"},
      {"erc20_avg_time_between_sent_tnx", "ERC20 avg time between sent tnx", kErc, kNum, "minutes",
       "mean gap between consecutive token transfers sent (0 throughout the source)"},
      {"erc20_avg_time_between_rec_tnx", "ERC20 avg time between rec tnx", kErc, kNum, "minutes",
       "mean gap between consecutive token transfers received (0 throughout the source)"},
      {"erc20_avg_time_between_rec_2_tnx", "ERC20 avg time between rec 2 tnx", kErc, kNum,
       "minutes",
       "mean gap between every second token transfer received (0 throughout the source)"},
      {"erc20_avg_time_between_contract_tnx", "ERC20 avg time between contract tnx", kErc, kNum,
       "minutes",
       "mean gap between consecutive token transfers to contracts (0 throughout the source)"},
      {"erc20_min_val_rec", "ERC20 min val rec", kErc, kNum, "token units",
       "smallest raw amount of a token transfer received"},
      {"erc20_max_val_rec", "ERC20 max val rec", kErc, kNum, "token units",
       "largest raw amount of a token transfer received"},
      {"erc20_avg_val_rec", "ERC20 avg val rec", kErc, kNum, "token units",
       "mean raw amount of the token transfers received"},
      {"erc20_min_val_sent", "ERC20 min val sent", kErc, kNum, "token units",
       "smallest raw amount of a token transfer sent"},
      {"erc20_max_val_sent", "ERC20 max val sent", kErc, kNum, "token units",
       "largest raw amount of a token transfer sent"},
      {"erc20_avg_val_sent", "ERC20 avg val sent", kErc, kNum, "token units",
       "mean raw amount of the token transfers sent"},
      {"erc20_min_val_sent_contract", "ERC20 min val sent contract", kErc, kNum, "token units",
       "smallest raw amount sent to a contract (0 throughout the source)"},
      {"erc20_max_val_sent_contract", "ERC20 max val sent contract", kErc, kNum, "token units",
       "largest raw amount sent to a contract (0 throughout the source)"},
      {"erc20_avg_val_sent_contract", "ERC20 avg val sent contract", kErc, kNum, "token units",
       "mean raw amount sent to contracts (0 throughout the source)"},
      {"erc20_uniq_sent_token_name", "ERC20 uniq sent token name", kErc, kNum, "count",
       "distinct token names among the token transfers sent"},
      {"erc20_uniq_rec_token_name", "ERC20 uniq rec token name", kErc, kNum, "count",
       "distinct token names among the token transfers received"},
      {"erc20_most_sent_token_type", "ERC20 most sent token type", kErc, kText, "text",
       "name of the token the account sent most often"},
      {"erc20_most_rec_token_type", "ERC20_most_rec_token_type", kErc, kText, "text",
       "name of the token the account received most often"},
  };
}

std::string Key(absl::string_view column) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(column));
}

const absl::flat_hash_map<std::string, size_t>& ColumnIndex() {
  static const auto* index = [] {
    auto* map = new absl::flat_hash_map<std::string, size_t>();
    const std::vector<FeatureDef>& schema = Schema();
    for (size_t i = 0; i < schema.size(); ++i) {
      map->emplace(Key(schema[i].kaggle_column), i);
      map->emplace(Key(schema[i].name), i);
    }
    // The source's missing closing parenthesis, repaired by hand in some copies.
    for (size_t i = 0; i < schema.size(); ++i) {
      if (schema[i].name == "total_transactions") {
        map->emplace(Key("total transactions (including tnx to create contract)"), i);
      }
    }
    return map;
  }();
  return *index;
}

}  // namespace

const std::vector<FeatureDef>& Schema() {
  static const std::vector<FeatureDef>* schema = MakeSchema();
  return *schema;
}

const std::vector<const FeatureDef*>& NumericFeatures() {
  static const auto* numeric = [] {
    auto* list = new std::vector<const FeatureDef*>();
    for (const FeatureDef& def : Schema()) {
      if (def.kind == Kind::kNumber) list->push_back(&def);
    }
    return list;
  }();
  return *numeric;
}

size_t NumericFeatureCount(bool erc20) {
  size_t n = 0;
  for (const FeatureDef* def : NumericFeatures()) {
    if (erc20 || def->block == Block::kTransactions) ++n;
  }
  return n;
}

std::optional<size_t> SchemaIndexOfColumn(absl::string_view column) {
  auto it = ColumnIndex().find(Key(column));
  if (it == ColumnIndex().end()) return std::nullopt;
  return it->second;
}

std::optional<size_t> NumericIndexOf(absl::string_view name) {
  const std::vector<const FeatureDef*>& numeric = NumericFeatures();
  for (size_t i = 0; i < numeric.size(); ++i) {
    if (numeric[i]->name == name) return i;
  }
  return std::nullopt;
}

}  // namespace ethscan::features

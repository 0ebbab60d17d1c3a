#include "services/enrichment/history_features.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/container/flat_hash_map.h"

namespace ethscan::enrichment {
namespace {

constexpr double kWeiPerEth = 1e18;

// A decimal amount as a double (amounts pass 2^64; a double keeps 15-16 digits, enough for
// a feature).
double Amount(const std::string& decimal) {
  if (decimal.empty()) return 0;
  char* end = nullptr;
  const double v = std::strtod(decimal.c_str(), &end);
  return end == decimal.c_str() || !std::isfinite(v) ? 0 : v;
}

struct Stats {
  double min = 0, max = 0, sum = 0;
  size_t n = 0;
  void Add(double v) {
    min = n == 0 ? v : std::min(min, v);
    max = n == 0 ? v : std::max(max, v);
    sum += v;
    ++n;
  }
  double avg() const { return n == 0 ? 0 : sum / static_cast<double>(n); }
};

// Mean gap in minutes between consecutive times (every `stride`-th one).
double MeanGapMinutes(std::vector<int64_t> times, size_t stride = 1) {
  std::sort(times.begin(), times.end());
  std::vector<int64_t> picked;
  for (size_t i = 0; i < times.size(); i += stride) picked.push_back(times[i]);
  if (picked.size() < 2) return 0;
  return static_cast<double>(picked.back() - picked.front()) / 60.0 /
         static_cast<double>(picked.size() - 1);
}

std::string MostFrequent(const absl::flat_hash_map<std::string, int>& counts) {
  std::string best;
  int best_count = 0;
  for (const auto& [name, count] : counts) {
    if (count > best_count || (count == best_count && name < best)) {
      best = name;
      best_count = count;
    }
  }
  return best;
}

bool HasCallData(const Transfer& t) { return !t.input.empty() && t.input != "0x"; }

}  // namespace

absl::flat_hash_set<std::string> ContractsSeen(const std::vector<Transfer>& normal,
                                               const std::vector<Transfer>& tokens) {
  absl::flat_hash_set<std::string> out;
  for (const Transfer& t : normal) {
    if (!t.to.empty() && HasCallData(t)) out.insert(t.to);
    if (t.to.empty() && !t.contract_address.empty()) out.insert(t.contract_address);
  }
  for (const Transfer& t : tokens) {
    if (!t.contract_address.empty()) out.insert(t.contract_address);
  }
  return out;
}

std::map<std::string, double> TransactionFeatures(
    absl::string_view account, const std::vector<Transfer>& normal,
    const absl::flat_hash_set<std::string>& contracts) {
  Stats sent, received, to_contract;
  std::vector<int64_t> sent_times, received_times, all_times;
  absl::flat_hash_set<std::string> senders, recipients;
  double created = 0;
  for (const Transfer& t : normal) {
    if (t.is_error) continue;
    const bool from_me = t.from == account;
    const bool to_me = t.to == account;
    const double eth = Amount(t.value) / kWeiPerEth;
    if (from_me && t.to.empty()) {
      ++created;
      all_times.push_back(t.time);
      continue;
    }
    if (from_me) {
      sent.Add(eth);
      sent_times.push_back(t.time);
      recipients.insert(t.to);
      if (contracts.contains(t.to)) to_contract.Add(eth);
    }
    if (to_me) {
      received.Add(eth);
      received_times.push_back(t.time);
      senders.insert(t.from);
    }
    if (from_me || to_me) all_times.push_back(t.time);
  }
  std::map<std::string, double> f;
  f["avg_min_between_sent_tnx"] = MeanGapMinutes(sent_times);
  f["avg_min_between_received_tnx"] = MeanGapMinutes(received_times);
  if (all_times.empty()) {
    f["time_diff_first_last_mins"] = 0;
  } else {
    auto [lo, hi] = std::minmax_element(all_times.begin(), all_times.end());
    f["time_diff_first_last_mins"] = static_cast<double>(*hi - *lo) / 60.0;
  }
  f["sent_tnx"] = static_cast<double>(sent.n);
  f["received_tnx"] = static_cast<double>(received.n);
  f["created_contracts"] = created;
  f["unique_received_from_addresses"] = static_cast<double>(senders.size());
  f["unique_sent_to_addresses"] = static_cast<double>(recipients.size());
  f["min_value_received"] = received.min;
  f["max_value_received"] = received.max;
  f["avg_value_received"] = received.avg();
  f["min_value_sent"] = sent.min;
  f["max_value_sent"] = sent.max;
  f["avg_value_sent"] = sent.avg();
  if (to_contract.n > 0) {
    f["min_value_sent_to_contract"] = to_contract.min;
    f["max_value_sent_to_contract"] = to_contract.max;
    f["avg_value_sent_to_contract"] = to_contract.avg();
  }
  f["total_transactions"] = static_cast<double>(sent.n + received.n) + created;
  f["total_ether_sent"] = sent.sum;
  f["total_ether_received"] = received.sum;
  f["total_ether_sent_contracts"] = to_contract.sum;
  f["total_ether_balance"] = received.sum - sent.sum;
  return f;
}

std::map<std::string, double> Erc20Features(absl::string_view account,
                                            const std::vector<Transfer>& tokens,
                                            const absl::flat_hash_set<std::string>& contracts,
                                            std::string* most_sent, std::string* most_received) {
  Stats sent, received, to_contract;
  std::vector<int64_t> sent_times, received_times, contract_times;
  absl::flat_hash_set<std::string> recipients, senders, contract_recipients, received_tokens;
  absl::flat_hash_map<std::string, int> sent_names, received_names;
  size_t total = 0;
  for (const Transfer& t : tokens) {
    const bool from_me = t.from == account;
    const bool to_me = t.to == account;
    if (!from_me && !to_me) continue;
    ++total;
    const double amount = Amount(t.value);
    if (from_me) {
      sent.Add(amount);
      sent_times.push_back(t.time);
      recipients.insert(t.to);
      ++sent_names[t.token_name];
      if (contracts.contains(t.to)) {
        to_contract.Add(amount);
        contract_times.push_back(t.time);
        contract_recipients.insert(t.to);
      }
    }
    if (to_me) {
      received.Add(amount);
      received_times.push_back(t.time);
      senders.insert(t.from);
      received_tokens.insert(t.contract_address);
      ++received_names[t.token_name];
    }
  }
  std::map<std::string, double> f;
  f["erc20_total_tnxs"] = static_cast<double>(total);
  f["erc20_total_received"] = received.sum;
  f["erc20_total_sent"] = sent.sum;
  f["erc20_total_sent_contract"] = to_contract.sum;
  f["erc20_uniq_sent_addr"] = static_cast<double>(recipients.size());
  f["erc20_uniq_rec_addr"] = static_cast<double>(senders.size());
  f["erc20_uniq_sent_contract_addr"] = static_cast<double>(contract_recipients.size());
  f["erc20_uniq_rec_contract_addr"] = static_cast<double>(received_tokens.size());
  f["erc20_avg_time_between_sent_tnx"] = MeanGapMinutes(sent_times);
  f["erc20_avg_time_between_rec_tnx"] = MeanGapMinutes(received_times);
  f["erc20_avg_time_between_rec_2_tnx"] = MeanGapMinutes(received_times, 2);
  f["erc20_avg_time_between_contract_tnx"] = MeanGapMinutes(contract_times);
  f["erc20_min_val_rec"] = received.min;
  f["erc20_max_val_rec"] = received.max;
  f["erc20_avg_val_rec"] = received.avg();
  f["erc20_min_val_sent"] = sent.min;
  f["erc20_max_val_sent"] = sent.max;
  f["erc20_avg_val_sent"] = sent.avg();
  f["erc20_min_val_sent_contract"] = to_contract.min;
  f["erc20_max_val_sent_contract"] = to_contract.max;
  f["erc20_avg_val_sent_contract"] = to_contract.avg();
  f["erc20_uniq_sent_token_name"] = static_cast<double>(sent_names.size());
  f["erc20_uniq_rec_token_name"] = static_cast<double>(received_names.size());
  if (most_sent != nullptr) *most_sent = MostFrequent(sent_names);
  if (most_received != nullptr) *most_received = MostFrequent(received_names);
  return f;
}

}  // namespace ethscan::enrichment

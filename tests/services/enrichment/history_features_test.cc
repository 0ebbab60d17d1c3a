// The features of a small recorded history, each against a value worked out by hand.
#include "services/enrichment/history_features.h"

#include <cmath>

#include "common/features/schema.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ethscan::enrichment {
namespace {

constexpr char kMe[] = "0x00000000000000000000000000000000000000aa";
constexpr char kBob[] = "0x00000000000000000000000000000000000000b0";
constexpr char kCarol[] = "0x00000000000000000000000000000000000000c0";
constexpr char kDex[] = "0x00000000000000000000000000000000000000d0";
constexpr char kMade[] = "0x00000000000000000000000000000000000000e0";
constexpr char kToken[] = "0x00000000000000000000000000000000000000f0";

Transfer Tx(const char* from, const char* to, const char* wei, int64_t minute,
            const char* input = "0x") {
  Transfer t;
  t.hash = "0x" + std::to_string(minute);
  t.from = from;
  t.to = to;
  t.value = wei;
  t.time = 1600000000 + minute * 60;
  t.input = input;
  return t;
}

// Received 1 ETH from Bob at minute 0 and 3 ETH from Carol at minute 30; sent 0.5 ETH to Bob
// at minute 10 and 2 ETH with call data to the DEX at minute 70; created a contract at
// minute 100; one failed send at minute 50 that moved nothing.
std::vector<Transfer> History() {
  std::vector<Transfer> h = {
      Tx(kBob, kMe, "1000000000000000000", 0),
      Tx(kMe, kBob, "500000000000000000", 10),
      Tx(kCarol, kMe, "3000000000000000000", 30),
      Tx(kMe, kDex, "2000000000000000000", 70, "0xa9059cbb"),
      Tx(kMe, "", "0", 100, "0x6080"),
  };
  h.back().contract_address = kMade;
  Transfer failed = Tx(kMe, kCarol, "9000000000000000000", 50);
  failed.is_error = true;
  h.push_back(failed);
  return h;
}

TEST(HistoryFeaturesTest, TransactionFeaturesFollowTheirDefinitions) {
  const std::vector<Transfer> h = History();
  const auto contracts = ContractsSeen(h, {});
  EXPECT_TRUE(contracts.contains(kDex));
  EXPECT_TRUE(contracts.contains(kMade));
  EXPECT_FALSE(contracts.contains(kBob));
  std::map<std::string, double> f = TransactionFeatures(kMe, h, contracts);
  EXPECT_DOUBLE_EQ(f["sent_tnx"], 2);
  EXPECT_DOUBLE_EQ(f["received_tnx"], 2);
  EXPECT_DOUBLE_EQ(f["created_contracts"], 1);
  EXPECT_DOUBLE_EQ(f["total_transactions"], 5);
  EXPECT_DOUBLE_EQ(f["avg_min_between_sent_tnx"], 60);      // minutes 10 and 70
  EXPECT_DOUBLE_EQ(f["avg_min_between_received_tnx"], 30);  // minutes 0 and 30
  EXPECT_DOUBLE_EQ(f["time_diff_first_last_mins"], 100);    // minutes 0 to 100
  EXPECT_DOUBLE_EQ(f["unique_received_from_addresses"], 2);
  EXPECT_DOUBLE_EQ(f["unique_sent_to_addresses"], 2);
  EXPECT_DOUBLE_EQ(f["min_value_received"], 1);
  EXPECT_DOUBLE_EQ(f["max_value_received"], 3);
  EXPECT_DOUBLE_EQ(f["avg_value_received"], 2);
  EXPECT_DOUBLE_EQ(f["min_value_sent"], 0.5);
  EXPECT_DOUBLE_EQ(f["max_value_sent"], 2);
  EXPECT_DOUBLE_EQ(f["avg_value_sent"], 1.25);
  EXPECT_DOUBLE_EQ(f["min_value_sent_to_contract"], 2);
  EXPECT_DOUBLE_EQ(f["max_value_sent_to_contract"], 2);
  EXPECT_DOUBLE_EQ(f["avg_value_sent_to_contract"], 2);
  EXPECT_DOUBLE_EQ(f["total_ether_sent"], 2.5);
  EXPECT_DOUBLE_EQ(f["total_ether_received"], 4);
  EXPECT_DOUBLE_EQ(f["total_ether_sent_contracts"], 2);
  EXPECT_DOUBLE_EQ(f["total_ether_balance"], 1.5);
  // Every transaction feature of the schema, and only those, is there.
  size_t tx_features = 0;
  for (const features::FeatureDef& d : features::Schema()) {
    if (d.block != features::Block::kTransactions) continue;
    ++tx_features;
    EXPECT_EQ(f.count(std::string(d.name)), 1u) << d.name;
  }
  EXPECT_EQ(f.size(), tx_features);
}

TEST(HistoryFeaturesTest, NothingSentToAContractLeavesThoseFeaturesMissing) {
  std::vector<Transfer> h = {Tx(kBob, kMe, "1000000000000000000", 0)};
  std::map<std::string, double> f = TransactionFeatures(kMe, h, ContractsSeen(h, {}));
  EXPECT_EQ(f.count("min_value_sent_to_contract"), 0u);
  EXPECT_EQ(f.count("avg_value_sent_to_contract"), 0u);
  EXPECT_DOUBLE_EQ(f["total_ether_sent_contracts"], 0);
  EXPECT_DOUBLE_EQ(f["avg_min_between_received_tnx"], 0);  // one event: no gap
  EXPECT_DOUBLE_EQ(f["min_value_sent"], 0);
  std::map<std::string, double> empty = TransactionFeatures(kMe, {}, {});
  EXPECT_DOUBLE_EQ(empty["time_diff_first_last_mins"], 0);
  EXPECT_DOUBLE_EQ(empty["total_transactions"], 0);
}

Transfer Token(const char* from, const char* to, const char* amount, int64_t minute,
               const char* name) {
  Transfer t = Tx(from, to, amount, minute);
  t.contract_address = kToken;
  t.token_name = name;
  return t;
}

TEST(HistoryFeaturesTest, Erc20FeaturesFollowTheirDefinitions) {
  std::vector<Transfer> tokens = {
      Token(kBob, kMe, "100", 0, "Tether"), Token(kCarol, kMe, "300", 20, "Tether"),
      Token(kBob, kMe, "50", 60, "Dai"),    Token(kMe, kDex, "200", 80, "Tether"),
      Token(kMe, kBob, "10", 90, "Dai"),    Token(kMe, kBob, "30", 120, "Dai"),
      Token(kCarol, kBob, "999", 5, "Dai"),  // not the account's
  };
  const auto contracts = ContractsSeen({Tx(kMe, kDex, "0", 1, "0x12")}, tokens);
  std::string most_sent, most_received;
  std::map<std::string, double> f =
      Erc20Features(kMe, tokens, contracts, &most_sent, &most_received);
  EXPECT_DOUBLE_EQ(f["erc20_total_tnxs"], 6);
  EXPECT_DOUBLE_EQ(f["erc20_total_received"], 450);
  EXPECT_DOUBLE_EQ(f["erc20_total_sent"], 240);
  EXPECT_DOUBLE_EQ(f["erc20_total_sent_contract"], 200);
  EXPECT_DOUBLE_EQ(f["erc20_uniq_sent_addr"], 2);
  EXPECT_DOUBLE_EQ(f["erc20_uniq_rec_addr"], 2);
  EXPECT_DOUBLE_EQ(f["erc20_uniq_sent_contract_addr"], 1);
  EXPECT_DOUBLE_EQ(f["erc20_uniq_rec_contract_addr"], 1);
  EXPECT_DOUBLE_EQ(f["erc20_avg_time_between_sent_tnx"], 20);     // 80, 90, 120
  EXPECT_DOUBLE_EQ(f["erc20_avg_time_between_rec_tnx"], 30);      // 0, 20, 60
  EXPECT_DOUBLE_EQ(f["erc20_avg_time_between_rec_2_tnx"], 60);    // 0 and 60
  EXPECT_DOUBLE_EQ(f["erc20_avg_time_between_contract_tnx"], 0);  // one
  EXPECT_DOUBLE_EQ(f["erc20_min_val_rec"], 50);
  EXPECT_DOUBLE_EQ(f["erc20_max_val_rec"], 300);
  EXPECT_DOUBLE_EQ(f["erc20_avg_val_rec"], 150);
  EXPECT_DOUBLE_EQ(f["erc20_min_val_sent"], 10);
  EXPECT_DOUBLE_EQ(f["erc20_max_val_sent"], 200);
  EXPECT_DOUBLE_EQ(f["erc20_avg_val_sent"], 80);
  EXPECT_DOUBLE_EQ(f["erc20_min_val_sent_contract"], 200);
  EXPECT_DOUBLE_EQ(f["erc20_uniq_sent_token_name"], 2);
  EXPECT_DOUBLE_EQ(f["erc20_uniq_rec_token_name"], 2);
  EXPECT_EQ(most_sent, "Dai");
  EXPECT_EQ(most_received, "Tether");
  size_t numeric = 0;
  for (const features::FeatureDef& d : features::Schema()) {
    if (d.block != features::Block::kErc20 || d.kind != features::Kind::kNumber) continue;
    ++numeric;
    EXPECT_EQ(f.count(std::string(d.name)), 1u) << d.name;
  }
  EXPECT_EQ(f.size(), numeric);
}

}  // namespace
}  // namespace ethscan::enrichment

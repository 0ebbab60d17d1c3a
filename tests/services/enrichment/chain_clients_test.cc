// The Etherscan API V2 and JSON-RPC clients, and the live source over them, against the fake
// chain (tests/fakes/fake_chain.py) on loopback: the documented answers and every error
// Etherscan really sends (rate limits as HTTP 200, the daily limit, a bad key, an
// unsupported chain, empty histories, proxy HTML pages, cut or malformed JSON, resets, slow
// answers), histories past the 1,000-record cap, and EIP-7702 delegations.
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/enrichment/chain_data_source.h"
#include "services/enrichment/etherscan_client.h"
#include "services/enrichment/rpc_client.h"
#include "tests/testing/python_fake.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::enrichment {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "etherscan-KEY-0123456789";

class ChainClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_ = absl::StrCat(dir_, "/fixture.json");
    ASSERT_OK(::ethscan::testing::RunPythonScript("fake_chain.py", {"--make-fixture", fixture_}));
    roles_ = nlohmann::json::parse(::ethscan::testing::ReadWholeFile(fixture_))["roles"];
  }
  void TearDown() override {
    fake_.process.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartFake(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--fixture", fixture_, "--api-key", kKey};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_OK_AND_ASSIGN(fake_,
                         ::ethscan::testing::StartPythonFake("fake_chain.py", args, dir_, "chain"));
  }

  std::unique_ptr<EtherscanClient> Etherscan(std::string key = kKey, uint64_t max_records = 10000) {
    EtherscanClient::Options o;
    o.base_url = absl::StrCat("http://127.0.0.1:", fake_.port, "/v2/api");
    o.api_key = key;
    o.max_records = max_records;
    o.sleep = [this](absl::Duration d) {
      waits_.push_back(d);
      return true;
    };
    return std::make_unique<EtherscanClient>(o, &http_);
  }

  std::unique_ptr<RpcClient> Rpc() {
    RpcClient::Options o;
    o.url = absl::StrCat("http://127.0.0.1:", fake_.port, "/rpc");
    o.sleep = [this](absl::Duration d) {
      waits_.push_back(d);
      return true;
    };
    return std::make_unique<RpcClient>(o, &http_);
  }

  nlohmann::json State() {
    absl::StatusOr<nlohmann::json> state = ::ethscan::testing::FakeState(fake_.port);
    EXPECT_THAT(state.status(), IsOk());
    return state.ok() ? *state : nlohmann::json::object();
  }

  static absl::Time Soon() { return absl::Now() + absl::Seconds(20); }
  std::string Role(const char* name) { return roles_[name].get<std::string>(); }

  std::string dir_ = ::ethscan::testing::MakeTempDir("chain-clients");
  std::string fixture_;
  nlohmann::json roles_;
  ::ethscan::testing::PythonFake fake_;
  http::CurlClient http_;
  std::vector<absl::Duration> waits_;
};

TEST_F(ChainClientsTest, PagesAHistoryPastTheRecordCapByBlockCursor) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  std::unique_ptr<EtherscanClient> client = Etherscan();
  ASSERT_OK_AND_ASSIGN(History h, client->Transfers(1, Role("busy"), HistoryKind::kNormal, Soon()));
  EXPECT_EQ(h.records.size(), 2500u);
  EXPECT_FALSE(h.truncated);
  std::set<std::string> hashes;
  for (const Transfer& t : h.records) hashes.insert(t.hash);
  EXPECT_EQ(hashes.size(), 2500u);
  for (size_t i = 1; i < h.records.size(); ++i) {
    ASSERT_LE(h.records[i - 1].block, h.records[i].block);
  }
  // The ceiling cuts it, and says so.
  ASSERT_OK_AND_ASSIGN(
      History cut, Etherscan(kKey, 1500)->Transfers(1, Role("busy"), HistoryKind::kNormal, Soon()));
  EXPECT_EQ(cut.records.size(), 1500u);
  EXPECT_TRUE(cut.truncated);
}

TEST_F(ChainClientsTest, AnEmptyHistoryIsNoError) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  ASSERT_OK_AND_ASSIGN(History h,
                       Etherscan()->Transfers(1, Role("delegated"), HistoryKind::kToken, Soon()));
  EXPECT_TRUE(h.records.empty());
  ASSERT_OK_AND_ASSIGN(auto creations, Etherscan()->Creations(1, {Role("delegated")}, Soon()));
  EXPECT_TRUE(creations.empty());
}

TEST_F(ChainClientsTest, ReadsContractFacts) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  std::unique_ptr<EtherscanClient> client = Etherscan();
  ASSERT_OK_AND_ASSIGN(SourceInfo source, client->Source(1, Role("contract"), Soon()));
  EXPECT_TRUE(source.verified);
  EXPECT_EQ(source.contract_name, "FakeToken");
  ASSERT_OK_AND_ASSIGN(auto creations, client->Creations(1, {Role("contract")}, Soon()));
  EXPECT_EQ(creations.at(Role("contract")).creator, Role("creator"));
  ASSERT_OK_AND_ASSIGN(SourceInfo eoa, client->Source(1, Role("busy"), Soon()));
  EXPECT_FALSE(eoa.verified);
  std::vector<std::string> eoas;
  for (const auto& e : roles_["eoas"]) eoas.push_back(e.get<std::string>());
  ASSERT_OK_AND_ASSIGN(auto balances, client->Balances(1, eoas, Soon()));
  EXPECT_EQ(balances.size(), eoas.size());
}

TEST_F(ChainClientsTest, RetriesARateLimitSentAsHttp200ThenSucceeds) {
  ASSERT_NO_FATAL_FAILURE(StartFake({"--fail", "ratelimit:2"}));
  EXPECT_THAT(Etherscan()->Balance(1, Role("busy"), Soon()), IsOk());
  EXPECT_EQ(waits_.size(), 2u);
}

TEST_F(ChainClientsTest, APersistentRateLimitIsResourceExhausted) {
  ASSERT_NO_FATAL_FAILURE(StartFake({"--fail", "ratelimit:10"}));
  EXPECT_THAT(Etherscan()->Balance(1, Role("busy"), Soon()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("Max calls per sec"), HasSubstr("(after 4 tries)"))));
}

TEST_F(ChainClientsTest, TheDailyLimitIsNotRetried) {
  ASSERT_NO_FATAL_FAILURE(StartFake({"--fail", "daily:5"}));
  EXPECT_THAT(Etherscan()->Balance(1, Role("busy"), Soon()),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("daily limit")));
  EXPECT_TRUE(waits_.empty());
}

TEST_F(ChainClientsTest, ABadKeyIsPermissionDeniedAndNeverQuoted) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  const std::string wrong = "WRONG-key-987654321";
  absl::StatusOr<std::string> balance = Etherscan(wrong)->Balance(1, Role("busy"), Soon());
  EXPECT_THAT(balance, StatusIs(absl::StatusCode::kPermissionDenied,
                                AllOf(HasSubstr("Invalid API Key"), Not(HasSubstr(wrong)))));
  EXPECT_TRUE(waits_.empty());
}

TEST_F(ChainClientsTest, AnUnsupportedChainIsInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  EXPECT_THAT(Etherscan()->Balance(424242, Role("busy"), Soon()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("chain id")));
}

TEST_F(ChainClientsTest, BrokenAnswersAreRetried) {
  for (const char* mode : {"html502", "truncated", "malformed", "reset"}) {
    SCOPED_TRACE(mode);
    ASSERT_NO_FATAL_FAILURE(StartFake({"--fail", absl::StrCat(mode, ":1")}));
    waits_.clear();
    EXPECT_THAT(Etherscan()->Transfers(1, Role("contract"), HistoryKind::kNormal, Soon()), IsOk());
    EXPECT_EQ(waits_.size(), 1u);
    fake_.process.reset();
  }
  ASSERT_NO_FATAL_FAILURE(StartFake({"--fail", "html502:10"}));
  EXPECT_THAT(Etherscan()->Balance(1, Role("busy"), Soon()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("an HTML page")));
}

TEST_F(ChainClientsTest, ASlowAnswerEndsAtTheDeadline) {
  ASSERT_NO_FATAL_FAILURE(StartFake({"--fail", "slow:5", "--delay-seconds", "5"}));
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> balance =
      Etherscan()->Balance(1, Role("busy"), absl::Now() + absl::Milliseconds(700));
  EXPECT_THAT(balance, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(ChainClientsTest, RpcTellsEoasDelegationsAndContractsApart) {
  ASSERT_NO_FATAL_FAILURE(StartFake({"--fail", "rpc500:1"}));
  std::unique_ptr<RpcClient> rpc = Rpc();
  ASSERT_OK_AND_ASSIGN(RpcClient::Account delegated, rpc->GetAccount(Role("delegated"), Soon()));
  EXPECT_EQ(waits_.size(), 1u);  // The 500 was retried.
  CodeKind kind = ClassifyCode(delegated.code);
  EXPECT_EQ(kind.type, CodeKind::kDelegatedEoa);
  EXPECT_EQ(kind.delegate, Role("contract"));
  ASSERT_OK_AND_ASSIGN(RpcClient::Account contract, rpc->GetAccount(Role("contract"), Soon()));
  EXPECT_EQ(ClassifyCode(contract.code).type, CodeKind::kContract);
  ASSERT_OK_AND_ASSIGN(RpcClient::Account eoa, rpc->GetAccount(Role("busy"), Soon()));
  EXPECT_EQ(ClassifyCode(eoa.code).type, CodeKind::kEoa);
  EXPECT_FALSE(eoa.balance_wei.empty());
  EXPECT_EQ(State()["rpc_batches"], 3);
}

TEST(HexQuantityTest, ConvertsBeyondSixtyFourBits) {
  EXPECT_EQ(HexQuantityToDecimal("0x0"), "0");
  EXPECT_EQ(HexQuantityToDecimal("0x1bc16d674ec80000"), "2000000000000000000");
  EXPECT_EQ(HexQuantityToDecimal("0x10000000000000000"), "18446744073709551616");
  EXPECT_EQ(HexQuantityToDecimal("12"), std::nullopt);
  EXPECT_EQ(HexQuantityToDecimal("0xzz"), std::nullopt);
}

TEST(ClassifyCodeTest, OnlyTheExactDelegationDesignatorIsAnEoa) {
  EXPECT_EQ(ClassifyCode("0x").type, CodeKind::kEoa);
  EXPECT_EQ(ClassifyCode("").type, CodeKind::kEoa);
  const std::string delegate(40, 'a');
  EXPECT_EQ(ClassifyCode("0xef0100" + delegate).type, CodeKind::kDelegatedEoa);
  EXPECT_EQ(ClassifyCode("0xef0100" + delegate + "00").type, CodeKind::kContract);
  EXPECT_EQ(ClassifyCode("0x6080604052").type, CodeKind::kContract);
}

TEST_F(ChainClientsTest, TheLiveSourceBuildsAProfileWithFeaturesAndSources) {
  ASSERT_NO_FATAL_FAILURE(StartFake());
  SourceConfig config;
  config.etherscan_api_key = kKey;
  config.etherscan_base_url = absl::StrCat("http://127.0.0.1:", fake_.port, "/v2/api");
  config.eth_rpc_url = absl::StrCat("http://127.0.0.1:", fake_.port, "/rpc");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainDataSource> source, CreateChainDataSource(config));
  ASSERT_OK_AND_ASSIGN(eth::Address contract, eth::Address::Parse(Role("contract")));
  ASSERT_OK_AND_ASSIGN(v1::ChainProfile p, source->GetProfile(contract, 1, Soon()));
  EXPECT_EQ(p.source(), "rpc+etherscan");
  EXPECT_TRUE(p.is_contract());
  EXPECT_TRUE(p.source_verified());
  EXPECT_EQ(p.contract_name(), "FakeToken");
  EXPECT_EQ(p.creator(), Role("creator"));
  EXPECT_EQ(p.fact_sources().at("is_contract"), "rpc eth_getCode");
  EXPECT_GT(p.transaction_count(), 0u);
  EXPECT_EQ(p.features().count("sent_tnx") + p.features().count("received_tnx"), 2u);

  ASSERT_OK_AND_ASSIGN(eth::Address delegated, eth::Address::Parse(Role("delegated")));
  ASSERT_OK_AND_ASSIGN(v1::ChainProfile d, source->GetProfile(delegated, 1, Soon()));
  EXPECT_FALSE(d.is_contract());
  EXPECT_EQ(d.delegated_to(), Role("contract"));

  ASSERT_OK_AND_ASSIGN(eth::Address eoa, eth::Address::Parse(roles_["eoas"][0].get<std::string>()));
  ASSERT_OK_AND_ASSIGN(v1::ChainProfile e, source->GetProfile(eoa, 1, Soon()));
  EXPECT_GT(e.token_transfer_count(), 0u);
  EXPECT_EQ(e.features().count("erc20_total_tnxs"), 1u);
  EXPECT_GT(e.features().at("erc20_total_tnxs"), 0);
  EXPECT_FALSE(e.history_truncated());
}

}  // namespace
}  // namespace ethscan::enrichment

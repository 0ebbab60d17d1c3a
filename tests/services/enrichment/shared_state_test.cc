// The profile cache, the shared rate budget and the coalescing of calls, against a real
// redis-server on a free loopback port.
#include "services/enrichment/shared_state.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/enrichment/enrichment_service.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::enrichment {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::RedisServer;
using ::ethscan::testing::StatusIs;

constexpr char kAddress[] = "0x52908400098527886e0f7030069857d2e4169ee7";

class SharedStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, RedisServer::Start());
    redis::Options options;
    options.url = server_->url();
    ASSERT_OK_AND_ASSIGN(redis_, redis::HiredisClient::Create(options));
  }
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<redis::HiredisClient> redis_;
};

v1::ChainProfile Profile(absl::Time fetched) {
  v1::ChainProfile p;
  p.set_address(kAddress);
  p.set_balance_wei("7");
  p.mutable_fetch_time()->set_seconds(absl::ToUnixSeconds(fetched));
  return p;
}

TEST_F(SharedStateTest, TheCacheServesFactsYoungEnoughAndSaysTheirAge) {
  ProfileCache cache(redis_.get(), absl::Minutes(10));
  ASSERT_THAT(cache.Put(1, kAddress, Profile(absl::Now() - absl::Seconds(90))), IsOk());
  ASSERT_OK_AND_ASSIGN(auto hit, cache.Get(1, kAddress, absl::Minutes(5)));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->balance_wei(), "7");
  EXPECT_GE(hit->age_seconds(), 89);
  EXPECT_LE(hit->age_seconds(), 95);
  ASSERT_OK_AND_ASSIGN(auto stale, cache.Get(1, kAddress, absl::Seconds(60)));
  EXPECT_FALSE(stale.has_value());
  ASSERT_OK_AND_ASSIGN(auto other_chain, cache.Get(5, kAddress, absl::Minutes(5)));
  EXPECT_FALSE(other_chain.has_value());
  // Another replica finds it in Redis.
  ProfileCache replica(redis_.get(), absl::Minutes(10));
  ASSERT_OK_AND_ASSIGN(auto shared, replica.Get(1, kAddress, absl::Minutes(5)));
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(shared->balance_wei(), "7");
}

TEST_F(SharedStateTest, TwoReplicasShareOneBudget) {
  // 20 calls a second between two replicas: 40 calls take at least 1.95 s, and no second
  // holds more than 21 of them.
  RateBudget a(redis_.get(), 20, "k");
  RateBudget b(redis_.get(), 20, "k");
  absl::Mutex mu;
  std::vector<absl::Time> times;
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      RateBudget& budget = t % 2 == 0 ? a : b;
      for (int i = 0; i < 10; ++i) {
        ASSERT_THAT(budget.Acquire(absl::Now() + absl::Seconds(30)), IsOk());
        absl::MutexLock lock(&mu);
        times.push_back(absl::Now());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1900));
  std::sort(times.begin(), times.end());
  for (size_t i = 0; i + 21 < times.size(); ++i) {
    EXPECT_GE(times[i + 21] - times[i], absl::Seconds(1)) << "calls " << i << " to " << i + 21;
  }
}

TEST_F(SharedStateTest, ASlotPastTheDeadlineIsRefusedAndNotTaken) {
  RateBudget budget(redis_.get(), 2, "slow");
  ASSERT_THAT(budget.Acquire(absl::Now() + absl::Seconds(5)), IsOk());
  // The next slot is 0.5 s away.
  EXPECT_THAT(budget.Acquire(absl::Now() + absl::Milliseconds(100)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  const absl::Time before = absl::Now();
  ASSERT_THAT(budget.Acquire(absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_LE(absl::Now() - before, absl::Milliseconds(600));  // The refused call took nothing.
}

TEST_F(SharedStateTest, WithRedisAwayEachReplicaKeepsTheBudgetItself) {
  RateBudget budget(redis_.get(), 10, "gone");
  server_.reset();
  const absl::Time start = absl::Now();
  for (int i = 0; i < 6; ++i) ASSERT_THAT(budget.Acquire(absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(450));
}

// A slow source that counts its calls.
class SlowSource : public ChainDataSource {
 public:
  absl::StatusOr<v1::ChainProfile> GetProfile(const eth::Address& address, uint64_t chain_id,
                                              absl::Time deadline) override {
    ++calls;
    absl::SleepFor(absl::Milliseconds(200));
    return Profile(absl::Now());
  }
  std::atomic<int> calls{0};
};

TEST_F(SharedStateTest, CallsForOneAddressShareOneFetchAndThenTheCache) {
  ProfileCache cache(redis_.get(), absl::Minutes(10));
  auto source = std::make_unique<SlowSource>();
  SlowSource* raw = source.get();
  EnrichmentServiceImpl service(std::move(source), &cache);
  v1::GetProfileRequest request;
  request.set_address(kAddress);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      if (service.Profile(request, absl::Now() + absl::Seconds(5)).ok()) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok, 6);
  EXPECT_EQ(raw->calls, 1);
  ASSERT_OK_AND_ASSIGN(v1::GetProfileResponse cached,
                       service.Profile(request, absl::Now() + absl::Seconds(5)));
  EXPECT_EQ(raw->calls, 1);
  EXPECT_EQ(cached.profile().balance_wei(), "7");
  // Redis gone: the hot address comes from the process's copy; another one from the source,
  // uncached.
  server_.reset();
  ASSERT_THAT(service.Profile(request, absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_EQ(raw->calls, 1);
  request.set_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
  ASSERT_THAT(service.Profile(request, absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_EQ(raw->calls, 2);
}

}  // namespace
}  // namespace ethscan::enrichment

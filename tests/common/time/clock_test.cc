#include "common/time/clock.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace ethscan::common {
namespace {

TEST(FakeClockTest, MovesOnlyWhenTold) {
  FakeClock clock(absl::FromUnixSeconds(100));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(100));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(100));
  clock.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(clock.Now(), absl::FromUnixMillis(101500));
  clock.Set(absl::FromUnixSeconds(7));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(7));
}

TEST(SystemClockTest, IsTheRealTimeAndOneInstance) {
  absl::Time before = absl::Now();
  absl::Time now = SystemClock::Get().Now();
  EXPECT_LE(before, now);
  EXPECT_LE(now, absl::Now());
  EXPECT_EQ(&SystemClock::Get(), &SystemClock::Get());
}

}  // namespace
}  // namespace ethscan::common

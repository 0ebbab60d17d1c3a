#include "common/time/backoff.h"

#include "gtest/gtest.h"

namespace ethscan::common {
namespace {

TEST(BackoffTest, DoublesUpToTheCapAndDrawsFromTheUpperHalf) {
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(1));
  for (int i = 0; i < 200; ++i) {
    const absl::Duration first = backoff.Delay(0);
    EXPECT_GE(first, absl::Milliseconds(50));
    EXPECT_LE(first, absl::Milliseconds(100));
    const absl::Duration third = backoff.Delay(2);
    EXPECT_GE(third, absl::Milliseconds(200));
    EXPECT_LE(third, absl::Milliseconds(400));
    const absl::Duration capped = backoff.Delay(40);
    EXPECT_GE(capped, absl::Milliseconds(500));
    EXPECT_LE(capped, absl::Seconds(1));
  }
}

TEST(BackoffTest, Jitters) {
  Backoff backoff(absl::Seconds(1), absl::Seconds(1));
  EXPECT_NE(backoff.Delay(0), backoff.Delay(0));
}

}  // namespace
}  // namespace ethscan::common

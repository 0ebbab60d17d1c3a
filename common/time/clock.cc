#include "common/time/clock.h"

#include "absl/time/clock.h"

namespace ethscan::common {

absl::Time SystemClock::Now() const { return absl::Now(); }

Clock& SystemClock::Get() {
  static SystemClock* clock = new SystemClock();
  return *clock;
}

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeClock::Advance(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  now_ += d;
}

void FakeClock::Set(absl::Time t) {
  absl::MutexLock lock(&mu_);
  now_ = t;
}

}  // namespace ethscan::common

// Exponential backoff with jitter, as every retry loop here waits: the wait before retry
// `attempt` (0 for the first retry) is drawn at random from the upper half of
// min(initial × 2^attempt, max), so that callers that failed together spread out.
//
// Thread-safety: thread-safe.
#ifndef ETHSCAN_COMMON_TIME_BACKOFF_H_
#define ETHSCAN_COMMON_TIME_BACKOFF_H_

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ethscan::common {

class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max) : initial_(initial), max_(max) {}

  absl::Duration Delay(int attempt);

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  absl::Mutex mu_;
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ethscan::common

#endif  // ETHSCAN_COMMON_TIME_BACKOFF_H_

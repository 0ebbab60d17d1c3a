#include "common/time/backoff.h"

#include <algorithm>

namespace ethscan::common {

absl::Duration Backoff::Delay(int attempt) {
  absl::Duration ceiling = initial_;
  for (int i = 0; i < attempt && ceiling < max_; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max_);
  absl::MutexLock lock(&mu_);
  return ceiling * absl::Uniform(random_, 0.5, 1.0);
}

}  // namespace ethscan::common

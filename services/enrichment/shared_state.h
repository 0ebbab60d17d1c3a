// What every enrichment replica shares through Redis: the profile cache and the Etherscan
// key's rate budget.
//
// Cache: a profile is stored under "ethscan:enrichment:profile:<chain>:<address>" for `ttl`;
// a caller may ask for fresher facts (GetProfileRequest.max_age_seconds), and the profile
// served says how old it is (age_seconds). Hot profiles are also kept in the process.
//
// Rate budget: the key's calls per second are spaced evenly across every replica (5 % wider
// than the rate, for jitter) by a generic cell rate algorithm in one Lua script
// ("ethscan:enrichment:budget:<hash of the key>" holds the time the next call may go, from
// Redis's own clock): Acquire reserves the next slot and sleeps until it, or, when that slot
// is past the caller's deadline, reserves nothing and answers RESOURCE_EXHAUSTED. Should
// Redis be away, each replica spaces its own
// calls at the full rate (and says so in a warning): the budget then holds per replica only.
//
// Thread-safety: thread-safe.
#ifndef ETHSCAN_SERVICES_ENRICHMENT_SHARED_STATE_H_
#define ETHSCAN_SERVICES_ENRICHMENT_SHARED_STATE_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/redis_client.h"
#include "ethscan/enrichment/v1/enrichment_service.pb.h"

namespace ethscan::enrichment {

class ProfileCache {
 public:
  // `redis` is not owned. Up to `local_entries` profiles are also kept in this process, in
  // front of Redis, so that a hot address is served without a round trip (the same facts
  // Redis holds: a profile never changes once fetched, only a newer one replaces it).
  ProfileCache(redis::Client* redis, absl::Duration ttl, size_t local_entries = 10000)
      : redis_(redis), ttl_(ttl), local_entries_(local_entries) {}

  // The cached profile of `address` (lowercase) on `chain_id` when it is at most `max_age`
  // old, its age_seconds set; nullopt otherwise. UNAVAILABLE when Redis is away.
  absl::StatusOr<std::optional<v1::ChainProfile>> Get(uint64_t chain_id, absl::string_view address,
                                                      absl::Duration max_age);
  absl::Status Put(uint64_t chain_id, absl::string_view address, const v1::ChainProfile& profile);

  absl::Duration ttl() const { return ttl_; }

 private:
  // The local copy of `key`'s profile if it is at most `max_age` old.
  std::optional<v1::ChainProfile> Local(const std::string& key, absl::Duration max_age);
  void KeepLocally(const std::string& key, const v1::ChainProfile& profile);

  redis::Client* const redis_;
  const absl::Duration ttl_;
  const size_t local_entries_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, v1::ChainProfile> local_ ABSL_GUARDED_BY(mu_);
};

class RateBudget {
 public:
  // `redis` is not owned; `calls_per_second` > 0; `key_id` names the key without revealing it
  // (a hash).
  RateBudget(redis::Client* redis, double calls_per_second, std::string key_id);

  // Waits for the next slot of the budget; RESOURCE_EXHAUSTED when it comes after `deadline`.
  absl::Status Acquire(absl::Time deadline);

 private:
  // The wait before the reserved slot, or nullopt when the slot is past `max_wait` (nothing
  // reserved).
  absl::StatusOr<std::optional<absl::Duration>> Reserve(absl::Duration max_wait);
  std::optional<absl::Duration> ReserveLocally(absl::Duration max_wait);

  redis::Client* const redis_;
  const absl::Duration interval_;
  const std::string key_;
  absl::Mutex mu_;
  absl::Time local_next_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_warning_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace ethscan::enrichment

#endif  // ETHSCAN_SERVICES_ENRICHMENT_SHARED_STATE_H_

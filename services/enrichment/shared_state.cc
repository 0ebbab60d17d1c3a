#include "services/enrichment/shared_state.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace ethscan::enrichment {
namespace {

constexpr char kProfilePrefix[] = "ethscan:enrichment:profile:";
constexpr char kBudgetPrefix[] = "ethscan:enrichment:budget:";

// KEYS[1]: the budget key. ARGV[1]: the spacing of calls, ARGV[2]: the longest wait the
// caller accepts, both in microseconds. Returns the wait before the reserved slot in
// microseconds, or -1 (nothing reserved) when it would be longer.
constexpr char kReserveScript[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local next = tonumber(redis.call('GET', KEYS[1]) or '0')
if next < now then next = now end
local wait = next - now
if wait > tonumber(ARGV[2]) then return -1 end
local until_next = wait + tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(next + tonumber(ARGV[1])), 'PX',
           math.floor(until_next / 1000) + 1000)
return wait
)lua";

std::string ProfileKey(uint64_t chain_id, absl::string_view address) {
  return absl::StrCat(kProfilePrefix, chain_id, ":", address);
}

}  // namespace

namespace {

// How old `profile` is now.
absl::Duration AgeOf(const v1::ChainProfile& profile) {
  return absl::Now() - absl::FromUnixSeconds(profile.fetch_time().seconds());
}

}  // namespace

std::optional<v1::ChainProfile> ProfileCache::Local(const std::string& key,
                                                    absl::Duration max_age) {
  absl::MutexLock lock(&mu_);
  auto it = local_.find(key);
  if (it == local_.end()) return std::nullopt;
  const absl::Duration age = AgeOf(it->second);
  if (age > ttl_) {
    local_.erase(it);
    return std::nullopt;
  }
  if (age > max_age) return std::nullopt;
  v1::ChainProfile profile = it->second;
  profile.set_age_seconds(std::max<int64_t>(0, absl::ToInt64Seconds(age)));
  return profile;
}

void ProfileCache::KeepLocally(const std::string& key, const v1::ChainProfile& profile) {
  if (local_entries_ == 0) return;
  absl::MutexLock lock(&mu_);
  // Full: start again rather than track recency (a hot address comes back at once).
  if (local_.size() >= local_entries_ && !local_.contains(key)) local_.clear();
  local_[key] = profile;
}

absl::StatusOr<std::optional<v1::ChainProfile>> ProfileCache::Get(uint64_t chain_id,
                                                                  absl::string_view address,
                                                                  absl::Duration max_age) {
  const std::string key = ProfileKey(chain_id, address);
  if (std::optional<v1::ChainProfile> local = Local(key, max_age); local.has_value()) {
    return local;
  }
  absl::StatusOr<redis::Reply> reply = redis_->Command({"GET", key});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return std::optional<v1::ChainProfile>();
  v1::ChainProfile profile;
  if (!profile.ParseFromString(reply->str)) return std::optional<v1::ChainProfile>();
  const absl::Duration age = AgeOf(profile);
  if (age > max_age) return std::optional<v1::ChainProfile>();
  KeepLocally(key, profile);
  profile.set_age_seconds(std::max<int64_t>(0, absl::ToInt64Seconds(age)));
  return std::optional<v1::ChainProfile>(std::move(profile));
}

absl::Status ProfileCache::Put(uint64_t chain_id, absl::string_view address,
                               const v1::ChainProfile& profile) {
  const std::string key = ProfileKey(chain_id, address);
  KeepLocally(key, profile);
  absl::StatusOr<redis::Reply> reply =
      redis_->Command({"SET", key, profile.SerializeAsString(), "PX",
                       absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl_)))});
  return reply.status();
}

// Calls are spaced a little wider than the rate asks, so that the jitter between when a slot
// is reserved and when its call reaches the server never packs one call too many into the
// server's second (its limit counts calls per rolling second).
constexpr double kSpacingMargin = 1.05;

RateBudget::RateBudget(redis::Client* redis, double calls_per_second, std::string key_id)
    : redis_(redis),
      interval_(absl::Seconds(kSpacingMargin / calls_per_second)),
      key_(absl::StrCat(kBudgetPrefix, key_id)) {}

absl::StatusOr<std::optional<absl::Duration>> RateBudget::Reserve(absl::Duration max_wait) {
  absl::StatusOr<redis::Reply> reply = redis_->Command(
      {"EVAL", kReserveScript, "1", key_, absl::StrCat(absl::ToInt64Microseconds(interval_)),
       absl::StrCat(absl::ToInt64Microseconds(max_wait))});
  if (!reply.ok()) return reply.status();
  if (reply->integer < 0) return std::optional<absl::Duration>();
  return std::optional<absl::Duration>(absl::Microseconds(reply->integer));
}

std::optional<absl::Duration> RateBudget::ReserveLocally(absl::Duration max_wait) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  const absl::Time slot = std::max(now, local_next_);
  if (slot - now > max_wait) return std::nullopt;
  local_next_ = slot + interval_;
  return slot - now;
}

absl::Status RateBudget::Acquire(absl::Time deadline) {
  const absl::Duration max_wait = std::max(absl::ZeroDuration(), deadline - absl::Now());
  absl::StatusOr<std::optional<absl::Duration>> wait = Reserve(max_wait);
  if (!wait.ok()) {
    {
      absl::MutexLock lock(&mu_);
      if (absl::Now() - last_warning_ > absl::Minutes(1)) {
        last_warning_ = absl::Now();
        log::Warning("rate budget: Redis is away (", wait.status().message(),
                     "); spacing this replica's calls on its own until it is back");
      }
    }
    wait = ReserveLocally(max_wait);
  }
  if (!wait->has_value()) {
    return absl::ResourceExhaustedError(
        "the Etherscan rate budget has no slot before the call's deadline; try again later");
  }
  if (**wait > absl::ZeroDuration()) absl::SleepFor(**wait);
  return absl::OkStatus();
}

}  // namespace ethscan::enrichment

// The training service's Redis schema: key names and the parsing of stream replies shared by
// the Redis-backed job store, job queue and model store.
//
//   ethscan:training:job:<id>          hash  job = serialized Job, state = "<status>:<attempts>"
//   ethscan:training:jobs              zset  job ids scored by create time (unix microseconds)
//   ethscan:training:job:<id>:events   stream of JobEvent fields (time, level, message, status,
//                                       type, remote_id, m:<metric>)
//   ethscan:training:queue             stream of {job_id}; consumer group "workers"
//   ethscan:training:deadletter        stream of {job_id, error, attempts}
//   ethscan:training:model:<name>      hash  model = serialized Model (aliases empty)
//   ethscan:training:models            zset  model names scored by create time
//   ethscan:training:aliases           hash  alias → model name
//   ethscan:training:checkpoints:<job> zset  checkpoint model names scored by step (their
//                                       Model records are model:<name> hashes, in no
//                                       `models` zset)
//
// Thread-safety: stateless functions.
#ifndef ETHSCAN_SERVICES_TRAINING_REDIS_SCHEMA_H_
#define ETHSCAN_SERVICES_TRAINING_REDIS_SCHEMA_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/redis/redis_client.h"

namespace ethscan::training {

// Key names under a prefix ("ethscan:training:" in production).
// KEYS: one key. ARGV: a value. Deletes the key only while it holds the value (a reservation
// or claim freed by its holder alone); returns 1 when it did.
inline constexpr char kDeleteIfEqualScript[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

struct RedisKeys {
  std::string prefix = "ethscan:training:";

  std::string Job(absl::string_view id) const;
  std::string Jobs() const;
  // Zset of the jobs in status QUEUED, scored by create time.
  std::string QueuedJobs() const;
  // Set of the finished jobs whose dataset references are still to be dropped.
  std::string PendingReleases() const;
  // Idempotency key reservation of CreateJob (the key's SHA-256, so any key is safe).
  std::string IdempotencyKey(absl::string_view key) const;
  std::string JobEvents(absl::string_view id) const;
  std::string Queue() const;
  std::string DeadLetter() const;
  // Zset of the jobs waiting to be retried, scored by the time (ms) they are due.
  std::string RetrySet() const;
  std::string Model(absl::string_view name) const;
  std::string Models() const;
  // The claim of the attempt publishing model `name` (fencing).
  std::string PublishClaim(absl::string_view name) const;
  std::string Aliases() const;
  // List of the models an alias pointed at before, most recent first.
  std::string AliasHistory(absl::string_view alias) const;
  std::string Checkpoints(absl::string_view job_id) const;
};

// Consumer group of the job queue.
inline constexpr char kWorkersGroup[] = "workers";

// One stream entry: id and field/value pairs in order.
struct StreamEntry {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;
};

// Parses an array of [id, [field, value, …]] entries (XRANGE, one stream of XREAD, the
// claimed part of XAUTOCLAIM). Entries whose fields are nil (deleted) get no fields.
// INTERNAL on a malformed reply.
absl::StatusOr<std::vector<StreamEntry>> ParseStreamEntries(const redis::Reply& reply);

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_REDIS_SCHEMA_H_

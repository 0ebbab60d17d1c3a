// JobStore on Redis (schema in redis_schema.h). Job updates and their events are written in
// one Lua script, so a watcher never sees a status change without its event.
//
// Thread-safety: thread-safe. Commands share one connection; WaitForEvents borrows a
// connection of its own (XREAD BLOCK) from a small pool, so concurrent watchers do not block
// each other or the other commands.
#ifndef ETHSCAN_SERVICES_TRAINING_REDIS_JOB_STORE_H_
#define ETHSCAN_SERVICES_TRAINING_REDIS_JOB_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/redis_client.h"
#include "services/training/job_store.h"
#include "services/training/redis_schema.h"

namespace ethscan::training {

// Opens a new Redis connection (for blocking commands).
using RedisConnector = std::function<absl::StatusOr<std::unique_ptr<redis::Client>>()>;

class RedisJobStore final : public JobStore {
 public:
  struct Options {
    RedisKeys keys;
    // Idle blocking connections kept for reuse.
    size_t max_idle_blocking_connections = 8;
  };

  // `client` is not owned and must outlive the store. `connect` opens connections for
  // WaitForEvents; their command timeout must exceed the longest wait asked for.
  RedisJobStore(redis::Client* client, RedisConnector connect, Options options);
  RedisJobStore(redis::Client* client, RedisConnector connect)
      : RedisJobStore(client, std::move(connect), Options()) {}

  absl::Status Create(const v1::Job& job, const v1::JobEvent& event) override;
  absl::StatusOr<v1::Job> Get(absl::string_view id) override;
  absl::Status Update(const v1::Job& expected, const v1::Job& job,
                      const v1::JobEvent* event) override;
  absl::Status Delete(absl::string_view id) override;
  absl::Status AppendEvent(absl::string_view id, const v1::JobEvent& event) override;
  // One pipelined round trip of XADDs.
  absl::Status AppendEvents(absl::string_view id, const std::vector<v1::JobEvent>& events) override;
  absl::StatusOr<JobPage> List(int64_t offset, int64_t limit) override;
  absl::StatusOr<std::optional<int64_t>> IndexOf(absl::string_view id) override;
  absl::StatusOr<int64_t> QueuePosition(absl::string_view id) override;
  absl::StatusOr<std::optional<std::string>> ReserveIdempotencyKey(absl::string_view key,
                                                                   absl::string_view value,
                                                                   absl::Duration ttl) override;
  absl::Status ReleaseIdempotencyKey(absl::string_view key, absl::string_view value) override;
  absl::Status AddPendingRelease(absl::string_view job_id) override;
  absl::StatusOr<std::vector<std::string>> PendingReleases(int64_t limit) override;
  absl::Status RemovePendingRelease(absl::string_view job_id) override;
  absl::StatusOr<std::vector<v1::JobEvent>> ListEvents(absl::string_view id,
                                                       absl::string_view after,
                                                       int64_t limit) override;
  absl::StatusOr<std::vector<v1::JobEvent>> WaitForEvents(absl::string_view id,
                                                          absl::string_view after,
                                                          absl::Duration timeout) override;

 private:
  absl::StatusOr<std::unique_ptr<redis::Client>> TakeBlockingConnection();
  void ReturnBlockingConnection(std::unique_ptr<redis::Client> client);

  redis::Client* const client_;
  const RedisConnector connect_;
  const Options options_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<redis::Client>> idle_ ABSL_GUARDED_BY(mu_);
};

// The stream fields that encode an event, and back.
std::vector<std::string> EventFields(const v1::JobEvent& event);
v1::JobEvent EventFromStreamEntry(const StreamEntry& entry);

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_REDIS_JOB_STORE_H_

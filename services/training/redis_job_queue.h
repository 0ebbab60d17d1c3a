// JobQueue on a Redis Stream with consumer group "workers" (schema in redis_schema.h):
// XADD to enqueue, XREADGROUP … > to read, XAUTOCLAIM to take over stalled entries, XCLAIM
// JUSTID as a heartbeat, XACK + XDEL when done, and a dead-letter stream.
//
// Thread-safety: thread-safe. ReadNew blocks on its own connection (`blocking`), whose
// command timeout must exceed the block time, so it never holds up the other commands.
#ifndef ETHSCAN_SERVICES_TRAINING_REDIS_JOB_QUEUE_H_
#define ETHSCAN_SERVICES_TRAINING_REDIS_JOB_QUEUE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/redis_client.h"
#include "services/training/job_queue.h"
#include "services/training/redis_schema.h"

namespace ethscan::training {

class RedisJobQueue final : public JobQueue {
 public:
  struct Options {
    RedisKeys keys;
    // Dead-letter entries kept (approximately).
    int64_t dead_letter_max_len = 10000;
  };

  // Neither client is owned; both must outlive the queue. They may be the same client when
  // ReadNew is never called (the training server only enqueues).
  RedisJobQueue(redis::Client* client, redis::Client* blocking, Options options);
  RedisJobQueue(redis::Client* client, redis::Client* blocking)
      : RedisJobQueue(client, blocking, Options()) {}

  absl::Status EnsureGroup() override;
  absl::StatusOr<std::string> Enqueue(absl::string_view job_id) override;
  absl::StatusOr<std::vector<DeadLetterRecord>> ListDeadLetters(absl::string_view before,
                                                                int64_t limit) override;
  absl::Status RetryLater(absl::string_view entry_id, absl::string_view job_id,
                          absl::Time at) override;
  absl::StatusOr<int> PromoteDue(absl::Time now) override;
  absl::StatusOr<std::optional<QueueEntry>> ClaimStale(absl::string_view consumer,
                                                       absl::Duration min_idle) override;
  absl::StatusOr<std::optional<QueueEntry>> ReadNew(absl::string_view consumer,
                                                    absl::Duration block) override;
  absl::Status Heartbeat(absl::string_view consumer, absl::string_view entry_id) override;
  absl::Status Ack(absl::string_view entry_id) override;
  absl::Status DeadLetter(absl::string_view job_id, absl::string_view reason,
                          int attempts) override;

 private:
  redis::Client* const client_;
  redis::Client* const blocking_;
  const Options options_;
  absl::Mutex mu_;
  // Where the next XAUTOCLAIM scan of the pending list starts.
  std::string claim_cursor_ ABSL_GUARDED_BY(mu_) = "0-0";
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_REDIS_JOB_QUEUE_H_

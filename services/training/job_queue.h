// The queue of jobs waiting for a worker (interface). Delivery is at least once: an entry a
// worker read stays pending until it is acknowledged, and an entry left pending too long (its
// worker crashed or gave it back) can be claimed by another worker. The Redis Streams
// implementation is in redis_job_queue.h; tests use an in-memory fake.
#ifndef ETHSCAN_SERVICES_TRAINING_JOB_QUEUE_H_
#define ETHSCAN_SERVICES_TRAINING_JOB_QUEUE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ethscan::training {

// One delivered queue entry.
struct QueueEntry {
  // Queue entry id (a stream id such as "1700000000000-0").
  std::string entry_id;
  // The job to run; empty when the entry carries none (it is then acknowledged and dropped).
  std::string job_id;
};

// A job that failed for good, as the dead-letter stream records it.
struct DeadLetterRecord {
  std::string job_id;
  std::string reason;
  int attempts = 0;
  // The stream entry id (its time) once stored; empty before.
  std::string id;
};

// Job queue with consumer-group semantics. Implementations are thread-safe.
class JobQueue {
 public:
  virtual ~JobQueue() = default;

  // Creates the queue and its consumer group when they do not exist yet. Idempotent.
  virtual absl::Status EnsureGroup() = 0;

  // Appends a job; returns the entry id.
  virtual absl::StatusOr<std::string> Enqueue(absl::string_view job_id) = 0;

  // Claims for `consumer` one entry that another consumer (or `consumer` itself) read but has
  // not acknowledged for at least `min_idle`. nullopt when there is none.
  virtual absl::StatusOr<std::optional<QueueEntry>> ClaimStale(absl::string_view consumer,
                                                               absl::Duration min_idle) = 0;

  // Delivers one entry no consumer has read yet, waiting up to `block` for one to arrive.
  // nullopt when none arrived in time.
  virtual absl::StatusOr<std::optional<QueueEntry>> ReadNew(absl::string_view consumer,
                                                            absl::Duration block) = 0;

  // Resets the idle time of an entry `consumer` holds, so that it is not claimed while the
  // consumer is still working on it.
  virtual absl::Status Heartbeat(absl::string_view consumer, absl::string_view entry_id) = 0;

  // Acknowledges an entry: it is done and leaves the queue.
  virtual absl::Status Ack(absl::string_view entry_id) = 0;

  // Records a job that failed for good on the dead-letter stream.
  virtual absl::Status DeadLetter(absl::string_view job_id, absl::string_view reason,
                                  int attempts) = 0;

  // The dead-letter stream, newest first, at most `limit` entries older than entry `before`
  // (empty: from the newest).
  virtual absl::StatusOr<std::vector<DeadLetterRecord>> ListDeadLetters(absl::string_view before,
                                                                        int64_t limit) = 0;

  // Settles a failed attempt's entry and schedules the job again for `at`, in one step: the
  // entry leaves the queue and the job waits in the retry set. (Should the step never run,
  // the entry stays pending and is claimed once idle: the job is retried all the same.)
  virtual absl::Status RetryLater(absl::string_view entry_id, absl::string_view job_id,
                                  absl::Time at) = 0;

  // Moves the jobs whose retry time has come (at or before `now`) from the retry set back
  // onto the queue as new entries; returns how many.
  virtual absl::StatusOr<int> PromoteDue(absl::Time now) = 0;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_JOB_QUEUE_H_

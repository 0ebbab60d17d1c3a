// Durable storage of fine-tuning jobs and their event streams (interface), plus the helpers
// every implementation shares. The Redis implementation is in redis_job_store.h; tests use
// an in-memory fake.
#ifndef ETHSCAN_SERVICES_TRAINING_JOB_STORE_H_
#define ETHSCAN_SERVICES_TRAINING_JOB_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ethscan/training/v1/training_service.pb.h"

namespace ethscan::training {

// True for SUCCEEDED, FAILED and CANCELLED: the job will not change any more.
bool IsFinished(v1::JobStatus status);

// "succeeded", "queued", …: the status as the OpenAI vocabulary spells it.
std::string StatusWord(v1::JobStatus status);

// Sets a proto Timestamp from an absl::Time (microsecond precision).
void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);

// What Update compares to notice a concurrent change: "<status number>:<attempts>". A
// worker's fence when it publishes (model_store.h) is its running job's state.
std::string JobState(const v1::Job& job);

// OK when `id` is an event id: "<ms>-<seq>", two decimal numbers (digits only, no leading
// zeros) that each fit in 64 bits, as Redis writes stream ids. Otherwise INVALID_ARGUMENT naming
// `field` and quoting `id` (text::Quote). Callers check a client's cursor with it before it reaches
// the store.
absl::Status ValidateEventId(absl::string_view field, absl::string_view id);

// An event of type "message".
v1::JobEvent MessageEvent(absl::Time time, absl::string_view level, absl::string_view message,
                          v1::JobStatus status = v1::JOB_STATUS_UNSPECIFIED);

// One page of jobs, newest first.
struct JobPage {
  std::vector<v1::Job> jobs;
  // Jobs stored in total.
  int64_t total = 0;
};

// Stores jobs and their events. Implementations are thread-safe.
class JobStore {
 public:
  virtual ~JobStore() = default;

  // Stores a new job and its first event in one atomic step. ALREADY_EXISTS when the id is
  // taken; UNAVAILABLE when the store is unreachable.
  virtual absl::Status Create(const v1::Job& job, const v1::JobEvent& event) = 0;

  // The job with `id`. NOT_FOUND when unknown.
  virtual absl::StatusOr<v1::Job> Get(absl::string_view id) = 0;

  // Replaces the job with `job` when the stored job still has the status and attempt count of
  // `expected` (compare-and-set), and appends `event` (when not null) in the same atomic step.
  // NOT_FOUND when the job is unknown; ABORTED when it changed since `expected` was read.
  virtual absl::Status Update(const v1::Job& expected, const v1::Job& job,
                              const v1::JobEvent* event) = 0;

  // Removes a job, its place in the list and its events in one atomic step: the undo of a
  // Create whose CreateJob failed later. NOT_FOUND when the job is unknown.
  virtual absl::Status Delete(absl::string_view id) = 0;

  // Appends an event that changes nothing else.
  virtual absl::Status AppendEvent(absl::string_view id, const v1::JobEvent& event) = 0;

  // Appends events in order, as AppendEvent does one by one; a store may send them in one
  // round trip (the worker's per-round metrics events arrive in batches).
  virtual absl::Status AppendEvents(absl::string_view id, const std::vector<v1::JobEvent>& events) {
    for (const v1::JobEvent& e : events) {
      if (absl::Status s = AppendEvent(id, e); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Jobs newest first, skipping `offset`, at most `limit`.
  virtual absl::StatusOr<JobPage> List(int64_t offset, int64_t limit) = 0;

  // The job's place in List's order (0 is the newest); nullopt for an unknown job.
  virtual absl::StatusOr<std::optional<int64_t>> IndexOf(absl::string_view id) = 0;

  // While the job is QUEUED: 1 plus the number of queued jobs created before it; 0 when it
  // is not queued (or unknown).
  virtual absl::StatusOr<int64_t> QueuePosition(absl::string_view id) = 0;

  // Reserves an idempotency `key` for `value` for `ttl`: nullopt when it was free and is now
  // reserved, else the value it is reserved for.
  virtual absl::StatusOr<std::optional<std::string>> ReserveIdempotencyKey(absl::string_view key,
                                                                           absl::string_view value,
                                                                           absl::Duration ttl) = 0;
  // Frees `key` if it is still reserved for `value`.
  virtual absl::Status ReleaseIdempotencyKey(absl::string_view key, absl::string_view value) = 0;

  // Finished jobs whose dataset references could not be dropped (the dataset service was
  // away): noted here, retried by the workers until they are dropped.
  virtual absl::Status AddPendingRelease(absl::string_view job_id) = 0;
  virtual absl::StatusOr<std::vector<std::string>> PendingReleases(int64_t limit) = 0;
  virtual absl::Status RemovePendingRelease(absl::string_view job_id) = 0;

  // Events with ids after `after` (every event when empty), oldest first, at most `limit`
  // (every one when 0). INVALID_ARGUMENT when `after` is not an event id (ValidateEventId),
  // checked before the store is asked.
  virtual absl::StatusOr<std::vector<v1::JobEvent>> ListEvents(absl::string_view id,
                                                               absl::string_view after,
                                                               int64_t limit) = 0;

  // Like ListEvents, but when no event follows `after`, waits up to `timeout` for one.
  // Returns an empty list when none arrived in time. INVALID_ARGUMENT as ListEvents.
  virtual absl::StatusOr<std::vector<v1::JobEvent>> WaitForEvents(absl::string_view id,
                                                                  absl::string_view after,
                                                                  absl::Duration timeout) = 0;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_JOB_STORE_H_

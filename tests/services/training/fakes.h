// In-memory fakes of the training service's I/O boundaries (job store, job queue, model
// store) and a fake DatasetService served in-process, for hermetic tests.
//
// Thread-safety: every fake is thread-safe.
#ifndef ETHSCAN_TESTS_SERVICES_TRAINING_FAKES_H_
#define ETHSCAN_TESTS_SERVICES_TRAINING_FAKES_H_

#include <grpcpp/server.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/time/clock.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "services/training/job_queue.h"
#include "services/training/job_store.h"
#include "services/training/model_store.h"

namespace ethscan::training::testing {

class InMemoryJobStore final : public JobStore {
 public:
  absl::Status Create(const v1::Job& job, const v1::JobEvent& event) override;
  absl::StatusOr<v1::Job> Get(absl::string_view id) override;
  absl::Status Update(const v1::Job& expected, const v1::Job& job,
                      const v1::JobEvent* event) override;
  absl::Status Delete(absl::string_view id) override;
  absl::Status AppendEvent(absl::string_view id, const v1::JobEvent& event) override;
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

  // Makes the next `count` calls of Get fail with `status`.
  void FailGets(absl::Status status, int count);
  // Runs `hook` after each event appended by AppendEvent or AppendEvents (not under the
  // store's lock, so it may call the store).
  void OnAppend(std::function<void(const v1::JobEvent&)> hook);
  // How many AppendEvents calls carried more than one event.
  int batched_appends();
  // Every event message of a job, oldest first.
  std::vector<std::string> EventMessages(absl::string_view id);

 private:
  void AppendLocked(absl::string_view id, v1::JobEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<v1::JobEvent> EventsAfterLocked(absl::string_view id, absl::string_view after,
                                              int64_t limit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<std::string, v1::Job> jobs_ ABSL_GUARDED_BY(mu_);
  // Job ids in creation order.
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<v1::JobEvent>> events_ ABSL_GUARDED_BY(mu_);
  int64_t next_event_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Status get_failure_ ABSL_GUARDED_BY(mu_);
  int get_failures_left_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void(const v1::JobEvent&)> on_append_ ABSL_GUARDED_BY(mu_);
  int batched_appends_ ABSL_GUARDED_BY(mu_) = 0;
  // Reservations never expire here.
  std::map<std::string, std::string> idempotency_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> pending_releases_ ABSL_GUARDED_BY(mu_);
};

// A consumer-group queue whose idle times follow a Clock.
class InMemoryJobQueue final : public JobQueue {
 public:
  explicit InMemoryJobQueue(const common::Clock* clock) : clock_(clock) {}

  absl::Status EnsureGroup() override { return absl::OkStatus(); }
  absl::StatusOr<std::string> Enqueue(absl::string_view job_id) override;
  absl::StatusOr<std::optional<QueueEntry>> ClaimStale(absl::string_view consumer,
                                                       absl::Duration min_idle) override;
  absl::StatusOr<std::optional<QueueEntry>> ReadNew(absl::string_view consumer,
                                                    absl::Duration block) override;
  absl::Status Heartbeat(absl::string_view consumer, absl::string_view entry_id) override;
  absl::Status Ack(absl::string_view entry_id) override;
  absl::Status DeadLetter(absl::string_view job_id, absl::string_view reason,
                          int attempts) override;
  absl::StatusOr<std::vector<DeadLetterRecord>> ListDeadLetters(absl::string_view before,
                                                                int64_t limit) override;
  absl::Status RetryLater(absl::string_view entry_id, absl::string_view job_id,
                          absl::Time at) override;
  absl::StatusOr<int> PromoteDue(absl::Time now) override;

  // Jobs waiting to be retried, and when.
  std::map<std::string, absl::Time> Retries();

  // Makes every Enqueue fail with `status` (OK restores normal answers).
  void FailEnqueues(absl::Status status);

  using DeadLetterEntry = DeadLetterRecord;
  // Entries read but not acknowledged, and who holds them.
  std::map<std::string, std::string> Pending();
  // Entries not read yet.
  size_t Undelivered();
  std::vector<DeadLetterEntry> DeadLetters();
  int heartbeats();

 private:
  struct PendingEntry {
    std::string job_id;
    std::string consumer;
    absl::Time delivered;
  };
  const common::Clock* const clock_;
  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::deque<QueueEntry> undelivered_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, PendingEntry> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<DeadLetterEntry> dead_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> retries_ ABSL_GUARDED_BY(mu_);
  int heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status enqueue_failure_ ABSL_GUARDED_BY(mu_);
};

class InMemoryModelStore final : public ModelStore {
 public:
  absl::Status Put(const v1::Model& model) override;
  absl::StatusOr<PublishClaim> ClaimPublish(absl::string_view name, const PublishFence& fence,
                                            absl::string_view token, absl::Duration ttl) override;
  absl::Status PutClaimed(const v1::Model& model, const PublishFence& fence,
                          absl::string_view token) override;
  absl::Status ReleaseClaim(absl::string_view name, absl::string_view token) override;
  // Decides whether a fence holds (it holds when unset); the Redis store reads the job.
  void SetFenceCheck(std::function<bool(const PublishFence&)> check);
  absl::StatusOr<v1::Model> Get(absl::string_view name) override;
  absl::StatusOr<std::optional<std::string>> GetAlias(absl::string_view alias) override;
  absl::StatusOr<ModelPage> List(int64_t offset, int64_t limit) override;
  absl::Status SetAlias(absl::string_view alias, absl::string_view name) override;
  absl::Status Delete(absl::string_view name) override;
  absl::StatusOr<std::string> RollbackAlias(absl::string_view alias) override;
  absl::Status DeleteAlias(absl::string_view alias) override;
  absl::StatusOr<std::vector<std::string>> AliasHistory(absl::string_view alias) override;
  absl::Status PutCheckpoint(const v1::Model& model, int step) override;
  absl::StatusOr<std::vector<v1::Model>> ListCheckpoints(absl::string_view job_id) override;
  absl::Status DeleteCheckpoint(absl::string_view job_id, absl::string_view name) override;
  // Called (outside the lock) before each checkpoint record is stored, with its step: a
  // test can make a checkpoint slow.
  void OnPutCheckpoint(std::function<void(int step)> hook);

 private:
  v1::Model WithAliasesLocked(v1::Model model) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<std::string, v1::Model> models_ ABSL_GUARDED_BY(mu_);
  // Checkpoint records by name, and each job's (step, name) pairs.
  std::map<std::string, v1::Model> checkpoints_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<int, std::string>> job_checkpoints_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> aliases_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> claims_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>> alias_history_ ABSL_GUARDED_BY(mu_);
  std::function<bool(const PublishFence&)> fence_check_ ABSL_GUARDED_BY(mu_);
  std::function<void(int)> on_put_checkpoint_ ABSL_GUARDED_BY(mu_);
};

// A DatasetService holding datasets and their references in memory, with failure injection.
// Like the real service, a reference is only added to a stored dataset and Remove refuses
// while a dataset is referenced.
class FakeDatasetService final : public dataset::v1::DatasetService::Service {
 public:
  // Stores a dataset; its record_count is set from `records`.
  void Add(dataset::v1::Dataset dataset, std::vector<common::v1::AddressRecord> records);
  // Deletes a dataset as DeleteDataset would: NOT_FOUND, or FAILED_PRECONDITION naming the
  // holders while it is referenced.
  absl::Status Remove(const std::string& id);
  // The holders of a dataset's references, sorted.
  std::vector<std::string> Holders(const std::string& id);
  // Makes every AddDatasetReference call fail with `code` (OK restores normal answers).
  void FailAddReferences(grpc::StatusCode code);
  // Makes AddDatasetReference calls for dataset `id` fail with `code` (OK restores them).
  void FailAddReferencesFor(const std::string& id, grpc::StatusCode code);
  // Makes every RemoveDatasetReference call fail with `code` (OK restores normal answers).
  void FailRemoveReferences(grpc::StatusCode code);
  // Makes the next `count` ReadRecords calls for `id` fail with `code` after the first batch.
  void FailReads(const std::string& id, grpc::StatusCode code, int count);
  // Makes every GetDataset call fail with `code` (OK restores normal answers).
  void FailGets(grpc::StatusCode code);
  int read_calls();
  // Runs `hook` before each ReadRecords batch is sent (for example to cancel a job mid-run).
  void OnBatch(std::function<void()> hook);

  grpc::Status GetDataset(grpc::ServerContext* context,
                          const dataset::v1::GetDatasetRequest* request,
                          dataset::v1::GetDatasetResponse* response) override;
  grpc::Status ReadRecords(grpc::ServerContext* context,
                           const dataset::v1::ReadRecordsRequest* request,
                           grpc::ServerWriter<dataset::v1::ReadRecordsResponse>* writer) override;
  grpc::Status AddDatasetReference(grpc::ServerContext* context,
                                   const dataset::v1::DatasetReferenceRequest* request,
                                   dataset::v1::DatasetReferenceResponse* response) override;
  grpc::Status RemoveDatasetReference(grpc::ServerContext* context,
                                      const dataset::v1::DatasetReferenceRequest* request,
                                      dataset::v1::DatasetReferenceResponse* response) override;

 private:
  // The stored dataset with its references.
  dataset::v1::Dataset WithHoldersLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Stored {
    dataset::v1::Dataset dataset;
    std::vector<common::v1::AddressRecord> records;
  };
  absl::Mutex mu_;
  std::map<std::string, Stored> datasets_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> holders_ ABSL_GUARDED_BY(mu_);
  grpc::StatusCode add_reference_failure_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::OK;
  std::map<std::string, grpc::StatusCode> add_reference_failures_ ABSL_GUARDED_BY(mu_);
  grpc::StatusCode remove_reference_failure_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::OK;
  std::map<std::string, std::pair<grpc::StatusCode, int>> read_failures_ ABSL_GUARDED_BY(mu_);
  grpc::StatusCode get_failure_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::OK;
  int read_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> on_batch_ ABSL_GUARDED_BY(mu_);
};

// Serves services on an in-process gRPC server (no listening port, no socket).
class InProcessServer {
 public:
  explicit InProcessServer(const std::vector<grpc::Service*>& services);
  ~InProcessServer();
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  // Stops the server and waits for running handlers (for example a handler still streaming
  // to a client that cancelled). Idempotent.
  void Shutdown();

 private:
  std::once_flag shutdown_once_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A dataset with the given id, name, format and create time (unix seconds).
dataset::v1::Dataset MakeDataset(const std::string& id, const std::string& name,
                                 dataset::v1::DatasetFormat format, int64_t create_seconds);

// A record as the dataset service would store it.
common::v1::AddressRecord MakeRecord(const std::string& address, const std::string& label,
                                     const std::string& name = "",
                                     std::vector<std::string> tags = {});

}  // namespace ethscan::training::testing

#endif  // ETHSCAN_TESTS_SERVICES_TRAINING_FAKES_H_

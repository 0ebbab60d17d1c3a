// The training worker: consumes the job queue and runs each job. For one job it loads the
// datasets' metadata, streams their records from the dataset service into one Trainer per
// model kind (trainer.h: the knowledge index, the behavioural classifier), hands each the
// base model's artefact to continue, packs what they trained into one model
// (ethscan.model.v1.ModelPackage with its manifest), publishes it to the registry and marks
// the job SUCCEEDED, with events, metrics and checkpoints along the way.
//
// Held-out sides: a job that names no validation (test) dataset holds kHoldoutPercent of its
// training addresses out as the validation (test) side, chosen by a stable hash of the
// address and the job's seed (HoldoutBucket), so the split is grouped by address and the same
// job always holds out the same addresses; the manifest records it.
//
// Delivery is at least once. An entry is acknowledged only when its job is settled
// (succeeded, failed for good, cancelled, unknown). A transient failure (the dataset service
// or Redis unreachable, a deadline) re-queues the job: its entry moves to the retry set,
// due after an exponential backoff with jitter (RetryDelay), and goes back onto the queue
// when due (PromoteDue, at every RunOnce); should that step fail, the entry stays pending
// and is claimed again (XAUTOCLAIM) once idle for `claim_idle`. An entry whose worker died
// is claimed the same way. After `max_attempts`
// attempts, or at once for a permanent failure (a dataset or base model gone, corrupt data),
// the job is FAILED and recorded on the dead-letter stream. A job cancelled mid-run ends
// CANCELLED without a model (a model published just before the cancel is withdrawn). While
// it works, the worker heartbeats its entry so that no other worker claims it. A job that
// ends (succeeded, failed for good, cancelled) drops its "job/<id>" dataset references; the
// published model holds its own (model_registry.h). On Stop() the
// current job is abandoned un-acknowledged and re-queued for another worker: no job is lost.
//
// Resuming: a later attempt (after a crash, a stop or a retry) goes on from the job's last
// checkpoint, one per epoch, instead of starting over: the classifier continues that
// checkpoint's booster for the rounds still to go, the results file keeps the earlier
// steps, and an event says "resuming from checkpoint NAME (step N of M)". The knowledge
// index is rebuilt (it takes a fraction of a second). A checkpoint that cannot be used
// (another feature set, no booster, corrupt) means starting over, with a warning.
//
// While training, the worker appends metrics events in batches (event_flush_interval) and
// records the step reached and the estimated finish in the job; it looks the job up every
// check_interval to notice a cancel or a take-over. A thread of the job's own does these
// round trips and publishes the checkpoints, so a boosting round never waits on Redis or a
// disk; a zero interval makes each happen before training goes on instead.
//
// Thread-safety: Run and RunOnce from one thread; Stop from any thread.
#ifndef ETHSCAN_SERVICES_TRAINING_WORKER_H_
#define ETHSCAN_SERVICES_TRAINING_WORKER_H_

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/time/backoff.h"
#include "common/time/clock.h"
#include "services/training/classifier_trainer.h"
#include "services/training/dataset_client.h"
#include "services/training/job_queue.h"
#include "services/training/job_store.h"
#include "services/training/model_registry.h"
#include "services/training/openai_client.h"
#include "services/training/trainer.h"

namespace ethscan::training {

// True for the failures a later attempt may not meet again (a service away, a deadline, a
// rate limit): the job is retried; any other fails it for good.
bool IsTransient(const absl::Status& status);

// `status` with "<context>: " before its message, its payloads kept.
absl::Status WithContext(const absl::Status& status, absl::string_view context);

// The job request field ("training_dataset", "base_model", "hyperparameters", …) that an
// OpenAI-compatible API's error param ("training_file", "model", "n_epochs", …) is about; ""
// when none.
std::string JobParamOfRemote(absl::string_view param);

// "hostname-pid": the worker's consumer name in the queue's group.
std::string DefaultConsumerName();

// Share of the training addresses held out for each side the job names no dataset for.
inline constexpr int kHoldoutPercent = 10;

// 0..99: the address's bucket for seed `seed` (case-insensitive). Buckets below
// kHoldoutPercent are the validation side, the next kHoldoutPercent the test side.
int HoldoutBucket(absl::string_view address, uint64_t seed);

class Worker {
 public:
  struct Options {
    // Consumer name in the group; DefaultConsumerName() when empty.
    std::string consumer;
    // Entries pending longer than this are claimed from crashed workers.
    absl::Duration claim_idle = absl::Seconds(60);
    // How long one queue read waits for a new entry.
    absl::Duration block = absl::Seconds(2);
    // Attempts before a job fails for good.
    int max_attempts = 3;
    // Pause after the queue itself failed (Redis down), before trying again.
    absl::Duration error_backoff = absl::Seconds(1);
    // While training, how often the job is looked up to see whether it was cancelled or
    // taken over (a cancel takes effect within this plus the round in progress; reading
    // and the steps between trainers always look).
    absl::Duration check_interval = absl::Milliseconds(50);
    // How long per-round metrics events may wait to be appended together in one round trip
    // (any other event appends them first, so the order holds).
    absl::Duration event_flush_interval = absl::Milliseconds(200);
    // The wait before retrying a job whose attempt failed for a passing reason: doubled for
    // each attempt up to retry_backoff_max, each wait drawn at random from the upper half
    // of its range (jitter).
    absl::Duration retry_backoff = absl::Seconds(2);
    absl::Duration retry_backoff_max = absl::Minutes(5);
    // How often the dataset references a finished job could not drop (the dataset service
    // was away) are tried again.
    absl::Duration release_retry_interval = absl::Seconds(30);
    // Backend "openai" (worker_openai.cc): the API's client settings (base URL, key,
    // retries; the worker sets its waits) and the HTTP client; without them such a job
    // fails with a message saying what to configure.
    std::optional<openai::Client::Options> openai;
    http::Client* http = nullptr;
    // How often a remote job is polled: from remote_poll_initial, growing by half after each
    // poll that brought nothing new, up to remote_poll_max (a cancel reaches the remote job
    // within one poll).
    absl::Duration remote_poll_initial = absl::Seconds(1);
    absl::Duration remote_poll_max = absl::Seconds(10);
    // How long the API may stay unreachable while a remote job runs before the attempt fails
    // (and is retried, attaching to the same remote job).
    absl::Duration remote_outage_tolerance = absl::Minutes(5);
  };

  // What became of one queue entry.
  enum class Outcome {
    kSucceeded,  // Model published, job SUCCEEDED, entry acknowledged.
    kFailed,     // Job FAILED for good, dead-lettered, entry acknowledged.
    kRetry,      // Attempt failed; job QUEUED again, entry left pending for a later claim.
    kCancelled,  // Job cancelled; entry acknowledged.
    kSkipped,    // Nothing to do (job finished or unknown); entry acknowledged.
    kAbandoned,  // Worker stopping or job taken over by another worker; entry not acknowledged.
  };

  // Nothing is owned; everything must outlive the worker.
  Worker(Options options, JobStore* store, JobQueue* queue, ModelRegistry* registry,
         DatasetClient* datasets, const common::Clock* clock);

  // Takes at most one entry (a stale one first, else a new one, waiting up to `block`) and
  // processes it. Returns its outcome, or nullopt when the queue had nothing.
  absl::StatusOr<std::optional<Outcome>> RunOnce();

  // Processes entries until Stop(). Queue errors are logged and retried after a pause.
  void Run();

  // Asks Run to return and the current job to be abandoned. Thread-safe, idempotent.
  void Stop();

  // Runs the job of one delivered entry.
  Outcome Process(const QueueEntry& entry);

  const std::string& consumer() const { return consumer_; }

 private:
  // The result of training one attempt.
  struct TrainResult {
    v1::Model model;
    uint64_t trained_records = 0;
    int step = 0;
    int total_steps = 0;
    // The model card's summary figures and the hyperparameters used.
    std::map<std::string, double> metrics;
    std::map<std::string, double> hyperparameters;
    // Knowledge records of the training side (held-out records excluded).
    uint64_t trained_examples = 0;
    // Where the attempt's time went ("reading 0.31 s, knowledge 0.27 s, …"), wall clock.
    std::string timings;

    // The figures the model card carries: metrics, hyperparameters, trained records.
    void TakeCard(const model::v1::Manifest& manifest) {
      metrics.insert(manifest.metrics().begin(), manifest.metrics().end());
      hyperparameters.insert(manifest.hyperparameters().begin(), manifest.hyperparameters().end());
      auto records = manifest.metrics().find("trained_records");
      trained_records =
          records == manifest.metrics().end() ? 0 : static_cast<uint64_t>(records->second);
    }
  };

  // One of the job's datasets and the side it is on.
  struct SideDataset {
    dataset::v1::Dataset dataset;
    Side side;
  };
  // The job's datasets by side: training (the training dataset, then the extra ones without
  // repeats), then validation and test. The dataset service's status names the side and id.
  absl::StatusOr<std::vector<SideDataset>> LoadDatasets(const v1::Job& job);
  // The manifest's dataset references (id, name, role, records, content hash) for `datasets`.
  static void AddDatasetRefs(const std::vector<SideDataset>& datasets,
                             model::v1::Manifest* manifest);

  // The TrainingSink of one attempt.
  class JobSink;
  // Why training stopped before the end.
  enum class Interrupt { kNone, kStopping, kCancelled, kTakenOver };

  // Trains one attempt and publishes the model. When it stops early because of Stop(), a
  // cancel or a take-over, `interrupt` says so (and the status is ABORTED).
  absl::StatusOr<TrainResult> Train(const v1::Job& job, const QueueEntry& entry,
                                    Interrupt* interrupt);
  // Backend "openai" (worker_openai.cc): exports the datasets as chat JSONL, uploads them,
  // creates (or, on a later attempt, finds) the remote fine-tuning job, mirrors its status,
  // events and checkpoints into the job until it ends, cancels it when the job is
  // cancelled, and publishes the fine-tuned chat model. Stopping leaves the remote job
  // running: the next attempt attaches to it.
  absl::StatusOr<TrainResult> TrainRemote(const v1::Job& job, const QueueEntry& entry,
                                          Interrupt* interrupt);
  class RemoteRun;
  // Before training: a later attempt resumes `classifier` from the job's last checkpoint
  // (and says so in an event); otherwise, or when that checkpoint cannot be used, the
  // earlier checkpoints are deleted and training starts over.
  absl::Status ResumeOrStartOver(const v1::Job& job, BehaviouralTrainer* classifier);
  // Drops the dataset references of finished jobs that could not drop them before, at most
  // every release_retry_interval.
  void RetryReleases();
  // How long to wait before the attempt after `attempts` failed ones.
  absl::Duration RetryDelay(int attempts);
  // Settles a failed attempt: retry or fail for good.
  Outcome HandleFailure(const v1::Job& running, const QueueEntry& entry, const absl::Status& error);
  // Fails a job for good: status FAILED, event, dead letter, acknowledgement.
  Outcome FailForGood(const v1::Job& job, const QueueEntry& entry, const std::string& error,
                      const v1::JobError& failure);
  // Gives the job back un-acknowledged.
  Outcome Abandon(const v1::Job& running, const std::string& why);
  // Heartbeats the job's queue entry (so no other worker claims it) when a third of
  // claim_idle has passed since `*last`, which it then sets.
  void HeartbeatIfDue(const v1::Job& job, const QueueEntry& entry, absl::Time* last);
  // Reloads the job between batches and says whether training must stop.
  absl::StatusOr<Interrupt> CheckStillOurs(const v1::Job& running);
  void Ack(const QueueEntry& entry);
  // Drops the job's references on its datasets once it has finished (logged on failure).
  void ReleaseDatasets(const v1::Job& job);
  // Deletes the checkpoints of a job that ends without a model (logged on failure).
  void DropCheckpoints(const v1::Job& job);
  void Event(const v1::Job& job, absl::string_view level, absl::string_view message);

  const Options options_;
  const std::string consumer_;
  JobStore* const store_;
  JobQueue* const queue_;
  ModelRegistry* const registry_;
  DatasetClient* const datasets_;
  const common::Clock* const clock_;
  std::atomic<bool> stopping_{false};
  absl::Time last_release_retry_ = absl::InfinitePast();
  common::Backoff retry_backoff_;
  absl::Notification stopped_;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_WORKER_H_

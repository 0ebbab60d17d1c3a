// The training service's job logic: validates and records fine-tuning jobs, checks their
// datasets with the dataset service, queues them for the workers, and serves job state,
// events and cancellation. The gRPC adapter (training_service.h) only maps messages and
// statuses onto it.
//
// Job life: CreateJob stores the job as VALIDATING_FILES, references every dataset of the job
// in the dataset service as "job/<id>" (which also looks it up: a missing one fails the job
// and CreateJob returns NOT_FOUND; the dataset service makes referencing and deleting atomic,
// so a job never references a deleted dataset), then marks it QUEUED and appends it to the
// queue. A worker (worker.h) takes it from there. Every status change is written together
// with its event. A job drops its references when it finishes: when its creation fails, when
// it is cancelled, or when a worker settles it.
//
// Thread-safety: thread-safe; the dependencies are.
#ifndef ETHSCAN_SERVICES_TRAINING_JOB_MANAGER_H_
#define ETHSCAN_SERVICES_TRAINING_JOB_MANAGER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "ethscan/training/v1/training_service.pb.h"
#include "services/training/dataset_client.h"
#include "services/training/job_queue.h"
#include "services/training/job_store.h"
#include "services/training/model_registry.h"

namespace ethscan::training {

inline constexpr char kDefaultSuffix[] = "custom";
inline constexpr char kLocalBackend[] = "local";
inline constexpr char kOpenAiBackend[] = "openai";

// INVALID_ARGUMENT unless `suffix` is 1-64 characters of [A-Za-z0-9_-].
absl::Status ValidateSuffix(absl::string_view suffix);

// "ftjob-" followed by 16 random lowercase hex digits.
std::string NewJobId();

// Every dataset a job names, without repeats: training, extra training, validation.
std::vector<std::string> JobDatasetIds(const v1::Job& job);

// The name of the model a job publishes: "ft:<base>:<suffix>:<job-id>", where <base> is the
// root base model ("ethscan-base"), also when the job continues a fine-tuned model.
std::string FineTunedModelName(const v1::Job& job);

class JobManager {
 public:
  struct Options {
    // True when OPENAI_BASE_URL and OPENAI_API_KEY are both set.
    bool openai_configured = false;
    // Makes job ids; NewJobId when empty.
    std::function<std::string()> new_job_id;
    // How long WatchJob waits for events before it checks the job and the client again.
    absl::Duration watch_poll = absl::Seconds(1);
  };

  // Nothing is owned; everything must outlive the manager.
  JobManager(Options options, JobStore* store, JobQueue* queue, ModelRegistry* registry,
             DatasetClient* datasets, const common::Clock* clock);

  // See TrainingService.CreateJob. Returns the queued job.
  absl::StatusOr<v1::Job> CreateJob(const v1::CreateJobRequest& request);
  absl::StatusOr<v1::Job> GetJob(absl::string_view id);
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& request);
  // FAILED_PRECONDITION when the job already finished.
  absl::StatusOr<v1::Job> CancelJob(absl::string_view id);
  absl::StatusOr<std::vector<v1::JobEvent>> ListJobEvents(const v1::ListJobEventsRequest& request);

  // Sends every event of the job, then new ones as they arrive, each with the job as stored
  // when it is sent, until the job has finished and its last event was sent (OK), `send`
  // returns false or `cancelled` returns true (CANCELLED).
  absl::Status WatchJob(absl::string_view id,
                        const std::function<bool(const v1::WatchJobResponse&)>& send,
                        const std::function<bool()>& cancelled);

  // A knowledge model has no epochs, so no checkpoints: an empty list for a known job.
  absl::StatusOr<std::vector<v1::Checkpoint>> ListCheckpoints(absl::string_view id);

 private:
  // Validates the request into a new job (status VALIDATING_FILES, not stored yet).
  absl::StatusOr<v1::Job> NewJob(const v1::CreateJobRequest& request);
  // Marks a job FAILED with `error` and its event.
  void FailJob(const v1::Job& job, const std::string& error);

  const Options options_;
  JobStore* const store_;
  JobQueue* const queue_;
  ModelRegistry* const registry_;
  DatasetClient* const datasets_;
  const common::Clock* const clock_;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_JOB_MANAGER_H_

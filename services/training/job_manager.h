// The training service's job logic: validates and records fine-tuning jobs, checks their
// datasets with the dataset service, queues them for the workers, and serves job state,
// events and cancellation. The gRPC adapter (training_service.h) only maps messages and
// statuses onto it.
//
// Job life: CreateJob first checks everything it can without storing anything: the request's
// fields (dataset ids, suffix, backend, hyperparameters), the base model in the registry and
// every dataset in the dataset service; a request refused there leaves nothing behind. Then
// it stores the job as VALIDATING_FILES, references every dataset of the job in the dataset
// service as "job/<id>" (the dataset service makes referencing and deleting atomic, so a job
// never references a deleted dataset), marks it QUEUED and appends it to the queue. When a
// step after storing fails (a dataset deleted meanwhile, the dataset service or Redis down),
// CreateJob undoes what it did: it drops the references taken and removes the job, so a
// failed CreateJob leaves no job (only when even the removal fails is the job kept, marked
// FAILED). A worker (worker.h) takes a queued job from there. Every status change is written
// together with its event. A job drops its references when it finishes: when it is
// cancelled, or when a worker settles it.
//
// Messages quote every string a client sent (ids, names, suffixes, cursors) with
// text::Quote, so they stay one short line whatever the input.
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
// The remote model a backend "openai" job fine-tunes unless it names one.
inline constexpr char kDefaultOpenAiBaseModel[] = "gpt-4o-mini-2024-07-18";

// INVALID_ARGUMENT unless `model` can name a remote model: 1 to 128 characters of
// [A-Za-z0-9._:-].
absl::Status ValidateRemoteModel(absl::string_view model);

// INVALID_ARGUMENT unless `suffix` is 1-64 characters of [A-Za-z0-9_-].
absl::Status ValidateSuffix(absl::string_view suffix);

// INVALID_ARGUMENT naming `field` unless `id` can be a dataset id: "ds-" followed by 1 to 64
// lowercase letters, digits, '_' or '-' (the dataset service makes "ds-" and 16 hex digits).
absl::Status ValidateDatasetId(absl::string_view field, absl::string_view id);

// INVALID_ARGUMENT unless `id` can be a job id: "ftjob-" followed by 1 to 64 lowercase
// letters, digits, '_' or '-' (NewJobId makes "ftjob-" and 16 hex digits).
absl::Status ValidateJobId(absl::string_view id);

// "ftjob-" followed by 16 random lowercase hex digits.
std::string NewJobId();

// Every dataset a job names, without repeats: training, extra training, validation.
std::vector<std::string> JobDatasetIds(const v1::Job& job);

// A failed job's `failure`: `code` is the gRPC code name in lower case, or
// "retries_exhausted" when `exhausted`; `param` names the request field the message is
// about ("training_dataset", …) when the error is one of that input (not a service that was
// away, nor retries that ran out).
v1::JobError MakeJobError(absl::StatusCode code, absl::string_view message, bool exhausted);

// The name of the model a job publishes: "ft:<base>:<suffix>:<job-id>", where <base> is the
// root base model ("ethscan-base"), also when the job continues a fine-tuned model.
std::string FineTunedModelName(const v1::Job& job);

class JobManager {
 public:
  struct Options {
    // True when OPENAI_BASE_URL and OPENAI_API_KEY are both set.
    bool openai_configured = false;
    // The remote model a backend "openai" job fine-tunes when it names no base model
    // (ETHSCAN_OPENAI_BASE_MODEL).
    std::string openai_base_model = kDefaultOpenAiBaseModel;
    // Makes job ids; NewJobId when empty.
    std::function<std::string()> new_job_id;
    // How long WatchJob waits for events before it checks the job and the client again.
    absl::Duration watch_poll = absl::Seconds(1);
  };

  // Nothing is owned; everything must outlive the manager.
  JobManager(Options options, JobStore* store, JobQueue* queue, ModelRegistry* registry,
             DatasetClient* datasets, const common::Clock* clock);

  // See TrainingService.CreateJob. Returns the queued job. A failed call leaves no job and
  // no dataset reference behind (see "Job life" above).
  absl::StatusOr<v1::Job> CreateJob(const v1::CreateJobRequest& request);
  // The methods taking a job id return INVALID_ARGUMENT for an id that is not one
  // (ValidateJobId) and NOT_FOUND for an unknown job.
  absl::StatusOr<v1::Job> GetJob(absl::string_view id);
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& request);
  // FAILED_PRECONDITION when the job already finished.
  absl::StatusOr<v1::Job> CancelJob(absl::string_view id);
  // INVALID_ARGUMENT for a negative limit or an `after` that is not an event id
  // (ValidateEventId), checked before the store is asked.
  absl::StatusOr<std::vector<v1::JobEvent>> ListJobEvents(const v1::ListJobEventsRequest& request);

  // Sends every event of the job, then new ones as they arrive, each with the job as stored
  // when it is sent, until the job has finished and its last event was sent (OK), `send`
  // returns false or `cancelled` returns true (CANCELLED).
  absl::Status WatchJob(absl::string_view id,
                        const std::function<bool(const v1::WatchJobResponse&)>& send,
                        const std::function<bool()>& cancelled);
  // The same from the event after `after` (an event id; empty for every event): a client
  // that reconnects with the last id it received misses nothing and sees nothing twice.
  absl::Status WatchJob(absl::string_view id, absl::string_view after,
                        const std::function<bool(const v1::WatchJobResponse&)>& send,
                        const std::function<bool()>& cancelled);

  // See TrainingService.ListDeadLetters.
  absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(
      const v1::ListDeadLettersRequest& request);

  // A knowledge model has no epochs, so no checkpoints: an empty list for a known job.
  absl::StatusOr<std::vector<v1::Checkpoint>> ListCheckpoints(absl::string_view id);

 private:
  // A dataset of a job and what it is for ("training" or "validation").
  struct JobDataset {
    std::string role;
    std::string id;
  };

  // Validates the request into a new job `id` (status VALIDATING_FILES, not stored yet).
  absl::StatusOr<v1::Job> NewJob(const v1::CreateJobRequest& request, absl::string_view id);
  // Backend "openai": the endpoint is configured and the request asks nothing the remote API
  // cannot do (a test dataset, the local classifier's hyperparameters).
  absl::Status CheckOpenAiRequest(const v1::CreateJobRequest& request) const;
  // The registry's model named `name` (or that alias `name` points at); NOT_FOUND and other
  // failures with a message naming the base model.
  absl::StatusOr<v1::Model> ResolveBaseModel(absl::string_view name) const;
  // Backend "openai": the remote model to fine-tune: the configured default for none, a
  // remote model name as given, or a chat model of the registry (not a local model).
  absl::StatusOr<std::string> RemoteBaseModel(absl::string_view requested) const;
  // CreateJob once the idempotency key, if any, is reserved for job `id`.
  absl::StatusOr<v1::Job> CreateJobWithId(const v1::CreateJobRequest& request,
                                          absl::string_view id);
  // Sets queue_position of a queued job.
  absl::Status AddQueuePosition(v1::Job* job);
  // Looks every dataset of `datasets` up in the dataset service; returns the number of
  // training records. NOT_FOUND naming the first missing one.
  absl::StatusOr<uint64_t> CheckDatasets(const std::vector<JobDataset>& datasets);
  // Undoes a CreateJob after `job` was stored: drops `holder`'s references on `referenced`
  // and removes the job; when the removal fails, marks the job FAILED with `error`.
  void UndoCreate(const v1::Job& job, const std::vector<std::string>& referenced,
                  const std::string& error);
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

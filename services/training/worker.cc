#include "services/training/worker.h"

#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "services/training/job_manager.h"
#include "services/training/knowledge_builder.h"

namespace ethscan::training {
namespace {

bool IsTransient(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

absl::Status WithContext(const absl::Status& status, absl::string_view context) {
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

std::string LookupKey(absl::string_view address, uint64_t chain_id) {
  return absl::StrCat(absl::AsciiStrToLower(address), "/", chain_id == 0 ? 1 : chain_id);
}

}  // namespace

struct Worker::TrainResult {
  v1::Model model;
  BuildStats stats;
  std::map<std::string, double> metrics;
};

std::string DefaultConsumerName() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof(host), "worker");
  }
  return absl::StrCat(host, "-", getpid());
}

Worker::Worker(Options options, JobStore* store, JobQueue* queue, ModelRegistry* registry,
               DatasetClient* datasets, const common::Clock* clock)
    : options_(std::move(options)),
      consumer_(options_.consumer.empty() ? DefaultConsumerName() : options_.consumer),
      store_(store),
      queue_(queue),
      registry_(registry),
      datasets_(datasets),
      clock_(clock) {}

absl::StatusOr<std::optional<Worker::Outcome>> Worker::RunOnce() {
  ASSIGN_OR_RETURN(std::optional<QueueEntry> entry,
                   queue_->ClaimStale(consumer_, options_.claim_idle));
  if (entry.has_value()) {
    log::Info("claimed stalled entry ", entry->entry_id, " (job ", text::Quote(entry->job_id), ")");
  } else {
    ASSIGN_OR_RETURN(entry, queue_->ReadNew(consumer_, options_.block));
    if (!entry.has_value()) return std::optional<Outcome>();
  }
  return std::optional<Outcome>(Process(*entry));
}

void Worker::Run() {
  log::Info("worker ", consumer_, " consuming the job queue");
  while (!stopping_.load()) {
    absl::StatusOr<std::optional<Outcome>> result = RunOnce();
    if (!result.ok()) {
      log::Warning("job queue: ", result.status().message(), "; retrying in ",
                   absl::FormatDuration(options_.error_backoff));
      stopped_.WaitForNotificationWithTimeout(options_.error_backoff);
    }
  }
  log::Info("worker ", consumer_, " stopped");
}

void Worker::Stop() {
  if (!stopping_.exchange(true)) stopped_.Notify();
}

void Worker::Ack(const QueueEntry& entry) {
  absl::Status status = queue_->Ack(entry.entry_id);
  if (!status.ok()) {
    log::Warning("cannot acknowledge entry ", entry.entry_id, ": ", status.message(),
                 " (it will be delivered again and skipped)");
  }
}

void Worker::ReleaseDatasets(const v1::Job& job) {
  datasets_->RemoveReferencesLogged(JobDatasetIds(job), JobHolder(job.id()));
}

void Worker::Event(const v1::Job& job, absl::string_view level, absl::string_view message) {
  absl::Status status = store_->AppendEvent(job.id(), MessageEvent(clock_->Now(), level, message));
  if (!status.ok()) {
    log::Warning("job ", text::Quote(job.id()), ": cannot append event: ", status.message());
  }
}

Worker::Outcome Worker::Process(const QueueEntry& entry) {
  if (entry.job_id.empty()) {
    log::Warning("queue entry ", entry.entry_id, " names no job; dropping it");
    Ack(entry);
    return Outcome::kSkipped;
  }
  absl::StatusOr<v1::Job> job = store_->Get(entry.job_id);
  if (absl::IsNotFound(job.status())) {
    log::Warning("queue entry ", entry.entry_id, ": job ", text::Quote(entry.job_id),
                 " is unknown; dropping");
    Ack(entry);
    return Outcome::kSkipped;
  }
  if (!job.ok()) {
    log::Warning("job ", text::Quote(entry.job_id), ": ", job.status().message(),
                 "; leaving it queued");
    return Outcome::kAbandoned;
  }
  if (IsFinished(job->status())) {
    ReleaseDatasets(*job);
    Ack(entry);
    return job->status() == v1::JOB_STATUS_CANCELLED ? Outcome::kCancelled : Outcome::kSkipped;
  }
  if (job->attempts() >= options_.max_attempts) {
    std::string error = absl::StrCat("gave up after ", job->attempts(), " attempts");
    absl::StrAppend(&error, job->error().empty()
                                ? "; the last one did not finish (its worker stopped or crashed)"
                                : absl::StrCat(": ", job->error()));
    return FailForGood(*job, entry, error);
  }

  v1::Job running = *job;
  running.set_status(v1::JOB_STATUS_RUNNING);
  running.set_attempts(job->attempts() + 1);
  running.clear_error();
  SetTimestamp(clock_->Now(), running.mutable_start_time());
  v1::JobEvent started =
      MessageEvent(clock_->Now(), "info",
                   absl::StrCat("attempt ", running.attempts(), " of ", options_.max_attempts,
                                " started by worker ", consumer_),
                   v1::JOB_STATUS_RUNNING);
  absl::Status claimed = store_->Update(*job, running, &started);
  if (!claimed.ok()) {
    absl::StatusOr<v1::Job> now = store_->Get(entry.job_id);
    if (now.ok() && IsFinished(now->status())) {
      Ack(entry);
      return Outcome::kCancelled;
    }
    log::Warning("job ", text::Quote(entry.job_id), ": cannot start: ", claimed.message());
    return Outcome::kAbandoned;
  }
  log::Info("job ", text::Quote(running.id()), ": attempt ", running.attempts(), " started");

  Interrupt interrupt = Interrupt::kNone;
  absl::StatusOr<TrainResult> result = Train(running, entry, &interrupt);
  switch (interrupt) {
    case Interrupt::kCancelled:
      Event(running, "info", "training stopped: the job was cancelled");
      ReleaseDatasets(running);
      Ack(entry);
      return Outcome::kCancelled;
    case Interrupt::kStopping:
      return Abandon(running, "the worker is stopping");
    case Interrupt::kTakenOver:
      log::Warning("job ", text::Quote(running.id()), " was taken over by another worker");
      return Outcome::kAbandoned;
    case Interrupt::kNone:
      break;
  }
  if (!result.ok()) return HandleFailure(running, entry, result.status());

  v1::JobEvent metrics =
      MessageEvent(clock_->Now(), "info",
                   absl::StrCat("trained on ", result->stats.trained_records,
                                " records: ", result->stats.addresses, " addresses, ",
                                result->stats.conflicts, " conflicts resolved"));
  metrics.set_type("metrics");
  for (const auto& [name, value] : result->metrics) (*metrics.mutable_metrics())[name] = value;
  absl::Status appended = store_->AppendEvent(running.id(), metrics);
  if (!appended.ok()) log::Warning("job ", text::Quote(running.id()), ": ", appended.message());

  v1::Job succeeded = running;
  succeeded.set_status(v1::JOB_STATUS_SUCCEEDED);
  succeeded.set_fine_tuned_model(result->model.name());
  succeeded.set_trained_records(result->stats.trained_records);
  SetTimestamp(clock_->Now(), succeeded.mutable_finish_time());
  v1::JobEvent done =
      MessageEvent(clock_->Now(), "info",
                   absl::StrCat("fine-tuned model ", result->model.name(), " published (",
                                result->model.address_count(), " addresses, ",
                                result->model.size_bytes(), " bytes)"),
                   v1::JOB_STATUS_SUCCEEDED);
  absl::Status finished = store_->Update(running, succeeded, &done);
  if (finished.ok()) {
    log::Info("job ", text::Quote(running.id()), " succeeded: ", text::Quote(result->model.name()));
    ReleaseDatasets(running);
    Ack(entry);
    return Outcome::kSucceeded;
  }
  if (absl::IsAborted(finished)) {
    absl::StatusOr<v1::Job> now = store_->Get(running.id());
    if (now.ok() && now->status() == v1::JOB_STATUS_CANCELLED) {
      absl::Status deleted = registry_->Delete(result->model.name());
      if (!deleted.ok()) {
        log::Warning("cannot withdraw ", text::Quote(result->model.name()), ": ",
                     deleted.message());
      }
      Event(running, "info",
            absl::StrCat("the job was cancelled; model ", result->model.name(), " withdrawn"));
      ReleaseDatasets(running);
      Ack(entry);
      return Outcome::kCancelled;
    }
    // Another worker took the job over and publishes the same model name.
    return Outcome::kAbandoned;
  }
  return HandleFailure(running, entry, finished);
}

absl::StatusOr<Worker::Interrupt> Worker::CheckStillOurs(const v1::Job& running) {
  if (stopping_.load()) return Interrupt::kStopping;
  ASSIGN_OR_RETURN(v1::Job now, store_->Get(running.id()));
  if (now.status() == v1::JOB_STATUS_CANCELLED) return Interrupt::kCancelled;
  if (now.status() != v1::JOB_STATUS_RUNNING || now.attempts() != running.attempts()) {
    return Interrupt::kTakenOver;
  }
  return Interrupt::kNone;
}

absl::StatusOr<Worker::TrainResult> Worker::Train(const v1::Job& job, const QueueEntry& entry,
                                                  Interrupt* interrupt) {
  std::vector<std::string> ids = {job.training_dataset()};
  for (const std::string& d : job.extra_training_datasets()) {
    if (std::find(ids.begin(), ids.end(), d) == ids.end()) ids.push_back(d);
  }
  KnowledgeBuilder builder;
  std::vector<dataset::v1::Dataset> datasets;
  uint64_t total_records = 0;
  for (const std::string& id : ids) {
    absl::StatusOr<dataset::v1::Dataset> dataset = datasets_->GetDataset(id);
    if (!dataset.ok())
      return WithContext(dataset.status(), absl::StrCat("dataset ", text::Quote(id)));
    RETURN_IF_ERROR(builder.AddDataset(*dataset));
    total_records += dataset->record_count();
    datasets.push_back(*std::move(dataset));
  }
  Event(job, "info",
        absl::StrCat("reading ", datasets.size(), " dataset(s), ", total_records, " records"));
  if (job.base_model() != kDefaultBaseModel && !job.base_model().empty()) {
    absl::StatusOr<v1::KnowledgeModel> base = registry_->Load(job.base_model());
    if (!base.ok()) {
      return WithContext(base.status(), absl::StrCat("base model ", text::Quote(job.base_model())));
    }
    RETURN_IF_ERROR(builder.AddBaseModel(*base));
    Event(job, "info",
          absl::StrCat("merging base model ", job.base_model(), " (", base->entries_size(),
                       " addresses) under the new datasets"));
  }

  const absl::Duration heartbeat_every = options_.claim_idle / 3;
  absl::Time last_heartbeat = clock_->Now();
  absl::Status interrupted = absl::AbortedError("training interrupted");
  auto check = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(*interrupt, CheckStillOurs(job));
    if (*interrupt != Interrupt::kNone) return interrupted;
    if (clock_->Now() - last_heartbeat >= heartbeat_every) {
      absl::Status beat = queue_->Heartbeat(consumer_, entry.entry_id);
      if (!beat.ok()) {
        log::Warning("heartbeat for job ", text::Quote(job.id()), ": ", beat.message());
      }
      last_heartbeat = clock_->Now();
    }
    return absl::OkStatus();
  };
  for (const dataset::v1::Dataset& d : datasets) {
    absl::Status read = datasets_->ReadRecords(
        d, [&](const dataset::v1::ReadRecordsResponse& batch) -> absl::Status {
          RETURN_IF_ERROR(check());
          for (const common::v1::AddressRecord& r : batch.records()) {
            RETURN_IF_ERROR(builder.AddRecord(d.id(), r));
          }
          return absl::OkStatus();
        });
    if (*interrupt != Interrupt::kNone) return interrupted;
    if (!read.ok()) return WithContext(read, absl::StrCat("reading dataset ", text::Quote(d.id())));
  }
  RETURN_IF_ERROR(check());

  v1::KnowledgeModel model =
      builder.Build({FineTunedModelName(job), job.base_model(), job.id(), clock_->Now()});
  TrainResult result;
  result.stats = builder.stats();
  if (result.stats.skipped_records > 0) {
    Event(job, "warning",
          absl::StrCat(
              "skipped ", result.stats.skipped_records,
              " record(s) with an invalid address; first: ", result.stats.first_skip_reason));
  }
  result.metrics = {
      {"step", 1},
      {"total_steps", 1},
      {"trained_records", static_cast<double>(result.stats.trained_records)},
      {"addresses", static_cast<double>(result.stats.addresses)},
      {"conflicts", static_cast<double>(result.stats.conflicts)},
      {"conflicting_addresses", static_cast<double>(result.stats.conflicting_addresses)},
      {"skipped_records", static_cast<double>(result.stats.skipped_records)},
      {"base_claims", static_cast<double>(result.stats.base_claims)},
  };

  if (!job.validation_dataset().empty()) {
    // How much of the validation set the model knows, and how often it agrees on the label.
    absl::StatusOr<dataset::v1::Dataset> valid = datasets_->GetDataset(job.validation_dataset());
    if (!valid.ok()) {
      return WithContext(valid.status(), absl::StrCat("validation dataset ",
                                                      text::Quote(job.validation_dataset())));
    }
    absl::flat_hash_map<std::string, int> index;
    index.reserve(model.entries_size());
    for (int i = 0; i < model.entries_size(); ++i) {
      const common::v1::AddressRecord& m = model.entries(i).merged();
      index[LookupKey(m.address(), m.chain_id())] = i;
    }
    uint64_t seen = 0, known = 0, labelled = 0, agreeing = 0;
    absl::Status read = datasets_->ReadRecords(
        *valid, [&](const dataset::v1::ReadRecordsResponse& batch) -> absl::Status {
          RETURN_IF_ERROR(check());
          for (const common::v1::AddressRecord& r : batch.records()) {
            ++seen;
            auto it = index.find(LookupKey(r.address(), r.chain_id()));
            if (it == index.end()) continue;
            ++known;
            if (common::LabelSeverity(r.label()) <= 0) continue;
            ++labelled;
            if (common::LabelSeverity(r.label()) ==
                common::LabelSeverity(model.entries(it->second).merged().label())) {
              ++agreeing;
            }
          }
          return absl::OkStatus();
        });
    if (*interrupt != Interrupt::kNone) return interrupted;
    if (!read.ok()) {
      return WithContext(read,
                         absl::StrCat("reading validation dataset ", text::Quote(valid->id())));
    }
    result.metrics["valid_records"] = static_cast<double>(seen);
    result.metrics["valid_known_fraction"] =
        seen == 0 ? 0.0 : static_cast<double>(known) / static_cast<double>(seen);
    result.metrics["valid_label_accuracy"] =
        labelled == 0 ? 0.0 : static_cast<double>(agreeing) / static_cast<double>(labelled);
  }

  ASSIGN_OR_RETURN(result.model, registry_->Publish(model));
  return result;
}

Worker::Outcome Worker::HandleFailure(const v1::Job& running, const QueueEntry& entry,
                                      const absl::Status& error) {
  std::string message(error.message());
  if (!IsTransient(error)) return FailForGood(running, entry, message);
  if (running.attempts() >= options_.max_attempts) {
    return FailForGood(running, entry,
                       absl::StrCat("gave up after ", running.attempts(), " attempts: ", message));
  }
  v1::Job queued = running;
  queued.set_status(v1::JOB_STATUS_QUEUED);
  queued.set_error(message);
  v1::JobEvent event =
      MessageEvent(clock_->Now(), "warning",
                   absl::StrCat("attempt ", running.attempts(), " of ", options_.max_attempts,
                                " failed: ", message, "; it is retried once idle for ",
                                absl::FormatDuration(options_.claim_idle)),
                   v1::JOB_STATUS_QUEUED);
  absl::Status status = store_->Update(running, queued, &event);
  if (!status.ok()) {
    log::Warning("job ", text::Quote(running.id()), ": cannot re-queue: ", status.message());
  }
  log::Warning("job ", text::Quote(running.id()), ": attempt ", running.attempts(),
               " failed: ", message);
  return Outcome::kRetry;
}

Worker::Outcome Worker::FailForGood(const v1::Job& job, const QueueEntry& entry,
                                    const std::string& error) {
  v1::Job failed = job;
  failed.set_status(v1::JOB_STATUS_FAILED);
  failed.set_error(error);
  SetTimestamp(clock_->Now(), failed.mutable_finish_time());
  v1::JobEvent event = MessageEvent(clock_->Now(), "error", absl::StrCat("job failed: ", error),
                                    v1::JOB_STATUS_FAILED);
  absl::Status status = store_->Update(job, failed, &event);
  if (!status.ok()) {
    absl::StatusOr<v1::Job> now = store_->Get(job.id());
    if (now.ok() && IsFinished(now->status())) {
      Ack(entry);
      return Outcome::kSkipped;
    }
    log::Warning("job ", text::Quote(job.id()), ": cannot record failure: ", status.message());
    return Outcome::kAbandoned;
  }
  ReleaseDatasets(job);
  absl::Status dead = queue_->DeadLetter(job.id(), error, job.attempts());
  if (!dead.ok()) {
    log::Warning("job ", text::Quote(job.id()), ": cannot dead-letter: ", dead.message());
  }
  log::Error("job ", text::Quote(job.id()), " failed: ", error);
  Ack(entry);
  return Outcome::kFailed;
}

Worker::Outcome Worker::Abandon(const v1::Job& running, const std::string& why) {
  v1::Job queued = running;
  queued.set_status(v1::JOB_STATUS_QUEUED);
  v1::JobEvent event =
      MessageEvent(clock_->Now(), "warning",
                   absl::StrCat("attempt ", running.attempts(), " abandoned: ", why,
                                "; another worker resumes the job"),
                   v1::JOB_STATUS_QUEUED);
  absl::Status status = store_->Update(running, queued, &event);
  if (!status.ok()) {
    log::Warning("job ", text::Quote(running.id()), ": cannot re-queue: ", status.message());
  }
  return Outcome::kAbandoned;
}

}  // namespace ethscan::training

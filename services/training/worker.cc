#include "services/training/worker.h"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/features/schema.h"
#include "common/log/log.h"
#include "common/model/package.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "services/training/classifier_trainer.h"
#include "services/training/job_manager.h"
#include "services/training/knowledge_trainer.h"
#include "services/training/trainer.h"

namespace ethscan::training {

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
  absl::Status out(status.code(), absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

namespace {

// Wall-clock time of the phases of one attempt, for the job's events.
class PhaseTimer {
 public:
  // Ends the phase running since the last call (or construction) and names it; `detail`
  // goes in brackets after its time.
  void End(absl::string_view phase, absl::string_view detail = "") {
    const absl::Time now = absl::Now();
    parts_.push_back(absl::StrFormat("%s %.2f s%s", phase, absl::ToDoubleSeconds(now - last_),
                                     detail.empty() ? "" : absl::StrCat(" (", detail, ")")));
    last_ = now;
  }
  std::string Text() const { return absl::StrJoin(parts_, ", "); }

 private:
  absl::Time last_ = absl::Now();
  std::vector<std::string> parts_;
};

}  // namespace

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
      clock_(clock),
      retry_backoff_(options_.retry_backoff, options_.retry_backoff_max) {}

void Worker::RetryReleases() {
  const absl::Time now = clock_->Now();
  if (now - last_release_retry_ < options_.release_retry_interval) return;
  last_release_retry_ = now;
  absl::StatusOr<std::vector<std::string>> pending = store_->PendingReleases(20);
  if (!pending.ok()) return;
  for (const std::string& id : *pending) {
    absl::StatusOr<v1::Job> job = store_->Get(id);
    bool done = absl::IsNotFound(job.status());
    if (job.ok() && IsFinished(job->status())) {
      done = datasets_->RemoveReferencesLogged(JobDatasetIds(*job), JobHolder(id));
      if (done) log::Info("job ", text::Quote(id), ": its dataset references are dropped now");
    }
    if (done) {
      absl::Status removed = store_->RemovePendingRelease(id);
      if (!removed.ok()) log::Warning("job ", text::Quote(id), ": ", removed.message());
    }
  }
}

absl::StatusOr<std::optional<Worker::Outcome>> Worker::RunOnce() {
  RetryReleases();
  ASSIGN_OR_RETURN(int due, queue_->PromoteDue(clock_->Now()));
  if (due > 0) log::Info(due, " job(s) due for a retry queued again");
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
  if (!datasets_->RemoveReferencesLogged(JobDatasetIds(job), JobHolder(job.id()))) {
    // Retried by RetryReleases until the dataset service takes them.
    absl::Status noted = store_->AddPendingRelease(job.id());
    if (!noted.ok()) {
      log::Warning("job ", text::Quote(job.id()),
                   ": cannot note its dataset references for a later retry: ", noted.message());
    }
  }
}

void Worker::DropCheckpoints(const v1::Job& job) {
  absl::StatusOr<int> dropped = registry_->DeleteCheckpoints(job.id());
  if (!dropped.ok()) {
    log::Warning("job ", text::Quote(job.id()),
                 ": cannot delete its checkpoints: ", dropped.status().message());
  }
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
    return FailForGood(*job, entry, error,
                       MakeJobError(absl::StatusCode::kUnavailable, error, /*exhausted=*/true));
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
  const bool remote = running.backend() == kOpenAiBackend;
  absl::StatusOr<TrainResult> result =
      remote ? TrainRemote(running, entry, &interrupt) : Train(running, entry, &interrupt);
  if (remote) {
    // What the attempt recorded of the remote job stays with the job whatever comes next.
    absl::StatusOr<v1::Job> now = store_->Get(running.id());
    if (now.ok() && JobState(*now) == JobState(running)) *running.mutable_remote() = now->remote();
  }
  switch (interrupt) {
    case Interrupt::kCancelled:
      Event(running, "info", "training stopped: the job was cancelled");
      DropCheckpoints(running);
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

  Event(running, "info", absl::StrCat("time spent: ", result->timings));
  v1::JobEvent metrics = MessageEvent(
      clock_->Now(), "info",
      absl::StrCat("trained ", result->model.kind(), " on ", result->trained_records, " records"));
  metrics.set_type("metrics");
  for (const auto& [name, value] : result->metrics) (*metrics.mutable_metrics())[name] = value;
  (*metrics.mutable_metrics())["step"] = result->step;
  (*metrics.mutable_metrics())["total_steps"] = result->total_steps;
  absl::Status appended = store_->AppendEvent(running.id(), metrics);
  if (!appended.ok()) log::Warning("job ", text::Quote(running.id()), ": ", appended.message());

  v1::Job succeeded = running;
  succeeded.set_status(v1::JOB_STATUS_SUCCEEDED);
  succeeded.set_fine_tuned_model(result->model.name());
  succeeded.set_trained_records(result->trained_records);
  succeeded.set_trained_examples(result->trained_examples);
  succeeded.clear_estimated_finish();
  succeeded.set_step(result->step);
  succeeded.set_total_steps(result->total_steps);
  for (const auto& [name, value] : result->hyperparameters) {
    (*succeeded.mutable_hyperparameters_used())[name] = value;
  }
  SetTimestamp(clock_->Now(), succeeded.mutable_finish_time());
  v1::JobEvent done =
      MessageEvent(clock_->Now(), "info",
                   absl::StrCat("fine-tuned model ", result->model.name(), " published (",
                                result->model.kind(), ", ", result->model.address_count(),
                                " addresses, ", result->model.size_bytes(), " bytes)"),
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
      DropCheckpoints(running);
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

void Worker::HeartbeatIfDue(const v1::Job& job, const QueueEntry& entry, absl::Time* last) {
  const absl::Time now = clock_->Now();
  if (now - *last < options_.claim_idle / 3) return;
  absl::Status beat = queue_->Heartbeat(consumer_, entry.entry_id);
  if (!beat.ok()) log::Warning("heartbeat for job ", text::Quote(job.id()), ": ", beat.message());
  *last = now;
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

// Reports a job's training: events to the job store, checkpoints to the registry, and the
// interruption checks with the queue entry's heartbeat. Trainers only hand it work: a thread
// of its own (the reporter) makes the round trips and writes the files, so a boosting round
// never waits on Redis or a disk. What the trainers report is written in the order they
// reported it (a checkpoint's "saved" message after the events before it).
// Any thread may call it; every method takes the one lock, and none holds it across a round
// trip.
class Worker::JobSink final : public TrainingSink {
 public:
  JobSink(Worker* worker, const v1::Job& job, const QueueEntry& entry, Interrupt* interrupt,
          const model::v1::ModelPackage* finished)
      : worker_(worker),
        job_(job),
        entry_(entry),
        interrupt_(interrupt),
        finished_(finished),
        model_name_(FineTunedModelName(job)),
        last_heartbeat_(worker->clock_->Now()),
        reporter_([this] { Report(); }) {}

  // Writes what waits, then stops the reporter.
  ~JobSink() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    reporter_.join();
  }

  // Written promptly (not batched like metrics), after the events before it.
  void Message(absl::string_view level, absl::string_view message) override {
    absl::MutexLock lock(&mu_);
    items_.push_back(Item{MessageEvent(worker_->clock_->Now(), level, message), {}});
    flush_now_ = true;
  }

  // Metrics events are appended in batches: one round trip per event_flush_interval rather
  // than one per boosting round. With a zero interval each is written before training goes
  // on.
  void Metrics(absl::string_view message, int step, int total_steps,
               const std::map<std::string, double>& metrics) override {
    v1::JobEvent event = MessageEvent(worker_->clock_->Now(), "info", message);
    event.set_type("metrics");
    for (const auto& [name, value] : metrics) (*event.mutable_metrics())[name] = value;
    absl::MutexLock lock(&mu_);
    items_.push_back(Item{std::move(event), {}, step, total_steps});
    if (first_step_ == 0) {
      first_step_ = step;
      first_step_time_ = worker_->clock_->Now();
    }
    step_ = step;
    total_steps_ = total_steps;
    if (worker_->options_.event_flush_interval <= absl::ZeroDuration()) {
      flush_now_ = true;
      mu_.Await(absl::Condition(this, &JobSink::Idle));
    }
  }

  // Waits until everything reported so far is written.
  void Flush() {
    absl::MutexLock lock(&mu_);
    flush_now_ = true;
    mu_.Await(absl::Condition(this, &JobSink::Idle));
  }

  // Queued for the reporter, which publishes it. At most kCheckpointsWaiting wait: a disk
  // slower than the epochs slows training rather than piling models up in memory.
  void Checkpoint(int step, std::string artefact,
                  const std::map<std::string, double>& metrics) override {
    CheckpointWork work;
    work.step = step;
    work.artefact = std::move(artefact);
    work.metrics = metrics;
    absl::MutexLock lock(&mu_);
    // The manifest as it is now: the worker goes on filling the package once training ends.
    work.manifest = finished_->manifest();
    SetTimestamp(worker_->clock_->Now(), work.manifest.mutable_create_time());
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return checkpoints_waiting_ < kCheckpointsWaiting;
    };
    mu_.Await(absl::Condition(&room));
    ++checkpoints_waiting_;
    items_.push_back(Item{std::nullopt, std::move(work)});
  }

  // Between boosting rounds and record batches: what the reporter saw when it last looked
  // the job up (every check_interval), with no round trip here; with a zero check_interval
  // the job is looked up now.
  absl::Status Check() override {
    if (worker_->options_.check_interval <= absl::ZeroDuration()) return CheckNow();
    absl::MutexLock lock(&mu_);
    return SeenLocked();
  }

  // Looks the job up now.
  absl::Status CheckNow() {
    {
      absl::MutexLock lock(&mu_);
      RETURN_IF_ERROR(SeenLocked());
    }
    absl::StatusOr<Interrupt> seen = worker_->CheckStillOurs(job_);
    absl::MutexLock lock(&mu_);
    if (!seen.ok()) return seen.status();
    if (*seen != Interrupt::kNone) return Interrupted(*seen);
    return absl::OkStatus();
  }

  int step() {
    absl::MutexLock lock(&mu_);
    return step_;
  }
  int total_steps() {
    absl::MutexLock lock(&mu_);
    return total_steps_;
  }

 private:
  static constexpr int kCheckpointsWaiting = 2;

  struct CheckpointWork {
    int step = 0;
    std::string artefact;
    std::map<std::string, double> metrics;
    model::v1::Manifest manifest;
  };
  // An event to append (a metrics event with its step of the total), or a checkpoint to
  // publish.
  struct Item {
    std::optional<v1::JobEvent> event;
    std::optional<CheckpointWork> checkpoint;
    int step = 0;
    int total_steps = 0;
  };

  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return items_.empty() && !busy_; }

  // An interruption known without a round trip, or the error of the reporter's last look.
  absl::Status SeenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (*interrupt_ != Interrupt::kNone) return Interrupted(*interrupt_);
    if (worker_->stopping_.load()) return Interrupted(Interrupt::kStopping);
    if (seen_ != Interrupt::kNone) return Interrupted(seen_);
    if (!check_error_.ok()) return std::exchange(check_error_, absl::OkStatus());
    return absl::OkStatus();
  }

  // The reporter: writes the items in order (at once when a message or a checkpoint waits or
  // a flush was asked for, else every event_flush_interval), records the step reached, looks
  // the job up every check_interval and keeps the queue entry alive.
  void Report() {
    absl::MutexLock lock(&mu_);
    absl::Time last_flush = absl::Now();
    absl::Time last_check = absl::Now();
    while (true) {
      auto urgent = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (flush_now_ && !items_.empty()) || checkpoints_waiting_ > 0;
      };
      // Also often enough for the queue entry's heartbeat.
      const absl::Time wake =
          std::min({last_check + worker_->options_.check_interval,
                    items_.empty() ? absl::InfiniteFuture()
                                   : last_flush + worker_->options_.event_flush_interval,
                    absl::Now() + worker_->options_.claim_idle / 3});
      mu_.AwaitWithDeadline(absl::Condition(&urgent), wake);
      const absl::Time now = absl::Now();
      const bool write = !items_.empty() &&
                         (urgent() || now >= last_flush + worker_->options_.event_flush_interval);
      const bool check = now >= last_check + worker_->options_.check_interval;
      if (stopping_ && items_.empty()) break;
      std::deque<Item> items;
      if (write) items.swap(items_);
      flush_now_ = false;
      const int first_step = first_step_;
      const absl::Time first_step_time = first_step_time_;
      busy_ = true;
      mu_.Unlock();
      if (write) {
        WriteItems(&items);
        RecordProgress(items, first_step, first_step_time);
        last_flush = absl::Now();
      }
      absl::StatusOr<Interrupt> seen = Interrupt::kNone;
      if (check) {
        seen = worker_->CheckStillOurs(job_);
        last_check = absl::Now();
      }
      worker_->HeartbeatIfDue(job_, entry_, &last_heartbeat_);
      mu_.Lock();
      busy_ = false;
      if (!seen.ok()) {
        check_error_ = seen.status();
      } else if (*seen != Interrupt::kNone) {
        seen_ = *seen;
      }
      for (const Item& item : items) checkpoints_waiting_ -= item.checkpoint.has_value() ? 1 : 0;
    }
  }

  // Appends the events in runs and publishes each checkpoint where it stands among them.
  void WriteItems(std::deque<Item>* items) {
    std::vector<v1::JobEvent> run;
    auto append = [&] {
      if (run.empty()) return;
      absl::Status appended = worker_->store_->AppendEvents(job_.id(), run);
      if (!appended.ok()) {
        log::Warning("job ", text::Quote(job_.id()), ": cannot append ", run.size(),
                     " event(s): ", appended.message());
      }
      run.clear();
    };
    for (Item& item : *items) {
      if (item.event.has_value()) {
        run.push_back(std::move(*item.event));
        continue;
      }
      append();
      v1::JobEvent said = Publish(&*item.checkpoint);
      run.push_back(std::move(said));
    }
    append();
  }

  // Publishes a checkpoint: the classifier as of its step, under the job's manifest of then.
  // The knowledge index is the same at every step (it is the job's model's), so a checkpoint
  // does not copy it. Returns the event that says how it went.
  v1::JobEvent Publish(CheckpointWork* work) {
    model::v1::ModelPackage package;
    *package.mutable_manifest() = std::move(work->manifest);
    package.mutable_manifest()->clear_artefacts();
    package.mutable_manifest()->clear_kinds();
    // Its metrics are the step's, not the summary of kinds finished before.
    package.mutable_manifest()->clear_metrics();
    absl::Status added = model::AddArtefact(&package, model::kClassifierKind,
                                            model::kClassifierFormat, std::move(work->artefact));
    if (added.ok()) {
      for (const auto& [name, value] : work->metrics) {
        (*package.mutable_manifest()->mutable_metrics())[name] = value;
      }
      absl::StatusOr<v1::Model> saved =
          worker_->registry_->PublishCheckpoint(std::move(package), model_name_, work->step);
      if (saved.ok()) {
        return MessageEvent(worker_->clock_->Now(), "info",
                            absl::StrCat("checkpoint ", saved->name(), " saved"));
      }
      added = saved.status();
    }
    return MessageEvent(
        worker_->clock_->Now(), "warning",
        absl::StrCat("cannot save the checkpoint at step ", work->step, ": ", added.message()));
  }

  // Records the step of the last metrics event written in the job, with the finish estimated
  // at the pace so far. Same status and attempt, so a cancel or a take-over meanwhile makes
  // this fail, and the next look at the job sees why.
  void RecordProgress(const std::deque<Item>& written, int first_step, absl::Time first_time) {
    const Item* last = nullptr;
    for (const Item& item : written) last = item.step > 0 ? &item : last;
    if (last == nullptr) return;
    v1::Job progress = job_;
    progress.set_step(last->step);
    progress.set_total_steps(last->total_steps);
    if (last->step > first_step) {
      const absl::Time now = worker_->clock_->Now();
      const absl::Duration per_step = (now - first_time) / (last->step - first_step);
      SetTimestamp(now + per_step * (last->total_steps - last->step),
                   progress.mutable_estimated_finish());
    }
    absl::Status recorded = worker_->store_->Update(job_, progress, nullptr);
    if (!recorded.ok() && !absl::IsAborted(recorded)) {
      log::Warning("job ", text::Quote(job_.id()),
                   ": cannot record its progress: ", recorded.message());
    }
  }

  absl::Status Interrupted(Interrupt why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    *interrupt_ = why;
    return absl::AbortedError("training interrupted");
  }

  Worker* const worker_;
  const v1::Job& job_;
  const QueueEntry& entry_;
  absl::Mutex mu_;
  Interrupt* const interrupt_ ABSL_PT_GUARDED_BY(mu_);
  // The model being built: its manifest so far is a checkpoint's.
  const model::v1::ModelPackage* const finished_;
  const std::string model_name_;
  // The reporter's alone.
  absl::Time last_heartbeat_;
  std::deque<Item> items_ ABSL_GUARDED_BY(mu_);
  int checkpoints_waiting_ ABSL_GUARDED_BY(mu_) = 0;
  bool flush_now_ ABSL_GUARDED_BY(mu_) = false;
  // The reporter is writing or looking the job up.
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // What the reporter's last look at the job found.
  Interrupt seen_ ABSL_GUARDED_BY(mu_) = Interrupt::kNone;
  absl::Status check_error_ ABSL_GUARDED_BY(mu_);
  int step_ ABSL_GUARDED_BY(mu_) = 0;
  int total_steps_ ABSL_GUARDED_BY(mu_) = 0;
  // The first step of this attempt and when it was reached, for the estimated finish.
  int first_step_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time first_step_time_ ABSL_GUARDED_BY(mu_);
  // Last: it starts once every other member is ready.
  std::thread reporter_;
};

namespace {

Side HeldOutSide(absl::string_view address, uint64_t seed, bool hold_validation, bool hold_test) {
  const int bucket = HoldoutBucket(address, seed);
  if (hold_validation && bucket < kHoldoutPercent) return Side::kValidation;
  if (hold_test && bucket >= kHoldoutPercent && bucket < 2 * kHoldoutPercent) return Side::kTest;
  return Side::kTraining;
}

}  // namespace

int HoldoutBucket(absl::string_view address, uint64_t seed) {
  // FNV-1a over the seed's decimal digits, ':' and the lowercase address: stable across
  // processes and versions, so one job always holds out the same addresses.
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (char c : absl::StrCat(seed, ":")) mix(static_cast<unsigned char>(c));
  for (char c : address) mix(static_cast<unsigned char>(absl::ascii_tolower(c)));
  return static_cast<int>(h % 100);
}

absl::StatusOr<std::vector<Worker::SideDataset>> Worker::LoadDatasets(const v1::Job& job) {
  std::vector<std::pair<std::string, Side>> wanted = {{job.training_dataset(), Side::kTraining}};
  for (const std::string& d : job.extra_training_datasets()) {
    bool seen = false;
    for (const auto& w : wanted) seen = seen || w.first == d;
    if (!seen) wanted.push_back({d, Side::kTraining});
  }
  if (!job.validation_dataset().empty()) {
    wanted.push_back({job.validation_dataset(), Side::kValidation});
  }
  if (!job.test_dataset().empty()) wanted.push_back({job.test_dataset(), Side::kTest});
  std::vector<SideDataset> datasets;
  for (const auto& [id, side] : wanted) {
    absl::StatusOr<dataset::v1::Dataset> dataset = datasets_->GetDataset(id);
    if (!dataset.ok()) {
      return WithContext(dataset.status(),
                         absl::StrCat(SideName(side), " dataset ", text::Quote(id)));
    }
    datasets.push_back({*std::move(dataset), side});
  }
  return datasets;
}

void Worker::AddDatasetRefs(const std::vector<SideDataset>& datasets,
                            model::v1::Manifest* manifest) {
  for (const SideDataset& d : datasets) {
    model::v1::DatasetRef* ref = manifest->add_datasets();
    ref->set_id(d.dataset.id());
    ref->set_name(d.dataset.name());
    ref->set_role(std::string(SideName(d.side)));
    ref->set_record_count(d.dataset.record_count());
    ref->set_content_sha256(d.dataset.sha256());
  }
}

absl::StatusOr<Worker::TrainResult> Worker::Train(const v1::Job& job, const QueueEntry& entry,
                                                  Interrupt* interrupt) {
  absl::StatusOr<ClassifierHyperparameters> hyperparameters =
      HyperparametersFromProto(job.hyperparameters());
  if (!hyperparameters.ok()) return hyperparameters.status();

  // An earlier attempt that published the model and stopped before marking the job
  // succeeded leaves nothing to train.
  absl::StatusOr<v1::Model> existing = registry_->Resolve(FineTunedModelName(job));
  if (existing.ok() && existing->job_id() == job.id()) {
    Event(job, "info",
          absl::StrCat("model ", existing->name(),
                       " was published by an earlier attempt; nothing left to train"));
    TrainResult result;
    result.model = *existing;
    result.TakeCard(existing->manifest());
    const auto& metrics = existing->manifest().metrics();
    auto rows = metrics.find("classifier_train_rows");
    result.trained_examples =
        rows == metrics.end() ? result.trained_records : static_cast<uint64_t>(rows->second);
    auto rounds = metrics.find("classifier_rounds");
    result.step = result.total_steps =
        rounds == metrics.end() ? 1 : static_cast<int>(rounds->second);
    result.timings = "nothing (published before)";
    return result;
  }
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();

  ASSIGN_OR_RETURN(std::vector<SideDataset> datasets, LoadDatasets(job));
  uint64_t total_records = 0;
  for (const SideDataset& d : datasets) total_records += d.dataset.record_count();

  std::vector<std::unique_ptr<Trainer>> trainers;
  trainers.push_back(std::make_unique<KnowledgeTrainer>());
  auto behavioural = std::make_unique<BehaviouralTrainer>(*hyperparameters);
  BehaviouralTrainer* const classifier = behavioural.get();
  trainers.push_back(std::move(behavioural));
  for (const SideDataset& d : datasets) {
    for (auto& t : trainers) RETURN_IF_ERROR(t->AddDataset(d.dataset, d.side));
  }
  Event(job, "info",
        absl::StrCat("reading ", datasets.size(), " dataset(s), ", total_records, " records"));

  model::v1::ModelPackage package;
  model::v1::Manifest* manifest = package.mutable_manifest();
  manifest->set_name(FineTunedModelName(job));
  manifest->set_base_model(job.base_model().empty() ? kDefaultBaseModel : job.base_model());
  manifest->set_job_id(job.id());
  SetTimestamp(clock_->Now(), manifest->mutable_create_time());
  AddDatasetRefs(datasets, manifest);
  std::optional<uint64_t> base_seed;
  if (job.base_model() != kDefaultBaseModel && !job.base_model().empty()) {
    absl::StatusOr<model::v1::ModelPackage> base = registry_->Load(job.base_model());
    if (!base.ok()) {
      return WithContext(base.status(), absl::StrCat("base model ", text::Quote(job.base_model())));
    }
    for (auto& t : trainers) {
      RETURN_IF_ERROR(t->AddParent(base->manifest(), model::FindArtefact(*base, t->kind())));
    }
    auto recorded = base->manifest().hyperparameters().find("seed");
    if (recorded != base->manifest().hyperparameters().end() && recorded->second >= 0) {
      base_seed = static_cast<uint64_t>(recorded->second);
    }
    // The base's training datasets stay part of the model's lineage.
    for (const model::v1::DatasetRef& d : base->manifest().datasets()) {
      if (d.role() != SideName(Side::kTraining)) continue;
      bool listed = false;
      for (const model::v1::DatasetRef& mine : manifest->datasets()) {
        listed = listed || mine.id() == d.id();
      }
      if (!listed) *manifest->add_datasets() = d;
    }
    Event(job, "info",
          absl::StrCat("continuing base model ", job.base_model(), " (",
                       model::KindsLabel(base->manifest()), ")"));
  }

  const bool hold_validation = job.validation_dataset().empty();
  const bool hold_test = job.test_dataset().empty();
  uint64_t seed = job.hyperparameters().seed() == 0 ? 42 : job.hyperparameters().seed();
  // Continuing a model, the held-out sides follow the base model's seed, so an address the
  // base trained on never lands on this job's validation or test side.
  std::string seed_origin;
  if (base_seed.has_value()) {
    seed = *base_seed;
    seed_origin = " (the base model's, so its held-out addresses stay held out)";
  }
  if (hold_validation || hold_test) {
    std::vector<std::string> sides;
    if (hold_validation) sides.push_back("validation");
    if (hold_test) sides.push_back("test");
    manifest->set_holdout(absl::StrCat(
        "the ", absl::StrJoin(sides, " and "), " side", sides.size() > 1 ? "s" : "", ": ",
        kHoldoutPercent, "% of the training addresses each, chosen by address hash with seed ",
        seed, seed_origin,
        "; the knowledge index lists them, the classifier never trains on them"));
  }

  RETURN_IF_ERROR(ResumeOrStartOver(job, classifier));

  JobSink sink(this, job, entry, interrupt, &package);
  PhaseTimer timer;
  uint64_t training_examples = 0;
  const absl::Status interrupted = absl::AbortedError("training interrupted");
  for (const SideDataset& d : datasets) {
    absl::Status read = datasets_->ReadRecords(
        d.dataset, [&](const dataset::v1::ReadRecordsResponse& batch) -> absl::Status {
          RETURN_IF_ERROR(sink.Check());
          for (const common::v1::AddressRecord& r : batch.records()) {
            RecordOrigin origin{&d.dataset, d.side, false};
            if (d.side == Side::kTraining && (hold_validation || hold_test)) {
              origin.side = HeldOutSide(r.address(), seed, hold_validation, hold_test);
              origin.held_out = origin.side != Side::kTraining;
            }
            if (origin.side == Side::kTraining) ++training_examples;
            for (auto& t : trainers) RETURN_IF_ERROR(t->AddRecord(origin, r));
          }
          return absl::OkStatus();
        });
    if (*interrupt != Interrupt::kNone) return interrupted;
    if (!read.ok()) {
      return WithContext(read, absl::StrCat("reading ", SideName(d.side), " dataset ",
                                            text::Quote(d.dataset.id())));
    }
  }
  RETURN_IF_ERROR(sink.CheckNow());
  timer.End("reading");

  TrainResult result;
  std::vector<TrainedArtefact::Extra> extras;
  // The trainers run one after the other. Side by side, the knowledge index took a core from
  // XGBoost's threads, whose waits for each other at every round made the boosting slower by
  // more than the index takes alone.
  struct TrainerRun {
    absl::StatusOr<std::optional<TrainedArtefact>> trained;
    absl::Duration took;
  };
  std::vector<TrainerRun> runs;
  std::vector<std::string> took;
  for (const std::unique_ptr<Trainer>& trainer : trainers) {
    const absl::Time start = absl::Now();
    runs.push_back({trainer->Train(&sink), absl::Now() - start});
    took.push_back(
        absl::StrFormat("%s %.2f s", trainer->kind(), absl::ToDoubleSeconds(runs.back().took)));
    if (!runs.back().trained.ok()) break;
  }
  sink.Flush();
  timer.End("training", absl::StrJoin(took, ", "));
  if (*interrupt != Interrupt::kNone) return interrupted;
  for (size_t i = 0; i < runs.size(); ++i) {
    absl::StatusOr<std::optional<TrainedArtefact>>& trained = runs[i].trained;
    if (!trained.ok()) {
      return WithContext(trained.status(), absl::StrCat("training the ", trainers[i]->kind()));
    }
    if (!trained->has_value()) continue;
    TrainedArtefact& a = **trained;
    RETURN_IF_ERROR(model::AddArtefact(&package, a.kind, a.format, std::move(a.data)));
    for (const auto& [name, value] : a.metrics) (*manifest->mutable_metrics())[name] = value;
    for (const auto& [name, value] : a.hyperparameters) {
      (*manifest->mutable_hyperparameters())[name] = value;
    }
    if (a.validation.has_value()) *manifest->mutable_validation() = *a.validation;
    if (a.test.has_value()) *manifest->mutable_test() = *a.test;
    for (const model::v1::Evaluation& e : a.comparisons) {
      *manifest->add_feature_set_comparison() = e;
    }
    if (!a.feature_set.empty()) {
      manifest->set_feature_schema(std::string(features::kSchemaName));
      manifest->set_feature_schema_version(features::kSchemaVersion);
      manifest->set_feature_set(a.feature_set);
    }
    for (TrainedArtefact::Extra& e : a.extras) extras.push_back(std::move(e));
    if (!a.summary.empty()) Event(job, "info", a.summary);
  }
  for (TrainedArtefact::Extra& e : extras) {
    RETURN_IF_ERROR(model::AddArtefact(&package, e.kind, e.format, std::move(e.data)));
  }
  RETURN_IF_ERROR(sink.CheckNow());

  result.TakeCard(*manifest);
  result.step = sink.step() > 0 ? sink.step() : 1;
  result.total_steps = sink.total_steps() > 0 ? sink.total_steps() : 1;
  // Fenced: published only while the job is still this attempt's, and only once.
  absl::StatusOr<v1::Model> published =
      registry_->Publish(package, PublishFence{job.id(), JobState(job)});
  if (absl::IsAborted(published.status())) {
    *interrupt = Interrupt::kTakenOver;
    return interrupted;
  }
  if (absl::IsAlreadyExists(published.status())) {
    // An earlier attempt published it and stopped before it could say so: that model is
    // the job's.
    ASSIGN_OR_RETURN(published, registry_->Resolve(manifest->name()));
    Event(job, "info",
          absl::StrCat("model ", manifest->name(),
                       " was published by an earlier attempt; it stays the job's model"));
  }
  if (!published.ok()) return published.status();
  result.model = *std::move(published);
  timer.End("publishing");
  result.timings = timer.Text();
  result.trained_examples = training_examples;
  return result;
}

absl::Status Worker::ResumeOrStartOver(const v1::Job& job, BehaviouralTrainer* classifier) {
  absl::StatusOr<std::vector<v1::Model>> earlier = registry_->ListCheckpoints(job.id());
  if (!earlier.ok()) {
    return WithContext(earlier.status(), "listing an earlier attempt's checkpoints");
  }
  // A later attempt of the job goes on from the last checkpoint an earlier one saved (the
  // job, its datasets and its seed are the same); a first attempt has none of its own.
  if (job.attempts() > 1 && !earlier->empty()) {
    const v1::Model& last = earlier->back();
    absl::Status resumed = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(model::v1::ModelPackage package, registry_->Load(last.name()));
      ASSIGN_OR_RETURN(std::optional<model::v1::ClassifierArtefact> artefact,
                       model::ClassifierOf(package));
      if (!artefact.has_value()) return absl::DataLossError("it has no classifier");
      ASSIGN_OR_RETURN(std::vector<v1::JobEvent> events, store_->ListEvents(job.id(), "", 0));
      std::map<int, std::map<std::string, double>> by_step;
      for (const v1::JobEvent& e : events) {
        auto step = e.metrics().find("step");
        if (e.type() != "metrics" || step == e.metrics().end()) continue;
        by_step[static_cast<int>(step->second)] = {e.metrics().begin(), e.metrics().end()};
      }
      RETURN_IF_ERROR(classifier->Resume(*artefact, by_step));
      const auto& metrics = package.manifest().metrics();
      auto total = metrics.find("total_steps");
      Event(job, "info",
            absl::StrCat("resuming from checkpoint ", last.name(), " (step ",
                         package.manifest().checkpoint_step(), " of ",
                         total == metrics.end() ? 0 : static_cast<int>(total->second), ")"));
      return absl::OkStatus();
    }();
    if (resumed.ok()) return absl::OkStatus();
    if (IsTransient(resumed))
      return WithContext(resumed, "loading an earlier attempt's checkpoint");
    Event(job, "warning",
          absl::StrCat("cannot resume from checkpoint ", last.name(), ": ", resumed.message(),
                       "; starting over"));
  }
  absl::StatusOr<int> stale = registry_->DeleteCheckpoints(job.id());
  if (!stale.ok()) return WithContext(stale.status(), "deleting an earlier attempt's checkpoints");
  return absl::OkStatus();
}

absl::Duration Worker::RetryDelay(int attempts) {
  // After the first failed attempt the first wait, doubling from there.
  return retry_backoff_.Delay(attempts - 1);
}

Worker::Outcome Worker::HandleFailure(const v1::Job& running, const QueueEntry& entry,
                                      const absl::Status& error) {
  std::string message(error.message());
  if (!IsTransient(error)) {
    v1::JobError failure = MakeJobError(error.code(), message, false);
    // An OpenAI-compatible API's own code and param, when it gave them.
    if (std::optional<openai::ApiError> api = openai::ApiErrorOf(error); api.has_value()) {
      if (!api->code.empty()) failure.set_code(api->code);
      if (!api->param.empty()) failure.set_param(JobParamOfRemote(api->param));
    }
    return FailForGood(running, entry, message, failure);
  }
  if (running.attempts() >= options_.max_attempts) {
    const std::string gave_up =
        absl::StrCat("gave up after ", running.attempts(), " attempts: ", message);
    return FailForGood(running, entry, gave_up,
                       MakeJobError(error.code(), gave_up, /*exhausted=*/true));
  }
  const absl::Duration delay = RetryDelay(running.attempts());
  v1::Job queued = running;
  queued.set_status(v1::JOB_STATUS_QUEUED);
  queued.set_error(message);
  v1::JobEvent event = MessageEvent(
      clock_->Now(), "warning",
      absl::StrCat("attempt ", running.attempts(), " of ", options_.max_attempts,
                   " failed: ", message, "; retrying in ", absl::FormatDuration(delay)),
      v1::JOB_STATUS_QUEUED);
  absl::Status status = store_->Update(running, queued, &event);
  if (!status.ok()) {
    // The event cannot be written either: the log keeps why the attempt failed.
    log::Warning("job ", text::Quote(running.id()), ": attempt ", running.attempts(),
                 " failed: ", message, "; cannot re-queue it (", status.message(),
                 "), so it is claimed again once idle for ",
                 absl::FormatDuration(options_.claim_idle));
    return Outcome::kRetry;  // Still pending: claimed again once idle.
  }
  absl::Status later = queue_->RetryLater(entry.entry_id, running.id(), clock_->Now() + delay);
  if (!later.ok()) {
    log::Warning("job ", text::Quote(running.id()), ": cannot schedule the retry (",
                 later.message(), "); it is claimed again once idle for ",
                 absl::FormatDuration(options_.claim_idle));
  }
  log::Warning("job ", text::Quote(running.id()), ": attempt ", running.attempts(),
               " failed: ", message, "; retrying in ", absl::FormatDuration(delay));
  return Outcome::kRetry;
}

Worker::Outcome Worker::FailForGood(const v1::Job& job, const QueueEntry& entry,
                                    const std::string& error, const v1::JobError& failure) {
  v1::Job failed = job;
  failed.set_status(v1::JOB_STATUS_FAILED);
  failed.set_error(error);
  *failed.mutable_failure() = failure;
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
  DropCheckpoints(job);
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

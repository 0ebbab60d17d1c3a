// Backend "openai": one attempt of a job run on an OpenAI-compatible fine-tuning API.
//
// The attempt goes through the steps the API asks for and records each one in the job
// (Job.remote) as soon as it is done, so that a later attempt (after a crash, a stop or a
// passing failure) goes on where this one stopped instead of doing it again:
//   1. export the training datasets (and the validation dataset) as chat JSONL from the
//      dataset service and upload them (POST /files, purpose "fine-tune");
//   2. create the remote job (POST /fine_tuning/jobs, method "supervised" with the job's
//      hyperparameters, metadata ethscan_job_id = the job's id); before creating, and
//      before creating again after an answer that got lost, the job is looked up by that
//      metadata, so one ethscan job never makes two remote ones;
//   3. poll it with backoff, mirroring its status, its events (each once: the mirrored
//      event keeps the remote id) and its checkpoints (registered as chat checkpoints);
//      cancelling the remote job when the ethscan job is cancelled;
//   4. once it succeeded, register the fine-tuned model as a model of kind "chat" with its
//      card (and the API's results CSV); a failed remote job fails the job with the API's
//      error code, message and param.
// Nothing here writes the API key anywhere: messages from the API pass through
// Client::Redact.
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "common/model/package.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "nlohmann/json.hpp"
#include "services/training/job_manager.h"
#include "services/training/trainer.h"
#include "services/training/worker.h"

namespace ethscan::training {
namespace {

// The largest chat JSONL file uploaded (OpenAI takes up to 512 MB per file).
constexpr uint64_t kMaxUploadBytes = uint64_t{512} << 20;
// The fewest examples a chat fine-tuning file may hold.
constexpr uint64_t kMinChatExamples = 10;
// The metadata key that ties a remote job to its ethscan job.
constexpr char kJobIdMetadata[] = "ethscan_job_id";
// The most metadata pairs a remote job takes.
constexpr size_t kMaxRemoteMetadata = 16;
// Longest mirrored message.
constexpr size_t kMaxMirroredChars = 500;

uint64_t CountLines(absl::string_view text) {
  uint64_t n = 0;
  for (char c : text) n += c == '\n' ? 1 : 0;
  if (!text.empty() && text.back() != '\n') ++n;
  return n;
}

// The system message of the first example, so a caller of the model asks it the same way.
std::string SystemPrompt(absl::string_view jsonl) {
  const size_t end = jsonl.find('\n');
  nlohmann::json line = nlohmann::json::parse(
      jsonl.substr(0, end == absl::string_view::npos ? jsonl.size() : end), nullptr, false);
  if (!line.is_object() || !line.contains("messages") || !line["messages"].is_array()) return "";
  for (const nlohmann::json& m : line["messages"]) {
    if (m.is_object() && m.value("role", "") == "system" && m.contains("content") &&
        m["content"].is_string()) {
      return m["content"].get<std::string>();
    }
  }
  return "";
}

// The remote metrics under their own names, plus the names the local backend uses
// (train_accuracy for train_mean_token_accuracy, …), so watch lines and results read alike.
std::map<std::string, double> MirroredMetrics(const std::map<std::string, double>& remote) {
  std::map<std::string, double> out = remote;
  static constexpr std::pair<const char*, const char*> kAliases[] = {
      {"train_mean_token_accuracy", "train_accuracy"},
      {"valid_mean_token_accuracy", "valid_accuracy"},
      {"full_valid_mean_token_accuracy", "full_valid_accuracy"},
  };
  for (const auto& [from, to] : kAliases) {
    auto it = remote.find(from);
    if (it != remote.end() && !out.count(to)) out[to] = it->second;
  }
  return out;
}

std::string EventLevel(absl::string_view level) {
  return level == "warn" || level == "warning" ? "warning" : level == "error" ? "error" : "info";
}

}  // namespace

// The request field of the ethscan job that a remote error's param is about.
std::string JobParamOfRemote(absl::string_view param) {
  if (param == "training_file") return "training_dataset";
  if (param == "validation_file") return "validation_dataset";
  if (param == "model") return "base_model";
  if (param == "suffix" || param == "seed" || param == "metadata") return std::string(param);
  if (absl::StrContains(param, "hyperparameters") || absl::StrContains(param, "method") ||
      param == "n_epochs" || param == "batch_size" || param == "learning_rate_multiplier") {
    return "hyperparameters";
  }
  return "";
}

class Worker::RemoteRun {
 public:
  RemoteRun(Worker* worker, const v1::Job& job, const QueueEntry& entry, Interrupt* interrupt,
            openai::Client* client)
      : w_(worker),
        job_(job),
        entry_(entry),
        interrupt_(interrupt),
        client_(client),
        current_(job),
        last_heartbeat_(worker->clock_->Now()) {}

  absl::StatusOr<TrainResult> Run() {
    current_.mutable_remote()->set_endpoint(client_->Endpoint());
    if (current_.remote().model().empty()) current_.mutable_remote()->set_model(job_.base_model());
    // A model an earlier attempt published before it could say so is the job's model.
    if (!current_.remote().fine_tuned_model().empty()) {
      absl::StatusOr<v1::Model> existing = w_->registry_->Resolve(PublishedName());
      if (existing.ok() && existing->job_id() == job_.id()) return Adopted(*existing);
    }
    ASSIGN_OR_RETURN(datasets_, w_->LoadDatasets(job_));
    const absl::Time start = absl::Now();
    if (current_.remote().id().empty()) {
      if (current_.remote().training_file().empty()) RETURN_IF_ERROR(Upload());
      RETURN_IF_ERROR(CreateOrAttach());
    } else {
      w_->Event(job_, "info",
                absl::StrCat("attaching to remote job ", current_.remote().id(), " on ",
                             client_->Endpoint(), " (", current_.remote().status(), ")"));
    }
    const absl::Time created = absl::Now();
    RETURN_IF_ERROR(InitSeen());
    ASSIGN_OR_RETURN(openai::Job remote, Follow());
    const absl::Time ended = absl::Now();
    if (remote.status == "failed") return RemoteFailure(remote);
    if (remote.status == "cancelled") return CancelledRemotely();
    ASSIGN_OR_RETURN(TrainResult result, Publish(remote));
    result.timings = absl::StrFormat(
        "exporting and uploading %.2f s, remote job %.2f s, publishing %.2f s",
        absl::ToDoubleSeconds(created - start), absl::ToDoubleSeconds(ended - created),
        absl::ToDoubleSeconds(absl::Now() - ended));
    return result;
  }

 private:
  absl::Status Interrupted() const { return absl::AbortedError("training interrupted"); }

  // The registry name of the fine-tuned model: the API's name when it is one ("ft:…").
  std::string PublishedName() const {
    const std::string& remote = current_.remote().fine_tuned_model();
    return absl::StartsWith(remote, "ft:") ? remote : FineTunedModelName(job_);
  }

  absl::StatusOr<TrainResult> Adopted(const v1::Model& model) {
    w_->Event(job_, "info",
              absl::StrCat("model ", model.name(),
                           " was published by an earlier attempt; it stays the job's model"));
    TrainResult result;
    result.model = model;
    result.TakeCard(model.manifest());
    result.trained_examples = result.trained_records;
    auto steps = model.manifest().metrics().find("steps");
    result.step = result.total_steps =
        steps == model.manifest().metrics().end() ? 1 : static_cast<int>(steps->second);
    result.timings = "nothing (published before)";
    return result;
  }

  // Saves current_ (and `event`) while the job is still this attempt's.
  absl::Status Save(const v1::JobEvent* event) {
    absl::Status saved = w_->store_->Update(job_, current_, event);
    if (absl::IsAborted(saved)) {
      ASSIGN_OR_RETURN(*interrupt_, w_->CheckStillOurs(job_));
      if (*interrupt_ == Interrupt::kNone) *interrupt_ = Interrupt::kTakenOver;
      return Interrupted();
    }
    return saved;
  }

  // Looks the job up (a cancel, a take-over, a stop) and heartbeats the queue entry.
  absl::Status Check() {
    ASSIGN_OR_RETURN(*interrupt_, w_->CheckStillOurs(job_));
    if (*interrupt_ != Interrupt::kNone) return Interrupted();
    w_->HeartbeatIfDue(job_, entry_, &last_heartbeat_);
    return absl::OkStatus();
  }

  // Exports one side (every training dataset, or the validation dataset) as chat JSONL.
  absl::StatusOr<std::string> Export(Side side) {
    std::string out;
    for (const SideDataset& d : datasets_) {
      if (d.side != side) continue;
      RETURN_IF_ERROR(Check());
      absl::StatusOr<std::string> part =
          w_->datasets_->ExportChat(d.dataset, kMaxUploadBytes - out.size());
      if (!part.ok()) {
        return WithContext(part.status(), absl::StrCat("exporting ", SideName(side), " dataset ",
                                                       text::Quote(d.dataset.id())));
      }
      if (!part->empty() && part->back() != '\n') part->push_back('\n');
      out += *part;
      if (system_prompt_.empty()) system_prompt_ = SystemPrompt(*part);
    }
    return out;
  }

  absl::Status Upload() {
    ASSIGN_OR_RETURN(std::string training, Export(Side::kTraining));
    const uint64_t examples = CountLines(training);
    if (examples < kMinChatExamples) {
      return absl::FailedPreconditionError(absl::StrCat(
          "training dataset ", text::Quote(job_.training_dataset()), " gives ", examples,
          " chat example(s), one per address; OpenAI-compatible fine-tuning needs at least ",
          kMinChatExamples));
    }
    std::string validation;
    uint64_t validation_examples = 0;
    if (!job_.validation_dataset().empty()) {
      ASSIGN_OR_RETURN(validation, Export(Side::kValidation));
      validation_examples = CountLines(validation);
    }
    RETURN_IF_ERROR(Check());
    ASSIGN_OR_RETURN(
        openai::File file,
        Remote(client_->UploadFile(absl::StrCat(job_.id(), "-training.jsonl"), training),
               "uploading the training file"));
    current_.mutable_remote()->set_training_file(file.id);
    current_.mutable_remote()->set_training_examples(examples);
    std::string uploaded = absl::StrCat("uploaded the training file ", file.id, " (", examples,
                                        " examples, ", training.size(), " bytes)");
    if (!validation.empty()) {
      ASSIGN_OR_RETURN(
          openai::File vfile,
          Remote(client_->UploadFile(absl::StrCat(job_.id(), "-validation.jsonl"), validation),
                 "uploading the validation file"));
      current_.mutable_remote()->set_validation_file(vfile.id);
      current_.mutable_remote()->set_validation_examples(validation_examples);
      absl::StrAppend(&uploaded, " and the validation file ", vfile.id, " (", validation_examples,
                      " examples, ", validation.size(), " bytes)");
    }
    absl::StrAppend(&uploaded, " to ", client_->Endpoint());
    v1::JobEvent event = MessageEvent(w_->clock_->Now(), "info", uploaded);
    return Save(&event);
  }

  // A remote call's failure in context ("uploading the training file to http://…: …").
  template <typename T>
  absl::StatusOr<T> Remote(absl::StatusOr<T> result, absl::string_view what) {
    if (result.ok()) return result;
    if (absl::IsCancelled(result.status()) && w_->stopping_.load()) {
      *interrupt_ = Interrupt::kStopping;
      return Interrupted();
    }
    return WithContext(result.status(),
                       absl::StrCat(what, " (OpenAI-compatible API at ", client_->Endpoint(), ")"));
  }

  openai::CreateJobParams Params() const {
    openai::CreateJobParams p;
    p.model = current_.remote().model();
    p.training_file = current_.remote().training_file();
    p.validation_file = current_.remote().validation_file();
    p.suffix = job_.suffix();
    p.seed = static_cast<int64_t>(job_.seed());
    p.metadata[kJobIdMetadata] = job_.id();
    for (const auto& [key, value] : job_.metadata()) {
      if (p.metadata.size() >= kMaxRemoteMetadata) break;
      p.metadata.emplace(key, value);
    }
    const v1::Hyperparameters& hp = job_.hyperparameters();
    if (hp.has_n_epochs() && hp.n_epochs() > 0) p.n_epochs = hp.n_epochs();
    if (hp.has_batch_size() && hp.batch_size() > 0)
      p.batch_size = static_cast<int>(hp.batch_size());
    if (hp.has_learning_rate_multiplier() && hp.learning_rate_multiplier() > 0) {
      p.learning_rate_multiplier = hp.learning_rate_multiplier();
    }
    return p;
  }

  absl::Status CreateOrAttach() {
    for (int tries = 0;; ++tries) {
      RETURN_IF_ERROR(Check());
      ASSIGN_OR_RETURN(std::optional<openai::Job> found,
                       Remote(client_->FindJobByMetadata(kJobIdMetadata, job_.id()),
                              "looking for the job's remote job"));
      std::string said;
      openai::Job remote;
      if (found.has_value()) {
        remote = *std::move(found);
        said = absl::StrCat("found remote job ", remote.id, " that an earlier attempt created");
      } else {
        absl::StatusOr<openai::Job> created = client_->CreateJob(Params());
        if (!created.ok() && IsTransient(created.status()) &&
            !absl::IsCancelled(created.status()) && tries < 3) {
          // The job may exist although the answer got lost: look it up before trying again.
          if (w_->stopped_.WaitForNotificationWithTimeout(absl::Seconds(1 << tries))) {
            *interrupt_ = Interrupt::kStopping;
            return Interrupted();
          }
          continue;
        }
        ASSIGN_OR_RETURN(remote, Remote(std::move(created), "creating the fine-tuning job"));
        said = absl::StrCat("created remote job ", remote.id, " on ", client_->Endpoint(),
                            ": fine-tuning ",
                            remote.model.empty() ? current_.remote().model() : remote.model);
      }
      current_.mutable_remote()->set_id(remote.id);
      current_.mutable_remote()->set_status(remote.status);
      v1::JobEvent event = MessageEvent(w_->clock_->Now(), "info", said);
      return Save(&event);
    }
  }

  // The remote events and checkpoints mirrored by earlier attempts.
  absl::Status InitSeen() {
    ASSIGN_OR_RETURN(std::vector<v1::JobEvent> events, w_->store_->ListEvents(job_.id(), "", 0));
    for (const v1::JobEvent& e : events) {
      if (!e.remote_id().empty()) seen_.insert(e.remote_id());
    }
    ASSIGN_OR_RETURN(std::vector<v1::Model> checkpoints, w_->registry_->ListCheckpoints(job_.id()));
    for (const v1::Model& c : checkpoints) saved_steps_.insert(c.manifest().checkpoint_step());
    step_ = current_.step();
    total_steps_ = current_.total_steps();
    return absl::OkStatus();
  }

  // Polls the remote job until it ends; returns it as it ended.
  absl::StatusOr<openai::Job> Follow() {
    const Options& o = w_->options_;
    absl::Duration interval = o.remote_poll_initial;
    absl::Time outage_since = absl::InfiniteFuture();
    bool outage_told = false;
    while (true) {
      absl::Status checked = Check();
      if (*interrupt_ != Interrupt::kNone) return OnInterrupt();
      RETURN_IF_ERROR(checked);
      absl::StatusOr<openai::Job> remote;
      absl::StatusOr<bool> changed = PollOnce(&remote);
      if (*interrupt_ != Interrupt::kNone) return OnInterrupt();
      const absl::Time now = absl::Now();
      if (!changed.ok()) {
        if (!IsTransient(changed.status())) return changed.status();
        if (outage_since == absl::InfiniteFuture()) outage_since = now;
        if (now - outage_since > o.remote_outage_tolerance) return changed.status();
        if (!outage_told) {
          w_->Event(job_, "warning",
                    absl::StrCat(changed.status().message(), "; polling the remote job again"));
          outage_told = true;
        }
      } else {
        if (outage_told) {
          w_->Event(job_, "info", absl::StrCat("reached ", client_->Endpoint(), " again"));
        }
        outage_since = absl::InfiniteFuture();
        outage_told = false;
        if (remote->finished()) return *std::move(remote);
      }
      interval = changed.ok() && *changed ? o.remote_poll_initial
                                          : std::min(o.remote_poll_max, interval * 1.5);
      if (w_->stopped_.WaitForNotificationWithTimeout(interval)) {
        *interrupt_ = Interrupt::kStopping;
        return Interrupted();
      }
    }
  }

  // One poll: the job, its new events, its new checkpoints, written into the ethscan job.
  // True when anything changed.
  absl::StatusOr<bool> PollOnce(absl::StatusOr<openai::Job>* out) {
    const std::string& id = current_.remote().id();
    *out = Remote(client_->GetJob(id), absl::StrCat("polling remote job ", id));
    if (!out->ok()) return out->status();
    const openai::Job& remote = **out;
    ASSIGN_OR_RETURN(
        std::vector<openai::Event> events,
        Remote(client_->NewEvents(id, [this](const std::string& e) { return seen_.contains(e); }),
               absl::StrCat("listing the events of remote job ", id)));
    bool changed = !events.empty();
    const int step_before = step_;
    std::vector<v1::JobEvent> mirrored;
    for (const openai::Event& e : events) {
      v1::JobEvent event =
          MessageEvent(e.created_at > 0 ? absl::FromUnixSeconds(e.created_at) : w_->clock_->Now(),
                       EventLevel(e.level), "");
      event.set_remote_id(e.id);
      const std::string message = text::SingleLine(client_->Redact(e.message), kMaxMirroredChars);
      if (e.type == "metrics") {
        event.set_type("metrics");
        event.set_message(message);
        last_metrics_ = MirroredMetrics(e.data);
        for (const auto& [name, value] : last_metrics_) (*event.mutable_metrics())[name] = value;
        auto step = e.data.find("step");
        auto total = e.data.find("total_steps");
        if (step != e.data.end()) step_ = std::max(step_, static_cast<int>(step->second));
        if (total != e.data.end()) total_steps_ = static_cast<int>(total->second);
      } else {
        event.set_message(absl::StrCat("openai: ", message));
      }
      mirrored.push_back(std::move(event));
      seen_.insert(e.id);
    }
    if (!mirrored.empty()) {
      absl::Status appended = w_->store_->AppendEvents(job_.id(), mirrored);
      if (!appended.ok()) return appended;
    }
    if (step_ != step_before || remote.finished()) RETURN_IF_ERROR(MirrorCheckpoints());

    const std::string before = current_.remote().status();
    v1::RemoteJob* r = current_.mutable_remote();
    r->set_status(remote.status);
    r->set_trained_tokens(remote.trained_tokens);
    r->set_fine_tuned_model(remote.fine_tuned_model);
    current_.set_step(step_);
    current_.set_total_steps(total_steps_);
    if (remote.estimated_finish > 0 && !remote.finished()) {
      SetTimestamp(absl::FromUnixSeconds(remote.estimated_finish),
                   current_.mutable_estimated_finish());
    } else {
      current_.clear_estimated_finish();
    }
    if (remote.status != before) {
      v1::JobEvent event = MessageEvent(
          w_->clock_->Now(), "info", absl::StrCat("remote job ", remote.id, ": ", remote.status));
      RETURN_IF_ERROR(Save(&event));
      return true;
    }
    if (changed) RETURN_IF_ERROR(Save(nullptr));
    return changed;
  }

  absl::Status MirrorCheckpoints() {
    const std::string& id = current_.remote().id();
    ASSIGN_OR_RETURN(std::vector<openai::Checkpoint> checkpoints,
                     Remote(client_->ListCheckpoints(id),
                            absl::StrCat("listing the checkpoints of remote job ", id)));
    for (const openai::Checkpoint& c : checkpoints) {
      if (saved_steps_.count(c.step) > 0) continue;
      saved_steps_.insert(c.step);
      model::v1::ModelPackage package = CardPackage(c.model, {});
      for (const auto& [name, value] : MirroredMetrics(c.metrics)) {
        (*package.mutable_manifest()->mutable_metrics())[name] = value;
      }
      // The API's checkpoint names end in ":ckpt-step-N" as the registry's do.
      const std::string suffix = absl::StrCat(kCheckpointInfix, c.step);
      std::string prefix = absl::EndsWith(c.model, suffix)
                               ? std::string(absl::StripSuffix(c.model, suffix))
                               : FineTunedModelName(job_);
      if (!absl::StartsWith(prefix, "ft:")) prefix = FineTunedModelName(job_);
      absl::StatusOr<v1::Model> saved =
          w_->registry_->PublishCheckpoint(std::move(package), prefix, c.step);
      if (saved.ok()) {
        w_->Event(job_, "info", absl::StrCat("checkpoint ", saved->name(), " saved"));
      } else {
        w_->Event(job_, "warning",
                  absl::StrCat("cannot save the checkpoint at step ", c.step, ": ",
                               saved.status().message()));
      }
    }
    return absl::OkStatus();
  }

  // A package of kind "chat" for `remote_model` with the job's card: base, datasets,
  // hyperparameters.
  model::v1::ModelPackage CardPackage(const std::string& remote_model,
                                      const std::vector<std::string>& result_files) {
    model::v1::ModelPackage package;
    model::v1::Manifest* m = package.mutable_manifest();
    m->set_name(PublishedName());
    m->set_base_model(job_.base_model());
    m->set_job_id(job_.id());
    SetTimestamp(w_->clock_->Now(), m->mutable_create_time());
    AddDatasetRefs(datasets_, m);
    for (const auto& [name, value] : hyperparameters_)
      (*m->mutable_hyperparameters())[name] = value;
    (*m->mutable_hyperparameters())["seed"] = static_cast<double>(job_.seed());
    model::v1::ChatModelArtefact chat;
    chat.set_endpoint(client_->Endpoint());
    chat.set_remote_model(remote_model);
    chat.set_remote_base_model(current_.remote().model());
    chat.set_remote_job_id(current_.remote().id());
    chat.set_trained_tokens(current_.remote().trained_tokens());
    chat.set_system_prompt(system_prompt_);
    chat.set_training_file(current_.remote().training_file());
    chat.set_validation_file(current_.remote().validation_file());
    for (const std::string& f : result_files) chat.add_result_files(f);
    absl::Status added = model::AddArtefact(&package, model::kChatKind, model::kChatFormat,
                                            model::SerializeDeterministic(chat));
    if (!added.ok()) log::Warning("job ", text::Quote(job_.id()), ": ", added.message());
    return package;
  }

  absl::StatusOr<TrainResult> Publish(const openai::Job& remote) {
    if (remote.fine_tuned_model.empty()) {
      return absl::UnavailableError(
          absl::StrCat("remote job ", remote.id, " succeeded but names no fine_tuned_model"));
    }
    hyperparameters_ = remote.hyperparameters;
    current_.mutable_remote()->set_fine_tuned_model(remote.fine_tuned_model);
    model::v1::ModelPackage package = CardPackage(remote.fine_tuned_model, remote.result_files);
    model::v1::Manifest* m = package.mutable_manifest();
    auto& metrics = *m->mutable_metrics();
    for (const auto& [name, value] : last_metrics_) metrics[name] = value;
    metrics.erase("step");
    metrics.erase("total_steps");
    metrics["steps"] = step_;
    metrics["trained_tokens"] = static_cast<double>(remote.trained_tokens);
    metrics["trained_records"] = static_cast<double>(current_.remote().training_examples());
    metrics["training_examples"] = static_cast<double>(current_.remote().training_examples());
    metrics["validation_examples"] = static_cast<double>(current_.remote().validation_examples());
    if (!remote.result_files.empty()) {
      absl::StatusOr<std::string> csv = client_->FileContent(remote.result_files.front());
      if (csv.ok()) {
        RETURN_IF_ERROR(
            model::AddArtefact(&package, model::kResultsKind, model::kCsvFormat, *std::move(csv)));
      } else {
        w_->Event(job_, "warning",
                  absl::StrCat("the results file ", remote.result_files.front(),
                               " cannot be fetched: ", csv.status().message(),
                               "; the model has no results CSV"));
      }
    }
    RETURN_IF_ERROR(Save(nullptr));
    absl::StatusOr<v1::Model> published =
        w_->registry_->Publish(package, PublishFence{job_.id(), JobState(job_)});
    if (absl::IsAborted(published.status())) {
      *interrupt_ = Interrupt::kTakenOver;
      return Interrupted();
    }
    if (absl::IsAlreadyExists(published.status())) {
      ASSIGN_OR_RETURN(published, w_->registry_->Resolve(m->name()));
      w_->Event(job_, "info",
                absl::StrCat("model ", m->name(),
                             " was published by an earlier attempt; it stays the job's model"));
    }
    if (!published.ok()) return published.status();
    TrainResult result;
    result.model = *std::move(published);
    result.TakeCard(result.model.manifest());
    result.trained_examples = current_.remote().training_examples();
    result.step = std::max(step_, 1);
    result.total_steps = std::max(total_steps_, result.step);
    return result;
  }

  // The remote job failed: the job fails for good with the API's error.
  absl::Status RemoteFailure(const openai::Job& remote) {
    openai::ApiError error = remote.error.value_or(openai::ApiError{});
    std::string message = absl::StrCat(
        "remote job ", remote.id,
        " failed: ", error.message.empty() ? "(no reason given)" : client_->Redact(error.message));
    if (!error.code.empty() || !error.param.empty()) {
      std::vector<std::string> parts;
      if (!error.code.empty()) parts.push_back(absl::StrCat("code ", error.code));
      if (!error.param.empty()) parts.push_back(absl::StrCat("param ", error.param));
      absl::StrAppend(&message, " (", absl::StrJoin(parts, ", "), ")");
    }
    absl::Status status = absl::FailedPreconditionError(text::SingleLine(message, 600));
    nlohmann::json payload = {{"message", client_->Redact(error.message)},
                              {"type", error.type},
                              {"code", error.code},
                              {"param", error.param}};
    status.SetPayload(openai::kErrorPayload, absl::Cord(payload.dump()));
    return status;
  }

  // The remote job was cancelled on the API itself: so is the ethscan job.
  absl::Status CancelledRemotely() {
    v1::Job cancelled = current_;
    cancelled.set_status(v1::JOB_STATUS_CANCELLED);
    cancelled.clear_estimated_finish();
    SetTimestamp(w_->clock_->Now(), cancelled.mutable_finish_time());
    v1::JobEvent event =
        MessageEvent(w_->clock_->Now(), "info",
                     absl::StrCat("remote job ", current_.remote().id(),
                                  " was cancelled on the API; the job is cancelled"),
                     v1::JOB_STATUS_CANCELLED);
    absl::Status saved = w_->store_->Update(job_, cancelled, &event);
    if (!saved.ok() && !absl::IsAborted(saved)) return saved;
    *interrupt_ = Interrupt::kCancelled;
    return Interrupted();
  }

  // The job was cancelled, taken over or the worker is stopping: a cancel reaches the
  // remote job; otherwise it keeps running for the next attempt to attach to.
  absl::Status OnInterrupt() {
    if (*interrupt_ == Interrupt::kCancelled && !current_.remote().id().empty()) {
      absl::StatusOr<openai::Job> cancelled = client_->CancelJob(current_.remote().id());
      if (cancelled.ok() || absl::IsInvalidArgument(cancelled.status())) {
        // INVALID_ARGUMENT: it had finished meanwhile.
        w_->Event(job_, "info", absl::StrCat("remote job ", current_.remote().id(), " cancelled"));
      } else {
        w_->Event(job_, "warning",
                  absl::StrCat("cannot cancel remote job ", current_.remote().id(), ": ",
                               cancelled.status().message(), "; cancel it on the API"));
      }
    }
    return Interrupted();
  }

  Worker* const w_;
  const v1::Job& job_;
  const QueueEntry& entry_;
  Interrupt* const interrupt_;
  openai::Client* const client_;
  // The job as this attempt has written it.
  v1::Job current_;
  std::vector<SideDataset> datasets_;
  absl::flat_hash_set<std::string> seen_;
  std::set<int> saved_steps_;
  int step_ = 0;
  int total_steps_ = 0;
  std::map<std::string, double> last_metrics_;
  std::map<std::string, double> hyperparameters_;
  std::string system_prompt_;
  absl::Time last_heartbeat_;
};

absl::StatusOr<Worker::TrainResult> Worker::TrainRemote(const v1::Job& job, const QueueEntry& entry,
                                                        Interrupt* interrupt) {
  if (!options_.openai.has_value() || options_.http == nullptr) {
    return absl::FailedPreconditionError(
        "backend \"openai\" is not configured on this worker: start it with OPENAI_BASE_URL and "
        "OPENAI_API_KEY set");
  }
  openai::Client::Options o = *options_.openai;
  // Waits between retries end early when the worker stops.
  o.sleep = [this](absl::Duration d) { return !stopped_.WaitForNotificationWithTimeout(d); };
  o.cancelled = [this] { return stopping_.load(); };
  openai::Client client(std::move(o), options_.http);
  RemoteRun run(this, job, entry, interrupt, &client);
  return run.Run();
}

}  // namespace ethscan::training

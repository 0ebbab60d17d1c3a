#include "services/training/job_manager.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/eth/hash.h"
#include "common/log/log.h"
#include "common/model/package.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "services/training/classifier_trainer.h"
#include "services/training/paging.h"

namespace ethscan::training {
namespace {

constexpr int kMaxEpochs = 50;
constexpr int kCancelRetries = 5;
constexpr int kMaxMetadataPairs = 16;
constexpr size_t kMaxMetadataKey = 64;
constexpr size_t kMaxMetadataValue = 512;
constexpr size_t kMaxIdempotencyKey = 255;
// How long a retried CreateJob finds the job its idempotency key made.
constexpr absl::Duration kIdempotencyWindow = absl::Hours(24);
constexpr int kDefaultListLimit = 100;
constexpr int kMaxListLimit = 1000;

// Lengths in characters, not bytes (metadata is UTF-8; protobuf checks that on the way in).
absl::Status ValidateMetadata(const google::protobuf::Map<std::string, std::string>& metadata) {
  if (metadata.size() > kMaxMetadataPairs) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata has ", metadata.size(), " pairs; at most ", kMaxMetadataPairs));
  }
  for (const auto& [key, value] : metadata) {
    if (key.empty() || text::CountChars(key) > kMaxMetadataKey) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metadata key ", text::Quote(key), " must be 1 to ", kMaxMetadataKey, " characters"));
    }
    if (text::CountChars(value) > kMaxMetadataValue) {
      return absl::InvalidArgumentError(absl::StrCat("metadata value of ", text::Quote(key),
                                                     " has ", text::CountChars(value),
                                                     " characters; at most ", kMaxMetadataValue));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateIdempotencyKey(absl::string_view key) {
  if (key.size() > kMaxIdempotencyKey) {
    return absl::InvalidArgumentError(absl::StrCat("idempotency_key has ", key.size(),
                                                   " characters; at most ", kMaxIdempotencyKey));
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat("idempotency_key ", text::Quote(key),
                                                     " must be printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

// What makes two CreateJob requests the same: every field but the key itself.
std::string RequestFingerprint(const v1::CreateJobRequest& request) {
  v1::CreateJobRequest copy = request;
  copy.clear_idempotency_key();
  return eth::Sha256::HexDigest(model::SerializeDeterministic(copy));
}

// Whether `job` carries every pair of `wanted`.
bool HasMetadata(const v1::Job& job,
                 const google::protobuf::Map<std::string, std::string>& wanted) {
  for (const auto& [key, value] : wanted) {
    auto it = job.metadata().find(key);
    if (it == job.metadata().end() || it->second != value) return false;
  }
  return true;
}

constexpr char kDatasetIdPrefix[] = "ds-";
constexpr char kJobIdPrefix[] = "ftjob-";
constexpr size_t kMaxIdTail = 64;

// True when `id` is `prefix` followed by 1 to kMaxIdTail characters of [a-z0-9_-].
bool HasIdShape(absl::string_view id, absl::string_view prefix) {
  if (!absl::StartsWith(id, prefix)) return false;
  absl::string_view tail = id.substr(prefix.size());
  if (tail.empty() || tail.size() > kMaxIdTail) return false;
  for (char c : tail) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status ValidateSuffix(absl::string_view suffix) {
  if (suffix.empty() || suffix.size() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "suffix ", text::Quote(suffix), " must be 1 to 64 characters, not ", suffix.size()));
  }
  for (char c : suffix) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "suffix ", text::Quote(suffix), " may only contain letters, digits, '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDatasetId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (HasIdShape(id, kDatasetIdPrefix)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " ", text::Quote(id), " is not a dataset id: need \"", kDatasetIdPrefix,
                   "\" followed by 1 to ", kMaxIdTail, " lowercase letters, digits, '_' or '-'"));
}

absl::Status ValidateJobId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("id is required");
  if (HasIdShape(id, kJobIdPrefix)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("id ", text::Quote(id), " is not a job id: need \"", kJobIdPrefix,
                   "\" followed by 1 to ", kMaxIdTail, " lowercase letters, digits, '_' or '-'"));
}

std::string NewJobId() {
  absl::BitGen gen;
  return absl::StrFormat("ftjob-%016x", absl::Uniform<uint64_t>(gen));
}

std::vector<std::string> JobDatasetIds(const v1::Job& job) {
  std::vector<std::string> ids;
  auto add = [&ids](const std::string& id) {
    if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  add(job.training_dataset());
  for (const std::string& id : job.extra_training_datasets()) add(id);
  add(job.validation_dataset());
  add(job.test_dataset());
  return ids;
}

std::string FineTunedModelName(const v1::Job& job) {
  std::string base = job.base_model().empty() ? kDefaultBaseModel : job.base_model();
  if (absl::StartsWith(base, "ft:")) {
    std::vector<std::string> parts = absl::StrSplit(base, ':');
    if (parts.size() > 1 && !parts[1].empty()) base = parts[1];
  }
  return absl::StrCat("ft:", base, ":", job.suffix(), ":", job.id());
}

v1::JobError MakeJobError(absl::StatusCode code, absl::string_view message, bool exhausted) {
  v1::JobError error;
  error.set_code(exhausted ? "retries_exhausted"
                           : absl::AsciiStrToLower(absl::StatusCodeToString(code)));
  error.set_message(std::string(message));
  // The request field at fault: only for errors a retry cannot mend (a dataset gone or
  // invalid, bad settings), not for a service that was away.
  if (exhausted || code == absl::StatusCode::kUnavailable ||
      code == absl::StatusCode::kDeadlineExceeded || code == absl::StatusCode::kAborted ||
      code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kInternal) {
    return error;
  }
  // The first request field the message names.
  static constexpr std::pair<absl::string_view, absl::string_view> kParams[] = {
      {"training dataset ", "training_dataset"}, {"validation dataset ", "validation_dataset"},
      {"test dataset ", "test_dataset"},         {"base model ", "base_model"},
      {"hyperparameters.", "hyperparameters"},
  };
  size_t first = absl::string_view::npos;
  for (const auto& [phrase, param] : kParams) {
    const size_t at = message.find(phrase);
    if (at < first) {
      first = at;
      error.set_param(std::string(param));
    }
  }
  return error;
}

absl::Status ValidateRemoteModel(absl::string_view model) {
  const bool ok =
      !model.empty() && model.size() <= 128 && std::all_of(model.begin(), model.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
      });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "base model ", text::Quote(model),
      " is not a remote model name (1 to 128 characters of letters, digits, '.', '_', ':', '-')"));
}

absl::Status JobManager::CheckOpenAiRequest(const v1::CreateJobRequest& request) const {
  if (!options_.openai_configured) {
    return absl::FailedPreconditionError(
        "backend \"openai\" is not configured: set OPENAI_BASE_URL and OPENAI_API_KEY for the "
        "training service and its workers");
  }
  if (!request.test_dataset().empty()) {
    return absl::InvalidArgumentError(
        "test_dataset: backend \"openai\" sends training and validation files only; leave "
        "test_dataset empty");
  }
  // The remote API takes n_epochs, batch_size and learning_rate_multiplier (and the seed);
  // the others tune the local classifier.
  const v1::Hyperparameters& hp = request.hyperparameters();
  std::vector<std::string> local_only;
  if (hp.has_learning_rate()) local_only.push_back("learning_rate");
  if (hp.has_max_depth()) local_only.push_back("max_depth");
  if (hp.has_min_child_weight()) local_only.push_back("min_child_weight");
  if (hp.has_colsample()) local_only.push_back("colsample");
  if (hp.has_scale_pos_weight()) local_only.push_back("scale_pos_weight");
  if (hp.has_early_stopping_patience()) local_only.push_back("early_stopping_patience");
  if (!hp.feature_set().empty()) local_only.push_back("feature_set");
  if (hp.evaluate_other_feature_set()) local_only.push_back("evaluate_other_feature_set");
  if (!local_only.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hyperparameters.", absl::StrJoin(local_only, ", hyperparameters."),
                     local_only.size() == 1 ? " applies" : " apply",
                     " to the local backend only; backend \"openai\" takes n_epochs, batch_size, "
                     "learning_rate_multiplier and seed"));
  }
  if (hp.has_batch_size() && (hp.batch_size() < 1 || hp.batch_size() > 256)) {
    return absl::InvalidArgumentError(absl::StrCat("hyperparameters.batch_size ", hp.batch_size(),
                                                   " must be 1 to 256 for backend \"openai\""));
  }
  if (hp.has_learning_rate_multiplier() && hp.learning_rate_multiplier() > 10) {
    return absl::InvalidArgumentError(absl::StrCat("hyperparameters.learning_rate_multiplier ",
                                                   hp.learning_rate_multiplier(),
                                                   " must be at most 10 for backend \"openai\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Model> JobManager::ResolveBaseModel(absl::string_view name) const {
  absl::StatusOr<v1::Model> model = registry_->Resolve(name);
  if (absl::IsNotFound(model.status())) {
    return absl::NotFoundError(absl::StrCat("base model ", text::Quote(name), " not found"));
  }
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        absl::StrCat("cannot look up base model ", text::Quote(name), ": ",
                                     model.status().message()));
  }
  return model;
}

absl::StatusOr<std::string> JobManager::RemoteBaseModel(absl::string_view requested) const {
  if (requested.empty() || requested == kDefaultBaseModel) return options_.openai_base_model;
  if (!absl::StartsWith(requested, "ft:")) {
    RETURN_IF_ERROR(ValidateRemoteModel(requested));
    return std::string(requested);
  }
  // A fine-tuned model (or alias) from the registry: only a chat model lives on the API.
  ASSIGN_OR_RETURN(v1::Model base, ResolveBaseModel(requested));
  if (base.kind() != model::kChatKind) {
    return absl::InvalidArgumentError(absl::StrCat(
        "base model ", text::Quote(base.name()), " is a ", base.kind(),
        " model of the local backend; backend \"openai\" fine-tunes a remote chat model (",
        kDefaultOpenAiBaseModel, " or a chat model of an earlier openai job)"));
  }
  return base.name();
}

JobManager::JobManager(Options options, JobStore* store, JobQueue* queue, ModelRegistry* registry,
                       DatasetClient* datasets, const common::Clock* clock)
    : options_(std::move(options)),
      store_(store),
      queue_(queue),
      registry_(registry),
      datasets_(datasets),
      clock_(clock) {}

absl::StatusOr<v1::Job> JobManager::NewJob(const v1::CreateJobRequest& request,
                                           absl::string_view id) {
  RETURN_IF_ERROR(ValidateDatasetId("training_dataset", request.training_dataset()));
  for (int i = 0; i < request.extra_training_datasets_size(); ++i) {
    RETURN_IF_ERROR(ValidateDatasetId(absl::StrCat("extra_training_datasets[", i, "]"),
                                      request.extra_training_datasets(i)));
  }
  if (!request.validation_dataset().empty()) {
    RETURN_IF_ERROR(ValidateDatasetId("validation_dataset", request.validation_dataset()));
  }
  // A side that is also a training dataset would measure the model on what it learnt.
  auto is_training = [&request](const std::string& id) {
    if (id == request.training_dataset()) return true;
    for (const std::string& d : request.extra_training_datasets()) {
      if (d == id) return true;
    }
    return false;
  };
  if (!request.validation_dataset().empty() && is_training(request.validation_dataset())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "validation_dataset ", text::Quote(request.validation_dataset()),
        " is also a training dataset: validation must be data the model does not train on"));
  }
  if (!request.test_dataset().empty()) {
    RETURN_IF_ERROR(ValidateDatasetId("test_dataset", request.test_dataset()));
    if (is_training(request.test_dataset()) ||
        request.test_dataset() == request.validation_dataset()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "test_dataset ", text::Quote(request.test_dataset()),
          " must differ from the training and validation datasets: a test set is never trained "
          "or stopped on"));
    }
  }
  std::string suffix = request.suffix().empty() ? kDefaultSuffix : request.suffix();
  RETURN_IF_ERROR(ValidateSuffix(suffix));
  std::string backend = request.backend().empty() ? kLocalBackend : request.backend();
  if (backend != kLocalBackend && backend != kOpenAiBackend) {
    return absl::InvalidArgumentError(
        absl::StrCat("backend ", text::Quote(backend), " is unknown; use \"local\" or \"openai\""));
  }
  const bool remote = backend == kOpenAiBackend;
  if (remote) RETURN_IF_ERROR(CheckOpenAiRequest(request));
  const v1::Hyperparameters& hp = request.hyperparameters();
  if (hp.n_epochs() < 0 || hp.n_epochs() > kMaxEpochs) {
    return absl::InvalidArgumentError(absl::StrCat("hyperparameters.n_epochs ", hp.n_epochs(),
                                                   " must be 0 (automatic) to ", kMaxEpochs));
  }
  if (!std::isfinite(hp.learning_rate_multiplier()) || hp.learning_rate_multiplier() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("hyperparameters.learning_rate_multiplier ",
                                                   hp.learning_rate_multiplier(),
                                                   " must be 0 (automatic) or positive"));
  }
  RETURN_IF_ERROR(HyperparametersFromProto(hp).status());
  RETURN_IF_ERROR(ValidateMetadata(request.metadata()));
  RETURN_IF_ERROR(ValidateIdempotencyKey(request.idempotency_key()));
  if (request.has_seed() && hp.has_seed() && request.seed() != hp.seed()) {
    return absl::InvalidArgumentError(absl::StrCat("seed ", request.seed(),
                                                   " and hyperparameters.seed ", hp.seed(),
                                                   " differ; give one of them"));
  }

  std::string base = request.base_model();
  if (remote) {
    ASSIGN_OR_RETURN(base, RemoteBaseModel(base));
  } else if (base.empty() || base == kDefaultBaseModel) {
    base = kDefaultBaseModel;
  } else {
    ASSIGN_OR_RETURN(v1::Model model, ResolveBaseModel(base));
    base = model.name();  // Pin the alias's current target.
  }

  v1::Job job;
  job.set_id(std::string(id));
  job.set_status(v1::JOB_STATUS_VALIDATING_FILES);
  job.set_base_model(base);
  job.set_suffix(suffix);
  job.set_training_dataset(request.training_dataset());
  job.set_validation_dataset(request.validation_dataset());
  job.set_test_dataset(request.test_dataset());
  for (const std::string& d : request.extra_training_datasets()) job.add_extra_training_datasets(d);
  job.set_backend(backend);
  *job.mutable_hyperparameters() = hp;
  if (request.has_seed()) job.mutable_hyperparameters()->set_seed(request.seed());
  if (job.hyperparameters().seed() == 0) job.mutable_hyperparameters()->set_seed(42);
  job.set_seed(job.hyperparameters().seed());
  *job.mutable_metadata() = request.metadata();
  job.set_idempotency_key(request.idempotency_key());
  SetTimestamp(clock_->Now(), job.mutable_create_time());
  return job;
}

void JobManager::FailJob(const v1::Job& job, const std::string& error) {
  v1::Job failed = job;
  failed.set_status(v1::JOB_STATUS_FAILED);
  failed.set_error(error);
  *failed.mutable_failure() = MakeJobError(absl::StatusCode::kInternal, error, false);
  SetTimestamp(clock_->Now(), failed.mutable_finish_time());
  v1::JobEvent event = MessageEvent(clock_->Now(), "error", absl::StrCat("job failed: ", error),
                                    v1::JOB_STATUS_FAILED);
  absl::Status status = store_->Update(job, failed, &event);
  if (!status.ok()) {
    log::Warning("job ", text::Quote(job.id()), ": cannot record failure: ", status.message());
  }
}

absl::StatusOr<uint64_t> JobManager::CheckDatasets(const std::vector<JobDataset>& datasets) {
  uint64_t records = 0;
  std::vector<std::string> checked;
  for (const auto& [role, id] : datasets) {
    if (std::find(checked.begin(), checked.end(), id) != checked.end()) {
      continue;
    }
    absl::StatusOr<dataset::v1::Dataset> dataset = datasets_->GetDataset(id);
    if (absl::IsNotFound(dataset.status())) {
      return absl::NotFoundError(absl::StrCat(role, " dataset ", text::Quote(id), " not found"));
    }
    if (!dataset.ok()) {
      return absl::Status(dataset.status().code(),
                          absl::StrCat("cannot look up ", role, " dataset ", text::Quote(id), ": ",
                                       dataset.status().message()));
    }
    checked.push_back(id);
    if (role == "training") records += dataset->record_count();
  }
  return records;
}

void JobManager::UndoCreate(const v1::Job& job, const std::vector<std::string>& referenced,
                            const std::string& error) {
  // The job goes first: its references are dropped only once no worker can run it, so a job
  // that was queued after all (a timed-out enqueue) never trains on a dataset deleted under it.
  absl::Status removed = store_->Delete(job.id());
  if (!removed.ok() && !absl::IsNotFound(removed)) {
    log::Warning("job ", text::Quote(job.id()), ": cannot remove it after its creation failed (",
                 removed.message(), "); marking it failed");
    absl::StatusOr<v1::Job> stored = store_->Get(job.id());
    if (!stored.ok()) {
      log::Warning("job ", text::Quote(job.id()), ": cannot read it (", stored.status().message(),
                   "); its dataset references are kept until it finishes");
      return;
    }
    if (!IsFinished(stored->status())) FailJob(*stored, error);
  }
  datasets_->RemoveReferencesLogged(referenced, JobHolder(job.id()));
}

absl::StatusOr<v1::Job> JobManager::CreateJob(const v1::CreateJobRequest& request) {
  const std::string id = options_.new_job_id ? options_.new_job_id() : NewJobId();
  const std::string& key = request.idempotency_key();
  if (key.empty()) return CreateJobWithId(request, id);
  RETURN_IF_ERROR(ValidateIdempotencyKey(key));
  // The reservation holds "<fingerprint> <job id>": a retry finds the job, another request
  // with the same key is refused.
  const std::string fingerprint = RequestFingerprint(request);
  const std::string reservation = absl::StrCat(fingerprint, " ", id);
  ASSIGN_OR_RETURN(std::optional<std::string> held,
                   store_->ReserveIdempotencyKey(key, reservation, kIdempotencyWindow));
  if (held.has_value()) {
    std::pair<std::string, std::string> parts = absl::StrSplit(*held, absl::MaxSplits(' ', 1));
    if (parts.first != fingerprint) {
      return absl::AlreadyExistsError(absl::StrCat("idempotency_key ", text::Quote(key),
                                                   " was used for job ", text::Quote(parts.second),
                                                   " with another request"));
    }
    absl::StatusOr<v1::Job> earlier = GetJob(parts.second);
    if (absl::IsNotFound(earlier.status())) {
      return absl::AbortedError(absl::StrCat("a request with idempotency_key ", text::Quote(key),
                                             " is still being processed; try again"));
    }
    return earlier;
  }
  absl::StatusOr<v1::Job> created = CreateJobWithId(request, id);
  if (!created.ok()) {
    // A refused or undone request leaves no job, so the key is free again.
    absl::Status released = store_->ReleaseIdempotencyKey(key, reservation);
    if (!released.ok()) {
      log::Warning("cannot free idempotency key of job ", text::Quote(id), ": ", released.message(),
                   " (a retry within 24 hours waits for it)");
    }
  }
  return created;
}

absl::StatusOr<v1::Job> JobManager::CreateJobWithId(const v1::CreateJobRequest& request,
                                                    absl::string_view id) {
  // Everything is checked before anything is stored, queued or referenced.
  ASSIGN_OR_RETURN(v1::Job job, NewJob(request, id));
  std::vector<JobDataset> wanted = {{"training", job.training_dataset()}};
  for (const std::string& d : job.extra_training_datasets()) wanted.push_back({"training", d});
  if (!job.validation_dataset().empty()) wanted.push_back({"validation", job.validation_dataset()});
  if (!job.test_dataset().empty()) wanted.push_back({"test", job.test_dataset()});
  ASSIGN_OR_RETURN(uint64_t records, CheckDatasets(wanted));

  RETURN_IF_ERROR(store_->Create(
      job, MessageEvent(clock_->Now(), "info",
                        absl::StrCat("created fine-tuning job ", job.id(), "; validating datasets"),
                        v1::JOB_STATUS_VALIDATING_FILES)));
  // From here on, a failure undoes what was done.
  const std::string holder = JobHolder(job.id());
  std::vector<std::string> referenced;
  auto undo = [&](absl::StatusCode code, const std::string& error) {
    UndoCreate(job, referenced, error);
    return absl::Status(code, error);
  };
  // Referencing keeps each dataset from being deleted while the job runs; one deleted since
  // the check above is not found here.
  for (const auto& [role, id] : wanted) {
    absl::StatusOr<dataset::v1::Dataset> dataset = datasets_->AddReference(id, holder);
    if (!dataset.ok() && std::find(referenced.begin(), referenced.end(), id) == referenced.end()) {
      // A call that timed out may still have added it; dropping one never added is harmless.
      referenced.push_back(id);
    }
    if (absl::IsNotFound(dataset.status())) {
      return undo(absl::StatusCode::kNotFound,
                  absl::StrCat(role, " dataset ", text::Quote(id), " not found"));
    }
    if (!dataset.ok()) {
      return undo(dataset.status().code(),
                  absl::StrCat("cannot reference ", role, " dataset ", text::Quote(id),
                               " for the job: ", dataset.status().message()));
    }
    if (std::find(referenced.begin(), referenced.end(), id) == referenced.end()) {
      referenced.push_back(id);
    }
  }

  v1::Job queued = job;
  queued.set_status(v1::JOB_STATUS_QUEUED);
  v1::JobEvent event =
      MessageEvent(clock_->Now(), "info",
                   absl::StrCat("datasets validated (", JobDatasetIds(job).size(), " datasets, ",
                                records, " training records); job queued"),
                   v1::JOB_STATUS_QUEUED);
  absl::Status updated = store_->Update(job, queued, &event);
  if (!updated.ok()) {
    return undo(updated.code(), absl::StrCat("cannot queue the job: ", updated.message()));
  }
  absl::StatusOr<std::string> entry = queue_->Enqueue(queued.id());
  if (!entry.ok()) {
    return undo(entry.status().code(),
                absl::StrCat("cannot queue the job: ", entry.status().message()));
  }
  log::Info("job ", queued.id(), " queued as entry ", *entry);
  return queued;
}

absl::StatusOr<v1::Job> JobManager::GetJob(absl::string_view id) {
  RETURN_IF_ERROR(ValidateJobId(id));
  ASSIGN_OR_RETURN(v1::Job job, store_->Get(id));
  RETURN_IF_ERROR(AddQueuePosition(&job));
  return job;
}

absl::Status JobManager::AddQueuePosition(v1::Job* job) {
  if (job->status() != v1::JOB_STATUS_QUEUED) return absl::OkStatus();
  ASSIGN_OR_RETURN(int64_t position, store_->QueuePosition(job->id()));
  job->set_queue_position(static_cast<int32_t>(position));
  return absl::OkStatus();
}

absl::StatusOr<v1::ListJobsResponse> JobManager::ListJobs(const v1::ListJobsRequest& request) {
  const bool openai_style = !request.after().empty() || request.limit() != 0 ||
                            request.status() != v1::JOB_STATUS_UNSPECIFIED ||
                            !request.metadata().empty();
  v1::ListJobsResponse response;
  if (!openai_style) {
    ASSIGN_OR_RETURN(PageRequest page, ParsePage(request.page_size(), request.page_token()));
    ASSIGN_OR_RETURN(JobPage jobs, store_->List(page.offset, page.limit));
    for (v1::Job& job : jobs.jobs) {
      RETURN_IF_ERROR(AddQueuePosition(&job));
      *response.add_jobs() = std::move(job);
    }
    response.set_next_page_token(NextPageToken(page, jobs.total));
    response.set_has_more(!response.next_page_token().empty());
    return response;
  }
  if (request.page_size() != 0 || !request.page_token().empty()) {
    return absl::InvalidArgumentError(
        "page_size and page_token page by offset; after, limit, status and metadata page by "
        "job id: use one or the other");
  }
  if (request.limit() < 0 || request.limit() > kMaxListLimit) {
    return absl::InvalidArgumentError(absl::StrCat("limit ", request.limit(), " must be 0 (",
                                                   kDefaultListLimit, ") to ", kMaxListLimit));
  }
  RETURN_IF_ERROR(ValidateMetadata(request.metadata()));
  const int limit = request.limit() == 0 ? kDefaultListLimit : request.limit();
  int64_t offset = 0;
  if (!request.after().empty()) {
    RETURN_IF_ERROR(ValidateJobId(request.after()));
    ASSIGN_OR_RETURN(std::optional<int64_t> index, store_->IndexOf(request.after()));
    if (!index.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("after: job ", text::Quote(request.after()), " not found"));
    }
    offset = *index + 1;
  }
  // Pages of the store, newest first, filtered here; one match past the limit says whether
  // there are more.
  constexpr int64_t kScanPage = 200;
  while (true) {
    ASSIGN_OR_RETURN(JobPage page, store_->List(offset, kScanPage));
    for (v1::Job& job : page.jobs) {
      if (request.status() != v1::JOB_STATUS_UNSPECIFIED && job.status() != request.status()) {
        continue;
      }
      if (!HasMetadata(job, request.metadata())) continue;
      if (response.jobs_size() == limit) {
        response.set_has_more(true);
        return response;
      }
      RETURN_IF_ERROR(AddQueuePosition(&job));
      *response.add_jobs() = std::move(job);
    }
    offset += kScanPage;
    if (page.jobs.empty() || offset >= page.total) return response;
  }
}

absl::StatusOr<v1::Job> JobManager::CancelJob(absl::string_view id) {
  RETURN_IF_ERROR(ValidateJobId(id));
  for (int attempt = 0; attempt < kCancelRetries; ++attempt) {
    ASSIGN_OR_RETURN(v1::Job job, store_->Get(id));
    if (IsFinished(job.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", text::Quote(id), " already ", StatusWord(job.status())));
    }
    v1::Job cancelled = job;
    cancelled.set_status(v1::JOB_STATUS_CANCELLED);
    SetTimestamp(clock_->Now(), cancelled.mutable_finish_time());
    v1::JobEvent event = MessageEvent(
        clock_->Now(), "info", absl::StrCat("job cancelled while ", StatusWord(job.status())),
        v1::JOB_STATUS_CANCELLED);
    absl::Status status = store_->Update(job, cancelled, &event);
    if (status.ok()) {
      if (!datasets_->RemoveReferencesLogged(JobDatasetIds(cancelled), JobHolder(cancelled.id()))) {
        // A worker retries them (Worker::RetryReleases).
        store_->AddPendingRelease(cancelled.id()).IgnoreError();
      }
      return cancelled;
    }
    if (!absl::IsAborted(status)) return status;
  }
  return absl::AbortedError(
      absl::StrCat("job ", text::Quote(id), " kept changing; try cancelling again"));
}

absl::StatusOr<std::vector<v1::JobEvent>> JobManager::ListJobEvents(
    const v1::ListJobEventsRequest& request) {
  RETURN_IF_ERROR(ValidateJobId(request.id()));
  if (request.limit() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit ", request.limit(), " is negative (0 means all)"));
  }
  if (!request.after().empty()) RETURN_IF_ERROR(ValidateEventId("after", request.after()));
  RETURN_IF_ERROR(store_->Get(request.id()).status());
  return store_->ListEvents(request.id(), request.after(), request.limit());
}

absl::Status JobManager::WatchJob(absl::string_view id,
                                  const std::function<bool(const v1::WatchJobResponse&)>& send,
                                  const std::function<bool()>& cancelled) {
  return WatchJob(id, "", send, cancelled);
}

absl::Status JobManager::WatchJob(absl::string_view id, absl::string_view resume_after,
                                  const std::function<bool(const v1::WatchJobResponse&)>& send,
                                  const std::function<bool()>& cancelled) {
  RETURN_IF_ERROR(ValidateJobId(id));
  if (!resume_after.empty()) RETURN_IF_ERROR(ValidateEventId("after", resume_after));
  ASSIGN_OR_RETURN(v1::Job job, store_->Get(id));
  std::string after(resume_after);
  auto send_all = [&](const std::vector<v1::JobEvent>& events) {
    for (const v1::JobEvent& event : events) {
      v1::WatchJobResponse response;
      *response.mutable_event() = event;
      *response.mutable_job() = job;
      if (!send(response)) return false;
      after = event.id();
    }
    return true;
  };
  absl::Status client_gone = absl::CancelledError("the client stopped watching");
  ASSIGN_OR_RETURN(std::vector<v1::JobEvent> events, store_->ListEvents(id, after, 0));
  if (!send_all(events)) return client_gone;
  while (true) {
    if (cancelled()) return client_gone;
    if (IsFinished(job.status())) {
      // Status changes are written with their event, so the last event is already stored.
      ASSIGN_OR_RETURN(events, store_->ListEvents(id, after, 0));
      return send_all(events) ? absl::OkStatus() : client_gone;
    }
    ASSIGN_OR_RETURN(events, store_->WaitForEvents(id, after, options_.watch_poll));
    ASSIGN_OR_RETURN(job, store_->Get(id));
    if (!send_all(events)) return client_gone;
  }
}

absl::StatusOr<v1::ListDeadLettersResponse> JobManager::ListDeadLetters(
    const v1::ListDeadLettersRequest& request) {
  if (request.limit() < 0 || request.limit() > kMaxListLimit) {
    return absl::InvalidArgumentError(absl::StrCat("limit ", request.limit(), " must be 0 (",
                                                   kDefaultListLimit, ") to ", kMaxListLimit));
  }
  if (!request.before().empty()) RETURN_IF_ERROR(ValidateEventId("before", request.before()));
  const int limit = request.limit() == 0 ? kDefaultListLimit : request.limit();
  ASSIGN_OR_RETURN(std::vector<DeadLetterRecord> records,
                   queue_->ListDeadLetters(request.before(), limit + 1));
  v1::ListDeadLettersResponse response;
  for (const DeadLetterRecord& r : records) {
    if (response.dead_letters_size() == limit) {
      response.set_has_more(true);
      break;
    }
    v1::DeadLetter* d = response.add_dead_letters();
    d->set_id(r.id);
    d->set_job_id(r.job_id);
    d->set_error(r.reason);
    d->set_attempts(r.attempts);
    int64_t ms = 0;
    if (absl::SimpleAtoi(r.id.substr(0, r.id.find('-')), &ms)) {
      SetTimestamp(absl::FromUnixMillis(ms), d->mutable_create_time());
    }
  }
  return response;
}

absl::StatusOr<std::vector<v1::Checkpoint>> JobManager::ListCheckpoints(absl::string_view id) {
  RETURN_IF_ERROR(ValidateJobId(id));
  RETURN_IF_ERROR(store_->Get(id).status());
  ASSIGN_OR_RETURN(std::vector<v1::Model> models, registry_->ListCheckpoints(id));
  std::vector<v1::Checkpoint> out;
  for (const v1::Model& m : models) {
    v1::Checkpoint c;
    c.set_id(m.name());
    c.set_job_id(m.job_id());
    c.set_step(m.manifest().checkpoint_step());
    c.set_model(m.name());
    for (const auto& [name, value] : m.manifest().metrics()) (*c.mutable_metrics())[name] = value;
    *c.mutable_create_time() = m.create_time();
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace ethscan::training

#include "services/training/model_registry.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/eth/hash.h"
#include "common/log/log.h"
#include "common/model/package.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "services/training/atomic_file.h"
#include "services/training/paging.h"
#include "services/training/trainer.h"

namespace ethscan::training {

// How long an attempt may take to write its model once it claimed the publishing.
constexpr absl::Duration kPublishClaimTtl = absl::Minutes(2);
namespace {

namespace fs = std::filesystem;

constexpr char kModelFile[] = "model.pb";

}  // namespace

bool IsBaseModelName(absl::string_view name) { return name == kDefaultBaseModel; }

absl::Status ValidateAlias(absl::string_view alias) {
  if (alias.empty()) return absl::InvalidArgumentError("alias is required");
  if (absl::StartsWith(alias, kModelNamePrefix)) {
    return absl::InvalidArgumentError(absl::StrCat("alias ", text::Quote(alias),
                                                   " looks like a model name (starts with ",
                                                   kModelNamePrefix, ")"));
  }
  if (alias.size() > kMaxAliasLength) {
    return absl::InvalidArgumentError(absl::StrCat("alias ", text::Quote(alias), " is ",
                                                   alias.size(), " characters; at most ",
                                                   kMaxAliasLength));
  }
  for (char c : alias) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return absl::InvalidArgumentError(
          absl::StrCat("alias ", text::Quote(alias),
                       " may only contain lowercase letters, digits, '_' and '-'"));
    }
  }
  if (alias[0] == '_' || alias[0] == '-') {
    return absl::InvalidArgumentError(
        absl::StrCat("alias ", text::Quote(alias), " must start with a letter or digit"));
  }
  if (IsBaseModelName(alias)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "alias ", text::Quote(alias), " is the name of a base model; choose another name"));
  }
  return absl::OkStatus();
}

std::string SanitiseModelName(absl::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      c = '_';
    }
  }
  if (out.empty() || out == "." || out == "..") out = absl::StrCat("_", out);
  return out;
}

absl::StatusOr<std::unique_ptr<ModelRegistry>> ModelRegistry::Create(Options options,
                                                                     ModelStore* store,
                                                                     DatasetClient* datasets) {
  if (store == nullptr || datasets == nullptr) {
    return absl::InvalidArgumentError(
        "the model registry needs a model store and a dataset client");
  }
  std::error_code error;
  fs::create_directories(options.models_dir, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("models_dir ",
                                                      text::Quote(options.models_dir, 256),
                                                      " cannot be created: ", error.message()));
  }
  std::unique_ptr<ModelRegistry> registry(new ModelRegistry(std::move(options), store, datasets));
  registry->SweepTemporaryFiles();
  if (registry->options_.sweep_interval > absl::ZeroDuration()) {
    registry->sweeper_ = std::thread([r = registry.get()] { r->SweepLoop(); });
  }
  return registry;
}

ModelRegistry::~ModelRegistry() {
  stop_.Notify();
  if (sweeper_.joinable()) sweeper_.join();
}

void ModelRegistry::SweepLoop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.sweep_interval)) {
    int removed = SweepTemporaryFiles();
    if (options_.on_sweep) options_.on_sweep(removed);
  }
}

int ModelRegistry::SweepTemporaryFiles() {
  std::error_code error;
  fs::directory_iterator it(options_.models_dir, error);
  int removed = 0;
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    std::error_code is_dir_error;
    if (!it->is_directory(is_dir_error)) continue;
    removed += SweepDeadTemporaryFiles(it->path().string(), options_.temp_min_age);
  }
  if (error) {
    log::Warning("sweeping ", text::Quote(options_.models_dir, 256),
                 " for dead temporary files: ", error.message());
  }
  return removed;
}

std::string ModelRegistry::ModelPath(absl::string_view name) const {
  return absl::StrCat(options_.models_dir, "/", SanitiseModelName(name), "/", kModelFile);
}

namespace {

absl::Status CheckModelName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("model name is empty");
  if (!absl::StartsWith(name, kModelNamePrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model name ", text::Quote(name), " must start with ", kModelNamePrefix));
  }
  return absl::OkStatus();
}

// Every dataset the manifest names, once each, in manifest order.
std::vector<std::string> ManifestDatasetIds(const model::v1::Manifest& manifest) {
  std::vector<std::string> ids;
  for (const model::v1::DatasetRef& d : manifest.datasets()) {
    if (std::find(ids.begin(), ids.end(), d.id()) == ids.end()) ids.push_back(d.id());
  }
  return ids;
}

}  // namespace

std::string CheckpointName(absl::string_view model_name, int step) {
  return absl::StrCat(model_name, kCheckpointInfix, step);
}

absl::StatusOr<v1::Model> ModelRegistry::Publish(const model::v1::ModelPackage& package) {
  return PublishImpl(package, nullptr);
}

absl::StatusOr<v1::Model> ModelRegistry::Publish(const model::v1::ModelPackage& package,
                                                 const PublishFence& fence) {
  return PublishImpl(package, &fence);
}

absl::StatusOr<v1::Model> ModelRegistry::PublishImpl(const model::v1::ModelPackage& package,
                                                     const PublishFence* fence) {
  const std::string& name = package.manifest().name();
  RETURN_IF_ERROR(CheckModelName(name));
  RETURN_IF_ERROR(model::Verify(package, absl::StrCat("model ", text::Quote(name))));
  // The claim comes first: a fenced-off attempt neither references datasets nor writes.
  std::string token;
  if (fence != nullptr) {
    token = absl::StrCat(fence->state, "/", absl::ToUnixNanos(absl::Now()));
    ASSIGN_OR_RETURN(PublishClaim claim,
                     store_->ClaimPublish(name, *fence, token, kPublishClaimTtl));
    switch (claim) {
      case PublishClaim::kGranted:
        break;
      case PublishClaim::kPublished:
        return absl::AlreadyExistsError(
            absl::StrCat("model ", text::Quote(name), " is published already"));
      case PublishClaim::kFenced:
      case PublishClaim::kBusy:
        return absl::AbortedError(absl::StrCat("job ", text::Quote(fence->job_id),
                                               " is no longer this attempt's; ", text::Quote(name),
                                               " is not published by it"));
    }
  }
  const std::string holder = ModelHolder(name);
  std::vector<std::string> referenced;
  for (const std::string& id : ManifestDatasetIds(package.manifest())) {
    absl::StatusOr<dataset::v1::Dataset> dataset = datasets_->AddReference(id, holder);
    if (absl::IsNotFound(dataset.status())) {
      log::Warning("model ", text::Quote(name), ": dataset ", text::Quote(id),
                   " no longer exists; the model keeps its knowledge without a reference");
      continue;
    }
    if (!dataset.ok()) {
      if (absl::IsNotFound(store_->Get(name).status())) {
        datasets_->RemoveReferencesLogged(referenced, holder);
      }
      if (fence != nullptr) store_->ReleaseClaim(name, token).IgnoreError();
      return absl::Status(dataset.status().code(),
                          absl::StrCat("cannot reference dataset ", text::Quote(id), " for model ",
                                       text::Quote(name), ": ", dataset.status().message()));
    }
    referenced.push_back(id);
  }
  absl::StatusOr<v1::Model> published =
      WriteAndRecord(package, /*checkpoint_step=*/0, fence, token);
  if (!published.ok() && absl::IsNotFound(store_->Get(name).status())) {
    datasets_->RemoveReferencesLogged(referenced, holder);
  }
  if (!published.ok() && fence != nullptr) {
    absl::Status released = store_->ReleaseClaim(name, token);
    if (!released.ok())
      log::Warning("cannot free the claim on ", text::Quote(name), ": ", released.message());
  }
  return published;
}

absl::StatusOr<v1::Model> ModelRegistry::PublishCheckpoint(model::v1::ModelPackage package,
                                                           absl::string_view model_name, int step) {
  RETURN_IF_ERROR(CheckModelName(model_name));
  if (step <= 0) return absl::InvalidArgumentError("a checkpoint's step must be positive");
  const std::string name = CheckpointName(model_name, step);
  package.mutable_manifest()->set_name(name);
  package.mutable_manifest()->set_checkpoint_step(step);
  RETURN_IF_ERROR(model::Verify(package, absl::StrCat("checkpoint ", text::Quote(name))));
  ASSIGN_OR_RETURN(v1::Model published, WriteAndRecord(package, step));
  // Keep the newest kCheckpointsKept. The checkpoint is saved even when this fails.
  absl::StatusOr<std::vector<v1::Model>> listed = store_->ListCheckpoints(published.job_id());
  if (!listed.ok()) {
    log::Warning("checkpoint ", text::Quote(name),
                 " saved, but older ones cannot be listed: ", listed.status().message());
    return published;
  }
  const std::vector<v1::Model>& all = *listed;
  for (size_t i = 0; i + kCheckpointsKept < all.size(); ++i) {
    absl::Status dropped = DeleteCheckpointFiles(all[i]);
    if (!dropped.ok()) {
      log::Warning("cannot drop the old checkpoint ", text::Quote(all[i].name()), ": ",
                   dropped.message());
    }
  }
  return published;
}

absl::StatusOr<std::vector<v1::Model>> ModelRegistry::ListCheckpoints(absl::string_view job_id) {
  return store_->ListCheckpoints(job_id);
}

absl::StatusOr<int> ModelRegistry::DeleteCheckpoints(absl::string_view job_id) {
  ASSIGN_OR_RETURN(std::vector<v1::Model> all, store_->ListCheckpoints(job_id));
  int deleted = 0;
  for (const v1::Model& c : all) {
    RETURN_IF_ERROR(DeleteCheckpointFiles(c));
    ++deleted;
  }
  return deleted;
}

absl::Status ModelRegistry::DeleteCheckpointFiles(const v1::Model& checkpoint) {
  absl::Status deleted = store_->DeleteCheckpoint(checkpoint.job_id(), checkpoint.name());
  if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
  std::error_code error;
  fs::remove_all(fs::path(ModelPath(checkpoint.name())).parent_path(), error);
  if (error) {
    log::Warning("checkpoint ", text::Quote(checkpoint.name()),
                 " deleted, but its files remain: ", error.message());
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Model> ModelRegistry::WriteAndRecord(const model::v1::ModelPackage& package,
                                                        int checkpoint_step,
                                                        const PublishFence* fence,
                                                        const std::string& token) {
  const model::v1::Manifest& manifest = package.manifest();
  std::string bytes = model::SerializeDeterministic(package);
  std::string path = ModelPath(manifest.name());
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create the folder of ", text::Quote(path, 256),
                                            ": ", error.message()));
  }
  RETURN_IF_ERROR(WriteFileAtomically(path, bytes));
  v1::Model meta;
  meta.set_name(manifest.name());
  meta.set_job_id(manifest.job_id());
  meta.set_base_model(manifest.base_model());
  for (const model::v1::DatasetRef& d : manifest.datasets()) {
    if (d.role() == SideName(Side::kTraining)) meta.add_training_datasets(d.id());
  }
  auto addresses = manifest.metrics().find("addresses");
  const bool has_knowledge = model::FindArtefact(package, model::kKnowledgeKind) != nullptr;
  meta.set_address_count(!has_knowledge || addresses == manifest.metrics().end()
                             ? 0
                             : static_cast<uint64_t>(addresses->second));
  meta.set_size_bytes(bytes.size());
  meta.set_sha256(eth::Sha256::HexDigest(bytes));
  *meta.mutable_create_time() = manifest.create_time();
  meta.set_kind(model::KindsLabel(manifest));
  *meta.mutable_manifest() = manifest;
  if (checkpoint_step > 0) {
    RETURN_IF_ERROR(store_->PutCheckpoint(meta, checkpoint_step));
  } else if (fence != nullptr) {
    RETURN_IF_ERROR(store_->PutClaimed(meta, *fence, token));
  } else {
    RETURN_IF_ERROR(store_->Put(meta));
  }
  return store_->Get(meta.name());
}

absl::StatusOr<v1::Model> ModelRegistry::Resolve(absl::string_view name_or_alias) {
  if (name_or_alias.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> production, store_->GetAlias(kProductionAlias));
    if (production.has_value()) {
      absl::StatusOr<v1::Model> model = store_->Get(*production);
      if (model.ok() || !absl::IsNotFound(model.status())) return model;
    }
    ASSIGN_OR_RETURN(ModelPage newest, store_->List(0, 1));
    if (newest.models.empty()) return absl::NotFoundError("no model published yet");
    return newest.models.front();
  }
  absl::StatusOr<v1::Model> model = store_->Get(name_or_alias);
  if (model.ok() || !absl::IsNotFound(model.status())) return model;
  ASSIGN_OR_RETURN(std::optional<std::string> target, store_->GetAlias(name_or_alias));
  if (!target.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("model or alias ", text::Quote(name_or_alias), " not found"));
  }
  return store_->Get(*target);
}

absl::StatusOr<v1::ListModelsResponse> ModelRegistry::List(int32_t page_size,
                                                           absl::string_view page_token) {
  ASSIGN_OR_RETURN(PageRequest page, ParsePage(page_size, page_token));
  ASSIGN_OR_RETURN(ModelPage models, store_->List(page.offset, page.limit));
  v1::ListModelsResponse response;
  for (v1::Model& m : models.models) *response.add_models() = std::move(m);
  response.set_next_page_token(NextPageToken(page, models.total));
  return response;
}

absl::StatusOr<v1::Model> ModelRegistry::SetAlias(absl::string_view alias,
                                                  absl::string_view model) {
  RETURN_IF_ERROR(ValidateAlias(alias));
  if (model.empty()) return absl::InvalidArgumentError("model is required");
  // Model names start with "ft:", which no valid alias does; checked anyway, so that no alias
  // can ever shadow a stored model.
  absl::StatusOr<v1::Model> named = store_->Get(alias);
  if (named.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("alias ", text::Quote(alias), " is the name of a model"));
  }
  if (!absl::IsNotFound(named.status())) return named.status();
  RETURN_IF_ERROR(store_->SetAlias(alias, model));
  return store_->Get(model);
}

absl::StatusOr<v1::Model> ModelRegistry::RollbackAlias(absl::string_view alias) {
  RETURN_IF_ERROR(ValidateAlias(alias));
  ASSIGN_OR_RETURN(std::string name, store_->RollbackAlias(alias));
  return store_->Get(name);
}

absl::Status ModelRegistry::DeleteAlias(absl::string_view alias) {
  RETURN_IF_ERROR(ValidateAlias(alias));
  return store_->DeleteAlias(alias);
}

absl::StatusOr<std::pair<std::optional<std::string>, std::vector<std::string>>>
ModelRegistry::Alias(absl::string_view alias) {
  RETURN_IF_ERROR(ValidateAlias(alias));
  ASSIGN_OR_RETURN(std::optional<std::string> target, store_->GetAlias(alias));
  ASSIGN_OR_RETURN(std::vector<std::string> history, store_->AliasHistory(alias));
  return std::make_pair(std::move(target), std::move(history));
}

absl::Status ModelRegistry::CheckUnused(const v1::Model& model) {
  if (model.aliases_size() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model ", text::Quote(model.name()), " is kept: alias ", text::Quote(model.aliases(0)),
        " points at it (move or delete the alias first)"));
  }
  if (options_.job_using) {
    ASSIGN_OR_RETURN(std::optional<std::string> job, options_.job_using(model.name()));
    if (job.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat("model ", text::Quote(model.name()),
                                                        " is kept: job ", text::Quote(*job),
                                                        " continues it and has not finished"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Model>> ModelRegistry::Prune(int keep, bool dry_run) {
  if (keep < 1) {
    return absl::InvalidArgumentError(absl::StrCat("keep ", keep, " must be at least 1"));
  }
  std::vector<v1::Model> all;
  for (int64_t offset = 0;; offset += 500) {
    ASSIGN_OR_RETURN(ModelPage page, store_->List(offset, 500));
    all.insert(all.end(), page.models.begin(), page.models.end());
    if (page.models.empty() || offset + 500 >= page.total) break;
  }
  // Newest first already; count per suffix.
  std::map<std::string, int> seen;
  std::vector<v1::Model> out;
  for (const v1::Model& m : all) {
    std::vector<std::string> parts = absl::StrSplit(m.name(), ':');
    const std::string suffix = parts.size() >= 4 ? parts[2] : m.name();
    if (++seen[suffix] <= keep) continue;
    if (!CheckUnused(m).ok()) continue;
    if (!dry_run) {
      absl::Status deleted = Delete(m.name());
      if (!deleted.ok()) {
        log::Warning("prune: model ", text::Quote(m.name()), " kept: ", deleted.message());
        continue;
      }
    }
    out.push_back(m);
  }
  return out;
}

absl::Status ModelRegistry::Delete(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("name is required");
  ASSIGN_OR_RETURN(v1::Model model, store_->Get(name));
  if (model.manifest().checkpoint_step() > 0) return DeleteCheckpointFiles(model);
  // Checked before the references are dropped; the store checks the aliases again as it
  // deletes.
  RETURN_IF_ERROR(CheckUnused(model));
  const std::string holder = ModelHolder(model.name());
  std::vector<std::string> ids = ManifestDatasetIds(model.manifest());
  for (const std::string& d : model.training_datasets()) {
    if (std::find(ids.begin(), ids.end(), d) == ids.end()) ids.push_back(d);
  }
  for (const std::string& id : ids) {
    absl::Status dropped = datasets_->RemoveReference(id, holder);
    if (!dropped.ok()) {
      return absl::Status(
          dropped.code(),
          absl::StrCat("model ", text::Quote(model.name()), " is kept: its reference on dataset ",
                       text::Quote(id), " cannot be dropped: ", dropped.message()));
    }
  }
  RETURN_IF_ERROR(store_->Delete(name));
  std::error_code error;
  fs::remove_all(fs::path(ModelPath(name)).parent_path(), error);
  if (error) {
    log::Warning("model ", text::Quote(name), " deleted, but its files remain: ", error.message());
  }
  // The job's checkpoints go with the model they led to.
  absl::StatusOr<std::vector<v1::Model>> checkpoints = store_->ListCheckpoints(model.job_id());
  if (checkpoints.ok()) {
    for (const v1::Model& c : *checkpoints) {
      if (!absl::StartsWith(c.name(), absl::StrCat(name, kCheckpointInfix))) continue;
      absl::Status dropped = DeleteCheckpointFiles(c);
      if (!dropped.ok()) {
        log::Warning("cannot drop checkpoint ", text::Quote(c.name()), ": ", dropped.message());
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ModelRegistry::ReadVerified(const v1::Model& model) {
  std::string path = ModelPath(model.name());
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::DataLossError(absl::StrCat("model ", text::Quote(model.name()), ": file ",
                                            text::Quote(path, 256), " is missing"));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string bytes = buffer.str();
  if (bytes.size() != model.size_bytes() || eth::Sha256::HexDigest(bytes) != model.sha256()) {
    return absl::DataLossError(absl::StrCat("model ", text::Quote(model.name()), ": file ",
                                            text::Quote(path, 256),
                                            " does not match its recorded size and SHA-256"));
  }
  return bytes;
}

absl::StatusOr<model::v1::ModelPackage> ModelRegistry::Load(absl::string_view name_or_alias) {
  ASSIGN_OR_RETURN(v1::Model meta, Resolve(name_or_alias));
  ASSIGN_OR_RETURN(std::string bytes, ReadVerified(meta));
  return model::ParsePackage(bytes, absl::StrCat("model ", text::Quote(meta.name())));
}

}  // namespace ethscan::training

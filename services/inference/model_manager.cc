#include "services/inference/model_manager.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/text/quote.h"

namespace ethscan::inference {
namespace {

// The longest part of a registry message an error passes on, in characters.
constexpr size_t kMaxRegistryMessageChars = 256;

// The registry's failure to resolve `name_or_alias`, as the caller sees it. NOT_FOUND names
// the model or alias itself, quoted, rather than passing on a message that may echo a huge
// name; other errors keep the registry's message, capped.
absl::Status ResolveError(const std::string& name_or_alias, const absl::Status& status) {
  if (absl::IsNotFound(status) && !name_or_alias.empty()) {
    return absl::NotFoundError(absl::StrCat("model or alias ", text::Quote(name_or_alias),
                                            " not found in the model registry"));
  }
  std::string message = text::SingleLine(status.message(), kMaxRegistryMessageChars);
  if (name_or_alias.empty()) return absl::Status(status.code(), message);
  return absl::Status(status.code(),
                      absl::StrCat("model ", text::Quote(name_or_alias), ": ", message));
}

}  // namespace

absl::StatusOr<training::v1::Model> ModelManager::Resolve(const std::string& name_or_alias) {
  absl::Time now = clock_->Now();
  std::optional<training::v1::Model> stale;
  {
    absl::MutexLock lock(&mu_);
    auto it = resolutions_.find(name_or_alias);
    if (it != resolutions_.end()) {
      if (it->second.expires > now) return it->second.model;
      stale = it->second.model;
    }
  }
  absl::StatusOr<training::v1::Model> model = source_->Resolve(name_or_alias);
  if (!model.ok()) {
    // Keep answering from a loaded model while the registry is briefly unreachable.
    if (stale.has_value() && absl::IsUnavailable(model.status())) {
      absl::MutexLock lock(&mu_);
      if (loaded_.contains(stale->name())) {
        log::Warning("registry unavailable; still serving ", text::Quote(stale->name()), " for ",
                     text::Quote(name_or_alias), ": ", model.status().message());
        return *stale;
      }
    }
    return ResolveError(name_or_alias, model.status());
  }
  absl::MutexLock lock(&mu_);
  resolutions_[name_or_alias] = Resolution{*model, now + options_.resolve_ttl};
  return model;
}

absl::StatusOr<ModelManager::Entry> ModelManager::FetchAndIndex(const training::v1::Model& model) {
  absl::Time start = absl::Now();
  absl::StatusOr<model::v1::ModelPackage> fetched = source_->Fetch(model);
  if (!fetched.ok()) return fetched.status();
  absl::StatusOr<std::unique_ptr<LoadedModel>> loaded =
      LoadedModel::Create(*std::move(fetched), model.size_bytes());
  if (!loaded.ok()) return absl::DataLossError(loaded.status().message());
  Entry entry;
  entry.model = std::shared_ptr<const LoadedModel>(*std::move(loaded));
  entry.load_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  log::Info("loaded model ", text::Quote(model.name()), ": ", entry.model->address_count(),
            " addresses in ", entry.load_seconds, "s");
  return entry;
}

absl::StatusOr<std::shared_ptr<const LoadedModel>> ModelManager::Get(
    const std::string& name_or_alias) {
  absl::StatusOr<training::v1::Model> model = Resolve(name_or_alias);
  if (!model.ok()) return model.status();
  {
    absl::MutexLock lock(&mu_);
    auto it = loaded_.find(model->name());
    if (it != loaded_.end()) return it->second.model;
  }
  absl::MutexLock load_lock(&load_mu_);
  {
    absl::MutexLock lock(&mu_);
    auto it = loaded_.find(model->name());
    if (it != loaded_.end()) return it->second.model;
  }
  absl::StatusOr<Entry> entry = FetchAndIndex(*model);
  if (!entry.ok()) return entry.status();
  absl::MutexLock lock(&mu_);
  loaded_[model->name()] = *entry;
  return entry->model;
}

absl::StatusOr<inference::v1::LoadedModel> ModelManager::Load(const std::string& name_or_alias) {
  {
    absl::MutexLock lock(&mu_);
    resolutions_.erase(name_or_alias);
  }
  absl::StatusOr<training::v1::Model> model = Resolve(name_or_alias);
  if (!model.ok()) return model.status();
  absl::MutexLock load_lock(&load_mu_);
  absl::StatusOr<Entry> entry = FetchAndIndex(*model);
  if (!entry.ok()) return entry.status();
  absl::MutexLock lock(&mu_);
  loaded_[model->name()] = *entry;
  return Describe(*entry);
}

absl::Status ModelManager::Unload(const std::string& name_or_alias) {
  absl::MutexLock lock(&mu_);
  std::string name = name_or_alias;
  if (auto r = resolutions_.find(name_or_alias); r != resolutions_.end()) {
    name = r->second.model.name();
  }
  if (loaded_.erase(name) == 0) {
    return absl::NotFoundError(
        absl::StrCat("model ", text::Quote(name_or_alias), " is not loaded"));
  }
  for (auto it = resolutions_.begin(); it != resolutions_.end();) {
    auto current = it++;
    if (current->second.model.name() == name) resolutions_.erase(current);
  }
  return absl::OkStatus();
}

std::vector<inference::v1::LoadedModel> ModelManager::List() const {
  std::vector<inference::v1::LoadedModel> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, entry] : loaded_) out.push_back(Describe(entry));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return out;
}

absl::StatusOr<std::string> ModelManager::Ready(const std::string& name_or_alias) {
  absl::StatusOr<training::v1::Model> model = Resolve(name_or_alias);
  if (!model.ok()) return model.status();
  absl::MutexLock lock(&mu_);
  if (!loaded_.contains(model->name())) {
    return absl::NotFoundError(
        absl::StrCat("model ", text::Quote(model->name()), " is not loaded"));
  }
  return model->name();
}

inference::v1::LoadedModel ModelManager::Describe(const Entry& entry) {
  inference::v1::LoadedModel out;
  out.set_name(entry.model->name());
  out.set_address_count(entry.model->address_count());
  for (const std::string& kind : entry.model->manifest().kinds()) out.add_kinds(kind);
  out.set_size_bytes(entry.model->size_bytes());
  out.set_load_seconds(entry.load_seconds);
  return out;
}

}  // namespace ethscan::inference

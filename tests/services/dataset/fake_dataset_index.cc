#include "tests/services/dataset/fake_dataset_index.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace ethscan::dataset {
namespace {

int64_t Millis(const v1::Dataset& d) {
  return d.create_time().seconds() * 1000 + d.create_time().nanos() / 1000000;
}

}  // namespace

v1::Dataset FakeDatasetIndex::WithHoldersLocked(const v1::Dataset& dataset) const {
  v1::Dataset out = dataset;
  out.clear_referenced_by();
  auto it = holders_.find(dataset.id());
  if (it != holders_.end()) {
    for (const std::string& holder : it->second) out.add_referenced_by(holder);
  }
  return out;
}

absl::Status FakeDatasetIndex::Put(const v1::Dataset& dataset) {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = on_put_;
  }
  if (hook) hook();
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  const std::vector<std::string> parents = LineageParents(dataset);
  for (const std::string& parent : parents) {
    if (datasets_.count(parent) == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("dataset \"", parent, "\", which dataset \"", dataset.id(),
                       "\" is derived from, is no longer listed; nothing stored"));
    }
  }
  for (const std::string& parent : parents) holders_[parent].insert(LineageHolder(dataset.id()));
  v1::Dataset stored = dataset;
  stored.clear_referenced_by();
  datasets_[dataset.id()] = std::move(stored);
  ++put_calls_;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Dataset>> FakeDatasetIndex::Get(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto it = datasets_.find(static_cast<std::string>(id));
  if (it == datasets_.end()) return std::optional<v1::Dataset>();
  return std::optional<v1::Dataset>(WithHoldersLocked(it->second));
}

absl::StatusOr<DeleteOutcome> FakeDatasetIndex::Delete(const v1::Dataset& dataset) {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = on_delete_;
  }
  if (hook) hook();
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  DeleteOutcome outcome;
  auto it = datasets_.find(dataset.id());
  if (it == datasets_.end()) return outcome;
  auto held = holders_.find(dataset.id());
  if (held != holders_.end() && !held->second.empty()) {
    outcome.result = DeleteOutcome::Result::kReferenced;
    outcome.holders.assign(held->second.begin(), held->second.end());
    return outcome;
  }
  datasets_.erase(it);
  holders_.erase(dataset.id());
  for (const std::string& parent : LineageParents(dataset)) {
    auto parent_holders = holders_.find(parent);
    if (parent_holders == holders_.end()) continue;
    parent_holders->second.erase(LineageHolder(dataset.id()));
    if (parent_holders->second.empty()) holders_.erase(parent_holders);
  }
  outcome.result = DeleteOutcome::Result::kDeleted;
  return outcome;
}

absl::StatusOr<std::optional<v1::Dataset>> FakeDatasetIndex::AddReference(
    absl::string_view id, absl::string_view holder) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto it = datasets_.find(static_cast<std::string>(id));
  if (it == datasets_.end()) return std::optional<v1::Dataset>();
  holders_[it->first].insert(static_cast<std::string>(holder));
  return std::optional<v1::Dataset>(WithHoldersLocked(it->second));
}

absl::StatusOr<std::optional<v1::Dataset>> FakeDatasetIndex::RemoveReference(
    absl::string_view id, absl::string_view holder) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto it = datasets_.find(static_cast<std::string>(id));
  if (it == datasets_.end()) return std::optional<v1::Dataset>();
  auto held = holders_.find(it->first);
  if (held != holders_.end()) {
    held->second.erase(static_cast<std::string>(holder));
    if (held->second.empty()) holders_.erase(held);
  }
  return std::optional<v1::Dataset>(WithHoldersLocked(it->second));
}

void FakeDatasetIndex::OnDelete(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  on_delete_ = std::move(hook);
}

void FakeDatasetIndex::OnPut(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  on_put_ = std::move(hook);
}

absl::StatusOr<ListPage> FakeDatasetIndex::List(const ListQuery& query) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<const v1::Dataset*> matching;
  for (const auto& [id, dataset] : datasets_) {
    if (query.name.empty() || dataset.name() == query.name) matching.push_back(&dataset);
  }
  // Newest first, ties by id descending (as Redis ZREVRANGE orders equal scores).
  std::sort(matching.begin(), matching.end(), [](const v1::Dataset* a, const v1::Dataset* b) {
    return std::make_tuple(Millis(*a), a->id()) > std::make_tuple(Millis(*b), b->id());
  });
  ListPage page;
  for (size_t i = query.offset; i < matching.size() && page.datasets.size() < query.limit; ++i) {
    page.datasets.push_back(WithHoldersLocked(*matching[i]));
  }
  page.has_more = matching.size() > query.offset + query.limit;
  return page;
}

void FakeDatasetIndex::SetFailure(absl::Status status) {
  absl::MutexLock lock(&mu_);
  failure_ = std::move(status);
}

size_t FakeDatasetIndex::size() const {
  absl::MutexLock lock(&mu_);
  return datasets_.size();
}

int FakeDatasetIndex::put_calls() const {
  absl::MutexLock lock(&mu_);
  return put_calls_;
}

}  // namespace ethscan::dataset

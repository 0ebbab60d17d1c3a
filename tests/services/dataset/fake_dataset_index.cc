#include "tests/services/dataset/fake_dataset_index.h"

#include <algorithm>
#include <tuple>

namespace ethscan::dataset {
namespace {

int64_t Millis(const v1::Dataset& d) {
  return d.create_time().seconds() * 1000 + d.create_time().nanos() / 1000000;
}

}  // namespace

absl::Status FakeDatasetIndex::Put(const v1::Dataset& dataset) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  datasets_[dataset.id()] = dataset;
  ++put_calls_;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Dataset>> FakeDatasetIndex::Get(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto it = datasets_.find(static_cast<std::string>(id));
  if (it == datasets_.end()) return std::optional<v1::Dataset>();
  return std::optional<v1::Dataset>(it->second);
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
    page.datasets.push_back(*matching[i]);
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

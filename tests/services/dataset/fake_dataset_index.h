// An in-memory DatasetIndex for unit tests, with switchable failures to act like a Redis that
// is down. One mutex makes Put (with its lineage references), Delete and AddReference atomic
// against each other, as the Lua scripts of the Redis index are.
//
// Thread-safety: thread-safe.
#ifndef ETHSCAN_TESTS_SERVICES_DATASET_FAKE_DATASET_INDEX_H_
#define ETHSCAN_TESTS_SERVICES_DATASET_FAKE_DATASET_INDEX_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/dataset/dataset_index.h"

namespace ethscan::dataset {

class FakeDatasetIndex final : public DatasetIndex {
 public:
  absl::Status Put(const v1::Dataset& dataset) override;
  absl::StatusOr<std::optional<v1::Dataset>> Get(absl::string_view id) override;
  absl::StatusOr<ListPage> List(const ListQuery& query) override;
  absl::StatusOr<DeleteOutcome> Delete(const v1::Dataset& dataset) override;
  absl::StatusOr<std::optional<v1::Dataset>> AddReference(absl::string_view id,
                                                          absl::string_view holder) override;
  absl::StatusOr<std::optional<v1::Dataset>> RemoveReference(absl::string_view id,
                                                             absl::string_view holder) override;

  // Makes every later call fail with `status` (OK restores normal operation).
  void SetFailure(absl::Status status);
  // Runs `hook` (outside the lock) at the start of every Delete, before its atomic part; tests
  // use it to race a reference against a deletion.
  void OnDelete(std::function<void()> hook);
  // Runs `hook` (outside the lock) at the start of every Put, before its atomic part; tests use
  // it to race a deletion against a commit.
  void OnPut(std::function<void()> hook);
  // Number of datasets stored.
  size_t size() const;
  // Number of successful Put calls.
  int put_calls() const;

 private:
  mutable absl::Mutex mu_;
  // The dataset with its references filled in.
  v1::Dataset WithHoldersLocked(const v1::Dataset& dataset) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  std::map<std::string, v1::Dataset> datasets_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> holders_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_delete_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_put_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  int put_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_TESTS_SERVICES_DATASET_FAKE_DATASET_INDEX_H_

// The index of stored datasets' metadata, behind an interface: the service uses Redis
// (redis_dataset_index.h), unit tests an in-memory fake.
//
// The index also holds each dataset's references (the jobs and models that use it). Adding a
// reference and deleting a dataset are atomic against each other: a reference is only added
// to a dataset that is listed at that moment, and a dataset is only deleted while it has no
// reference, so a reference never outlives its dataset.
//
// Thread-safety: implementations are thread-safe.
#ifndef ETHSCAN_SERVICES_DATASET_DATASET_INDEX_H_
#define ETHSCAN_SERVICES_DATASET_DATASET_INDEX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"

namespace ethscan::dataset {

// Which datasets to list.
struct ListQuery {
  // Only datasets with exactly this name; empty for all.
  std::string name;
  // Datasets to skip, counted in listing order (newest first).
  uint64_t offset = 0;
  // Largest number of datasets to return; > 0.
  uint32_t limit = 100;
};

// One page of a listing.
struct ListPage {
  // Newest first (by create_time, then by id descending).
  std::vector<v1::Dataset> datasets;
  // True when more datasets follow this page.
  bool has_more = false;
};

// What Delete did.
struct DeleteOutcome {
  enum class Result {
    // The metadata and references are gone.
    kDeleted,
    // No dataset has the id.
    kNotFound,
    // The dataset is referenced and was left alone.
    kReferenced,
  };
  Result result = Result::kNotFound;
  // For kReferenced: the holders, sorted.
  std::vector<std::string> holders;
};

class DatasetIndex {
 public:
  virtual ~DatasetIndex() = default;
  // Stores (or replaces) the metadata of `dataset`, keyed by its id and listed by its
  // create_time. Its `referenced_by` is not stored (references are kept apart and survive a
  // replacement). UNAVAILABLE when the backing store is down.
  virtual absl::Status Put(const v1::Dataset& dataset) = 0;
  // The dataset with `id` with its `referenced_by` (sorted), or nullopt when there is none.
  virtual absl::StatusOr<std::optional<v1::Dataset>> Get(absl::string_view id) = 0;
  // Lists datasets newest first, each with its `referenced_by`.
  virtual absl::StatusOr<ListPage> List(const ListQuery& query) = 0;
  // Atomically: when `dataset.id()` is listed and has no reference, removes its metadata from
  // every key (by id, the listing and `dataset.name()`'s listing). Nothing else is touched; the
  // caller removes the records afterwards.
  virtual absl::StatusOr<DeleteOutcome> Delete(const v1::Dataset& dataset) = 0;
  // Atomically: when dataset `id` is listed, adds `holder` to its references (idempotent) and
  // returns the dataset with its `referenced_by`; nullopt when there is no such dataset.
  virtual absl::StatusOr<std::optional<v1::Dataset>> AddReference(absl::string_view id,
                                                                  absl::string_view holder) = 0;
  // When dataset `id` is listed, removes `holder` from its references (idempotent) and returns
  // the dataset with its `referenced_by`; nullopt when there is no such dataset.
  virtual absl::StatusOr<std::optional<v1::Dataset>> RemoveReference(absl::string_view id,
                                                                     absl::string_view holder) = 0;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_DATASET_INDEX_H_

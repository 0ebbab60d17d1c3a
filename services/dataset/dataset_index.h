// The index of stored datasets' metadata, behind an interface: the service uses Redis
// (redis_dataset_index.h), unit tests an in-memory fake.
//
// The index also holds each dataset's references (the jobs and models that use it). Adding a
// reference and deleting a dataset are atomic against each other: a reference is only added
// to a dataset that is listed at that moment, and a dataset is only deleted while it has no
// reference, so a reference never outlives its dataset.
//
// Lineage counts as a reference: a dataset made by SplitDataset or MergeDatasets holds the
// reference "dataset/<its id>" (LineageHolder) on each of its parents (LineageParents) for as
// long as it is listed. Put adds those references in the same atomic step that lists the
// child, and refuses when a parent is not listed at that moment; Delete drops them in the same
// atomic step that unlists the child. So a parent cannot be deleted while a child exists, and
// deleting the children first allows it.
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
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"

namespace ethscan::dataset {

// The holder prefix of lineage references; reserved, clients cannot add or remove such.
inline constexpr absl::string_view kLineageHolderPrefix = "dataset/";

// The holder with which dataset `child_id` references each of its parents.
inline std::string LineageHolder(absl::string_view child_id) {
  return absl::StrCat(kLineageHolderPrefix, child_id);
}

// Whether `holder` is a lineage reference.
inline bool IsLineageHolder(absl::string_view holder) {
  return absl::StartsWith(holder, kLineageHolderPrefix);
}

// The datasets `dataset` was split or merged from, in the order its origin names them; empty
// for an upload.
inline std::vector<std::string> LineageParents(const v1::Dataset& dataset) {
  std::vector<std::string> parents;
  if (dataset.has_split_origin() && !dataset.split_origin().parent_id().empty()) {
    parents.push_back(dataset.split_origin().parent_id());
  }
  if (dataset.has_merge_origin()) {
    for (const std::string& id : dataset.merge_origin().parent_ids()) parents.push_back(id);
  }
  return parents;
}

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
  // Atomically: when every one of LineageParents(dataset) is listed, stores (or replaces) the
  // metadata of `dataset`, keyed by its id and listed by its create_time, and adds
  // LineageHolder(dataset.id()) to each parent's references. Its `referenced_by` is not stored
  // (references are kept apart and survive a replacement). FAILED_PRECONDITION naming the
  // parent, with nothing stored, when a parent is not listed; UNAVAILABLE when the backing
  // store is down.
  virtual absl::Status Put(const v1::Dataset& dataset) = 0;
  // The dataset with `id` with its `referenced_by` (sorted), or nullopt when there is none.
  virtual absl::StatusOr<std::optional<v1::Dataset>> Get(absl::string_view id) = 0;
  // Lists datasets newest first, each with its `referenced_by`.
  virtual absl::StatusOr<ListPage> List(const ListQuery& query) = 0;
  // Atomically: when `dataset.id()` is listed and has no reference, removes its metadata from
  // every key (by id, the listing and `dataset.name()`'s listing) and its lineage reference
  // from each of LineageParents(dataset). Nothing else is touched; the caller removes the
  // records afterwards.
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

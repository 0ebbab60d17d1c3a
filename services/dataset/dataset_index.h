// The index of stored datasets' metadata, behind an interface: the service uses Redis
// (redis_dataset_index.h), unit tests an in-memory fake.
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

class DatasetIndex {
 public:
  virtual ~DatasetIndex() = default;
  // Stores (or replaces) the metadata of `dataset`, keyed by its id and listed by its
  // create_time. UNAVAILABLE when the backing store is down.
  virtual absl::Status Put(const v1::Dataset& dataset) = 0;
  // The dataset with `id`, or nullopt when there is none.
  virtual absl::StatusOr<std::optional<v1::Dataset>> Get(absl::string_view id) = 0;
  // Lists datasets newest first.
  virtual absl::StatusOr<ListPage> List(const ListQuery& query) = 0;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_DATASET_INDEX_H_

// DatasetIndex on Redis. Keys (with the default prefix "ethscan:"):
//   ethscan:dataset:<id>              hash, field "proto" = serialized ethscan.dataset.v1.Dataset
//                                     (without referenced_by)
//   ethscan:dataset:<id>:refs         set of the holders that reference the dataset
//   ethscan:datasets                  sorted set of ids, score = create time in Unix ms
//   ethscan:dataset:by-name:<name>    sorted set of the ids with that name, same scores
// Lineage references ("dataset/<child id>", dataset_index.h) live in the parents' refs sets
// beside the jobs' and models' ones. Put, AddReference, RemoveReference and Delete each run as
// one Lua script (EVAL), which Redis executes atomically: the existence checks (of the dataset,
// or of a child's parents) and the change cannot interleave with another client's.
//
// Thread-safety: thread-safe (the redis::Client is).
#ifndef ETHSCAN_SERVICES_DATASET_REDIS_DATASET_INDEX_H_
#define ETHSCAN_SERVICES_DATASET_REDIS_DATASET_INDEX_H_

#include <memory>
#include <string>

#include "common/redis/redis_client.h"
#include "services/dataset/dataset_index.h"

namespace ethscan::dataset {

struct RedisDatasetIndexOptions {
  // Prepended to every key.
  std::string key_prefix = "ethscan:";
};

class RedisDatasetIndex final : public DatasetIndex {
 public:
  explicit RedisDatasetIndex(std::shared_ptr<redis::Client> client,
                             RedisDatasetIndexOptions options = {});

  absl::Status Put(const v1::Dataset& dataset) override;
  absl::StatusOr<std::optional<v1::Dataset>> Get(absl::string_view id) override;
  absl::StatusOr<ListPage> List(const ListQuery& query) override;
  absl::StatusOr<DeleteOutcome> Delete(const v1::Dataset& dataset) override;
  absl::StatusOr<std::optional<v1::Dataset>> AddReference(absl::string_view id,
                                                          absl::string_view holder) override;
  absl::StatusOr<std::optional<v1::Dataset>> RemoveReference(absl::string_view id,
                                                             absl::string_view holder) override;

 private:
  // Runs the reference script with `op` "add" or "remove".
  absl::StatusOr<std::optional<v1::Dataset>> ChangeReference(absl::string_view id,
                                                             absl::string_view holder,
                                                             absl::string_view op);
  std::string DatasetKey(absl::string_view id) const;
  std::string RefsKey(absl::string_view id) const;
  std::string AllKey() const;
  std::string NameKey(absl::string_view name) const;

  const std::shared_ptr<redis::Client> client_;
  const RedisDatasetIndexOptions options_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_REDIS_DATASET_INDEX_H_

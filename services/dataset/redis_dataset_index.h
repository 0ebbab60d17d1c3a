// DatasetIndex on Redis. Keys (with the default prefix "ethscan:"):
//   ethscan:dataset:<id>              hash, field "proto" = serialized ethscan.dataset.v1.Dataset
//   ethscan:datasets                  sorted set of ids, score = create time in Unix ms
//   ethscan:dataset:by-name:<name>    sorted set of the ids with that name, same scores
// Put writes all three in one MULTI/EXEC transaction.
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

 private:
  std::string DatasetKey(absl::string_view id) const;
  std::string AllKey() const;
  std::string NameKey(absl::string_view name) const;

  const std::shared_ptr<redis::Client> client_;
  const RedisDatasetIndexOptions options_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_REDIS_DATASET_INDEX_H_

// ModelStore on Redis (schema in redis_schema.h). Alias changes and deletions run as Lua
// scripts, so an alias never points at a deleted model.
//
// Thread-safety: thread-safe (commands share one connection).
#ifndef ETHSCAN_SERVICES_TRAINING_REDIS_MODEL_STORE_H_
#define ETHSCAN_SERVICES_TRAINING_REDIS_MODEL_STORE_H_

#include "common/redis/redis_client.h"
#include "services/training/model_store.h"
#include "services/training/redis_schema.h"

namespace ethscan::training {

class RedisModelStore final : public ModelStore {
 public:
  struct Options {
    RedisKeys keys;
  };

  // `client` is not owned and must outlive the store.
  RedisModelStore(redis::Client* client, Options options)
      : client_(client), options_(std::move(options)) {}
  explicit RedisModelStore(redis::Client* client) : RedisModelStore(client, Options()) {}

  absl::Status Put(const v1::Model& model) override;
  absl::StatusOr<PublishClaim> ClaimPublish(absl::string_view name, const PublishFence& fence,
                                            absl::string_view token, absl::Duration ttl) override;
  absl::Status PutClaimed(const v1::Model& model, const PublishFence& fence,
                          absl::string_view token) override;
  absl::Status ReleaseClaim(absl::string_view name, absl::string_view token) override;
  absl::StatusOr<v1::Model> Get(absl::string_view name) override;
  absl::StatusOr<std::optional<std::string>> GetAlias(absl::string_view alias) override;
  absl::StatusOr<ModelPage> List(int64_t offset, int64_t limit) override;
  absl::Status SetAlias(absl::string_view alias, absl::string_view name) override;
  absl::Status Delete(absl::string_view name) override;
  absl::StatusOr<std::string> RollbackAlias(absl::string_view alias) override;
  absl::Status DeleteAlias(absl::string_view alias) override;
  absl::StatusOr<std::vector<std::string>> AliasHistory(absl::string_view alias) override;
  absl::Status PutCheckpoint(const v1::Model& model, int step) override;
  absl::StatusOr<std::vector<v1::Model>> ListCheckpoints(absl::string_view job_id) override;
  absl::Status DeleteCheckpoint(absl::string_view job_id, absl::string_view name) override;

 private:
  // Every alias → model name pair.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> AllAliases();

  redis::Client* const client_;
  const Options options_;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_REDIS_MODEL_STORE_H_

// Metadata of published models and their aliases (interface). The model bytes live on the
// registry's volume (model_registry.h); this store holds what lists and resolves them. The
// Redis implementation is in redis_model_store.h; tests use an in-memory fake.
#ifndef ETHSCAN_SERVICES_TRAINING_MODEL_STORE_H_
#define ETHSCAN_SERVICES_TRAINING_MODEL_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/training/v1/model_registry_service.pb.h"

namespace ethscan::training {

// One page of models, newest first.
struct ModelPage {
  std::vector<v1::Model> models;
  // Models stored in total.
  int64_t total = 0;
};

// Who may publish a job's model: the attempt whose job record is still in `state`
// (JobState of its running job). A worker that lost the job (it was taken over after the
// worker stalled) is fenced off, so a job publishes exactly one model.
struct PublishFence {
  std::string job_id;
  std::string state;
};

enum class PublishClaim {
  kGranted,    // The caller may write the model, then PutClaimed.
  kPublished,  // The model exists already (an earlier attempt published it).
  kFenced,     // The job is no longer in the fence's state.
  kBusy,       // Another claim holds it.
};

// Previous targets an alias remembers.
inline constexpr int kAliasHistoryKept = 50;

// Stores model metadata and aliases. Every returned Model has `aliases` filled in.
// Implementations are thread-safe.
class ModelStore {
 public:
  virtual ~ModelStore() = default;

  // Stores (or replaces) a model's metadata; its `aliases` field is ignored.
  virtual absl::Status Put(const v1::Model& model) = 0;

  // Claims the publishing of model `name` for `token` for `ttl` (see PublishClaim); the
  // holder checks the fence and the model's absence in the same step.
  virtual absl::StatusOr<PublishClaim> ClaimPublish(absl::string_view name,
                                                    const PublishFence& fence,
                                                    absl::string_view token,
                                                    absl::Duration ttl) = 0;
  // Put for the holder of the claim, checking the fence again in the same step, and frees
  // the claim. ABORTED when the claim was lost or the fence no longer holds.
  virtual absl::Status PutClaimed(const v1::Model& model, const PublishFence& fence,
                                  absl::string_view token) = 0;
  // Frees the claim if `token` holds it.
  virtual absl::Status ReleaseClaim(absl::string_view name, absl::string_view token) = 0;

  // The model named `name` (not an alias). NOT_FOUND when unknown.
  virtual absl::StatusOr<v1::Model> Get(absl::string_view name) = 0;

  // The model name `alias` points at; nullopt when the alias is not set.
  virtual absl::StatusOr<std::optional<std::string>> GetAlias(absl::string_view alias) = 0;

  // Models newest first, skipping `offset`, at most `limit`.
  virtual absl::StatusOr<ModelPage> List(int64_t offset, int64_t limit) = 0;

  // Points `alias` at model `name` atomically with checking that the model exists, and
  // records the model it pointed at before in its history (kAliasHistoryKept kept).
  // NOT_FOUND when the model does not exist.
  virtual absl::Status SetAlias(absl::string_view alias, absl::string_view name) = 0;

  // Points `alias` back at the most recent model of its history that still exists, and
  // takes it (and any deleted ones before it) off the history; returns that model's name.
  // NOT_FOUND when the history has no model left.
  virtual absl::StatusOr<std::string> RollbackAlias(absl::string_view alias) = 0;

  // Removes `alias` (its history stays). NOT_FOUND when it is not set.
  virtual absl::Status DeleteAlias(absl::string_view alias) = 0;

  // The models `alias` pointed at before, most recent first.
  virtual absl::StatusOr<std::vector<std::string>> AliasHistory(absl::string_view alias) = 0;

  // Removes a model atomically with checking that no alias points at it. NOT_FOUND when
  // unknown; FAILED_PRECONDITION naming the alias when one does.
  virtual absl::Status Delete(absl::string_view name) = 0;

  // Stores (or replaces) the metadata of a checkpoint of job `model.job_id()` at `step`: Get
  // finds it by name, List does not list it, ListCheckpoints does.
  virtual absl::Status PutCheckpoint(const v1::Model& model, int step) = 0;

  // The checkpoints of a job, lowest step first.
  virtual absl::StatusOr<std::vector<v1::Model>> ListCheckpoints(absl::string_view job_id) = 0;

  // Removes one checkpoint of a job and the aliases pointing at it. NOT_FOUND when unknown.
  virtual absl::Status DeleteCheckpoint(absl::string_view job_id, absl::string_view name) = 0;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_MODEL_STORE_H_

// The model registry: publishes fine-tuned models (bytes on the registry's volume, metadata
// and aliases in a ModelStore), resolves names, aliases and the default model, and reads a
// model back with its integrity checked. Both the training server (ModelRegistryService)
// and the workers (which publish) use it on the same volume and store.
//
// Layout: <models_dir>/<sanitised name>/model.pb, the KnowledgeModel serialized
// deterministically; written to a temporary file in the same folder and renamed, so a reader
// never sees a partial model.
//
// Dataset references: Publish first references every dataset the model was trained on
// (KnowledgeModel.training_datasets) as "model/<name>" in the dataset service, so none of them
// can be deleted while the model exists; a dataset already gone (one only a base model named)
// is skipped with a warning. Delete drops those references before it deletes the model, so a
// model that cannot drop them stays and the call fails (UNAVAILABLE when the dataset service
// is unreachable) rather than leaving a dataset undeletable.
//
// Thread-safety: thread-safe (the store is; file writes go through unique temporary files).
#ifndef ETHSCAN_SERVICES_TRAINING_MODEL_REGISTRY_H_
#define ETHSCAN_SERVICES_TRAINING_MODEL_REGISTRY_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/training/v1/knowledge_model.pb.h"
#include "ethscan/training/v1/model_registry_service.pb.h"
#include "services/training/dataset_client.h"
#include "services/training/model_store.h"

namespace ethscan::training {

// The alias GetModel("") prefers.
inline constexpr char kProductionAlias[] = "production";

// INVALID_ARGUMENT unless `alias` is 1-64 characters of [a-z0-9_-] and does not start with
// "ft:".
absl::Status ValidateAlias(absl::string_view alias);

// The folder name of a model: characters outside [A-Za-z0-9._-] become '_'.
std::string SanitiseModelName(absl::string_view name);

// Serializes a model deterministically (the same model always gives the same bytes).
std::string SerializeDeterministic(const google::protobuf::Message& message);

class ModelRegistry {
 public:
  struct Options {
    // Folder holding one sub-folder per model; created when missing.
    std::string models_dir = ".ethscan/data/models";
  };

  // `store` and `datasets` are not owned and must outlive the registry. Fails when
  // `models_dir` cannot be created.
  static absl::StatusOr<std::unique_ptr<ModelRegistry>> Create(Options options, ModelStore* store,
                                                               DatasetClient* datasets);

  // References the model's datasets, writes the model's bytes and records its metadata (kind
  // "knowledge"). A model of the same name is replaced. Returns the stored metadata. A
  // reference that cannot be added (other than for a dataset that is gone) fails the call
  // with the dataset service's status, and the references added are dropped again unless a
  // model of that name exists.
  absl::StatusOr<v1::Model> Publish(const v1::KnowledgeModel& model);

  // A model by name or alias; the empty name means the default model: the one alias
  // "production" points at, else the newest. NOT_FOUND ("no model published yet" when the
  // registry is empty).
  absl::StatusOr<v1::Model> Resolve(absl::string_view name_or_alias);

  // Models newest first. INVALID_ARGUMENT for a bad page size or token.
  absl::StatusOr<v1::ListModelsResponse> List(int32_t page_size, absl::string_view page_token);

  // Points `alias` at model `model` (a name, not an alias) and returns that model.
  // INVALID_ARGUMENT for a bad alias or an empty model; NOT_FOUND for an unknown model.
  absl::StatusOr<v1::Model> SetAlias(absl::string_view alias, absl::string_view model);

  // Drops the model's dataset references, then deletes the model (by name), its aliases and
  // its bytes. NOT_FOUND; the dataset service's status when a reference cannot be dropped.
  absl::Status Delete(absl::string_view name);

  // The model's bytes after checking their size and SHA-256. DATA_LOSS when the file is
  // missing or does not match.
  absl::StatusOr<std::string> ReadVerified(const v1::Model& model);

  // Resolves and reads a model. NOT_FOUND, DATA_LOSS.
  absl::StatusOr<v1::KnowledgeModel> Load(absl::string_view name_or_alias);

  // Where a model's bytes live.
  std::string ModelPath(absl::string_view name) const;

 private:
  // Publish without the references: the file, then the metadata.
  absl::StatusOr<v1::Model> WriteAndRecord(const v1::KnowledgeModel& model);

  ModelRegistry(Options options, ModelStore* store, DatasetClient* datasets)
      : options_(std::move(options)), store_(store), datasets_(datasets) {}

  const Options options_;
  ModelStore* const store_;
  DatasetClient* const datasets_;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_MODEL_REGISTRY_H_

// The model registry: publishes fine-tuned models (bytes on the registry's volume, metadata
// and aliases in a ModelStore), resolves names, aliases and the default model, and reads a
// model back with its integrity checked. Both the training server (ModelRegistryService)
// and the workers (which publish) use it on the same volume and store.
//
// Layout: <models_dir>/<sanitised name>/model.pb, the ethscan.model.v1.ModelPackage (manifest
// and artefacts, common/model/package.h) serialized deterministically; written to a locked
// temporary file in the same folder and renamed (atomic_file.h), so a reader never sees a partial
// model. The temporary files of writers that died (a worker killed while publishing) are removed by
// a sweep when the registry is created and then every `sweep_interval` on a background thread; a
// file whose writer lives, in this process or any other sharing the volume, is never removed.
//
// Names: a model's name starts with "ft:" ("ft:<base>:<suffix>:<job id>"); "ethscan-base" is
// the base model. An alias is 1 to 64 characters of lowercase letters, digits, '_' and '-',
// starting with a letter or digit, so it can never be a model name; it may not be a base
// model's name either. Hence a name resolves to one thing: the model, the base, or an alias.
//
// Checkpoints: a job's per-epoch snapshots of its classifier are models of kind "classifier"
// named "<model name>:ckpt-step-<N>", stored like models but listed only by ListCheckpoints
// (newest kCheckpointsKept kept); they resolve and load like any model (the knowledge index
// does not change from step to step, so it stays in the job's model only). Deleting a model
// deletes its checkpoints.
//
// Dataset references: Publish first references every dataset the manifest names (training,
// validation and test) as "model/<name>" in the dataset service, so none of them
// can be deleted while the model exists; a dataset already gone (one only a base model named)
// is skipped with a warning. Delete drops those references before it deletes the model, so a
// model that cannot drop them stays and the call fails (UNAVAILABLE when the dataset service
// is unreachable) rather than leaving a dataset undeletable.
//
// Thread-safety: thread-safe (the store is; file writes go through unique temporary files).
#ifndef ETHSCAN_SERVICES_TRAINING_MODEL_REGISTRY_H_
#define ETHSCAN_SERVICES_TRAINING_MODEL_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "ethscan/model/v1/model.pb.h"
#include "ethscan/training/v1/model_registry_service.pb.h"
#include "services/training/dataset_client.h"
#include "services/training/model_store.h"

namespace ethscan::training {

// The alias GetModel("") prefers.
inline constexpr char kProductionAlias[] = "production";

// The base model: an empty knowledge index, the base of a job that names none.
inline constexpr char kDefaultBaseModel[] = "ethscan-base";

// How every published model's name starts.
inline constexpr char kModelNamePrefix[] = "ft:";

// Longest alias.
inline constexpr size_t kMaxAliasLength = 64;

// A checkpoint's name is the model's name, this, and the step.
inline constexpr char kCheckpointInfix[] = ":ckpt-step-";

// Checkpoints kept per job.
inline constexpr size_t kCheckpointsKept = 3;

// "<model_name>:ckpt-step-<step>".
std::string CheckpointName(absl::string_view model_name, int step);

// True for the name of a base model (not stored in the registry): "ethscan-base".
bool IsBaseModelName(absl::string_view name);

// INVALID_ARGUMENT unless `alias` is 1 to kMaxAliasLength characters of [a-z0-9_-], starts
// with a letter or digit, and is not a base model's name (see "Names" above). The message
// quotes the alias with text::Quote.
absl::Status ValidateAlias(absl::string_view alias);

// The folder name of a model: characters outside [A-Za-z0-9._-] become '_'.
std::string SanitiseModelName(absl::string_view name);

class ModelRegistry {
 public:
  struct Options {
    // Folder holding one sub-folder per model; created when missing.
    std::string models_dir = ".ethscan/data/models";
    // A dead writer's temporary file is removed only once it is older than this, which
    // covers the moment between a writer creating its file and locking it, and clock skew
    // between the hosts sharing the volume.
    absl::Duration temp_min_age = absl::Minutes(5);
    // How often the background thread sweeps; zero or less starts no thread (the sweep in
    // Create still runs).
    absl::Duration sweep_interval = absl::Minutes(10);
    // Called on the background thread after each of its sweeps with the number of files
    // removed (for tests); may be empty.
    std::function<void(int removed)> on_sweep;
    // The id of an unfinished job that continues `model` (its base model), or nullopt; Delete
    // and Prune keep such a model. Empty: no job is asked about.
    std::function<absl::StatusOr<std::optional<std::string>>(absl::string_view model)> job_using;
  };

  // `store` and `datasets` are not owned and must outlive the registry. Fails when
  // `models_dir` cannot be created. Sweeps dead temporary files before it returns, then
  // starts the background sweep.
  static absl::StatusOr<std::unique_ptr<ModelRegistry>> Create(Options options, ModelStore* store,
                                                               DatasetClient* datasets);

  // Stops the background sweep and waits for it.
  ~ModelRegistry();
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // Removes the temporary files of dead writers in every model folder (atomic_file.h) and
  // returns how many it removed. Thread-safe; safe while other processes write and sweep.
  int SweepTemporaryFiles();

  // References the model's datasets, writes the package and records its metadata (kind and
  // manifest from the package). A model of the same name is replaced. INVALID_ARGUMENT unless
  // the name starts with "ft:" and the package verifies (model::Verify). Returns the stored
  // metadata. A reference that cannot be added (other than for a dataset that is gone) fails
  // the call with the dataset service's status, and the references added are dropped again
  // unless a model of that name exists.
  absl::StatusOr<v1::Model> Publish(const model::v1::ModelPackage& package);
  // The same for the attempt of a job that `fence` names: only while the job is in the
  // fence's state, and only once: ALREADY_EXISTS when the model exists already (an earlier
  // attempt published it; it is not replaced), ABORTED when the job changed hands (before
  // or while publishing; nothing is left behind).
  absl::StatusOr<v1::Model> Publish(const model::v1::ModelPackage& package,
                                    const PublishFence& fence);

  // Stores `package` as the checkpoint of `model_name` at `step` (its manifest's name and
  // checkpoint_step are set here) and drops the job's checkpoints beyond the newest
  // kCheckpointsKept. Takes no dataset references.
  absl::StatusOr<v1::Model> PublishCheckpoint(model::v1::ModelPackage package,
                                              absl::string_view model_name, int step);

  // A job's checkpoints, lowest step first.
  absl::StatusOr<std::vector<v1::Model>> ListCheckpoints(absl::string_view job_id);

  // Deletes every checkpoint of a job (an attempt that starts over, a job that ends without
  // a model); returns how many it deleted.
  absl::StatusOr<int> DeleteCheckpoints(absl::string_view job_id);

  // A model by name or alias; the empty name means the default model: the one alias
  // "production" points at, else the newest. NOT_FOUND ("no model published yet" when the
  // registry is empty).
  absl::StatusOr<v1::Model> Resolve(absl::string_view name_or_alias);

  // Models newest first. INVALID_ARGUMENT for a bad page size or token.
  absl::StatusOr<v1::ListModelsResponse> List(int32_t page_size, absl::string_view page_token);

  // Points `alias` at model `model` (a name, not an alias) and returns that model.
  // INVALID_ARGUMENT for a bad alias (ValidateAlias), an alias that is a model's name, or an
  // empty model; NOT_FOUND for an unknown model.
  absl::StatusOr<v1::Model> SetAlias(absl::string_view alias, absl::string_view model);

  // Points `alias` back at the model it pointed at before (the most recent one of its
  // history that still exists) and returns that model. NOT_FOUND when there is none.
  absl::StatusOr<v1::Model> RollbackAlias(absl::string_view alias);
  // Removes an alias. NOT_FOUND when it is not set.
  absl::Status DeleteAlias(absl::string_view alias);
  // The model `alias` points at (nullopt when unset) and the models it pointed at before,
  // most recent first.
  absl::StatusOr<std::pair<std::optional<std::string>, std::vector<std::string>>> Alias(
      absl::string_view alias);

  // Drops the model's dataset references, then deletes the model (by name), its bytes and its
  // job's checkpoints of it; a checkpoint's name deletes that checkpoint. NOT_FOUND;
  // FAILED_PRECONDITION while an alias points at the model or an unfinished job continues it
  // (naming it); the dataset service's status when a reference cannot be dropped.
  absl::Status Delete(absl::string_view name);

  // Retention: of each suffix's models (ft:<base>:<suffix>:<job>), the newest `keep` stay,
  // and so does every model an alias points at or an unfinished job continues; the others are
  // deleted (or, with `dry_run`, only listed). Returns the models deleted (or to delete),
  // newest first. INVALID_ARGUMENT for `keep` < 1.
  absl::StatusOr<std::vector<v1::Model>> Prune(int keep, bool dry_run);

  // The model's bytes after checking their size and SHA-256. DATA_LOSS when the file is
  // missing or does not match.
  absl::StatusOr<std::string> ReadVerified(const v1::Model& model);

  // Resolves and reads a model, each artefact checked against the manifest. NOT_FOUND,
  // DATA_LOSS.
  absl::StatusOr<model::v1::ModelPackage> Load(absl::string_view name_or_alias);

  // Where a model's bytes live.
  std::string ModelPath(absl::string_view name) const;

 private:
  // Publish without the references: the file, then the metadata (as a checkpoint when
  // `checkpoint_step` > 0).
  absl::StatusOr<v1::Model> WriteAndRecord(const model::v1::ModelPackage& package,
                                           int checkpoint_step, const PublishFence* fence = nullptr,
                                           const std::string& token = "");
  absl::StatusOr<v1::Model> PublishImpl(const model::v1::ModelPackage& package,
                                        const PublishFence* fence);
  // FAILED_PRECONDITION while an alias points at the model or an unfinished job continues it.
  absl::Status CheckUnused(const v1::Model& model);
  // Removes a checkpoint's record and files.
  absl::Status DeleteCheckpointFiles(const v1::Model& checkpoint);

  ModelRegistry(Options options, ModelStore* store, DatasetClient* datasets)
      : options_(std::move(options)), store_(store), datasets_(datasets) {}
  // The background sweep: every sweep_interval until stop_ is notified.
  void SweepLoop();

  const Options options_;
  ModelStore* const store_;
  DatasetClient* const datasets_;
  absl::Notification stop_;
  std::thread sweeper_;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_MODEL_REGISTRY_H_

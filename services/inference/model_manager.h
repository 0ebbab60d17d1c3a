// Keeps fine-tuned models in memory: resolves names and aliases against the registry (cached
// briefly, so a moved alias takes effect within `resolve_ttl`), loads a model on first use,
// and serves lookups without further I/O.
#ifndef ETHSCAN_SERVICES_INFERENCE_MODEL_MANAGER_H_
#define ETHSCAN_SERVICES_INFERENCE_MODEL_MANAGER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "ethscan/inference/v1/inference_service.pb.h"
#include "services/inference/loaded_model.h"
#include "services/inference/model_source.h"

namespace ethscan::inference {

// Thread-safe. Loads are serialised; lookups of loaded models never wait for a load.
class ModelManager {
 public:
  struct Options {
    // How long a name or alias resolution is reused before the registry is asked again.
    absl::Duration resolve_ttl = absl::Seconds(5);
  };

  // `clock` must outlive the manager.
  ModelManager(std::unique_ptr<ModelSource> source, const common::Clock* clock, Options options)
      : source_(std::move(source)), clock_(clock), options_(options) {}

  // The model `name_or_alias` ("" = default) refers to, loading it when needed. NOT_FOUND
  // ("model or alias \"x\" not found in the model registry", the name quoted by text::Quote)
  // when the registry knows no such model or alias; other registry errors keep their code, the
  // message prefixed with the quoted name and capped.
  absl::StatusOr<std::shared_ptr<const LoadedModel>> Get(const std::string& name_or_alias);
  // Loads the model again even when it is in memory; returns it with the load time.
  absl::StatusOr<inference::v1::LoadedModel> Load(const std::string& name_or_alias);
  // Drops a model from memory. NOT_FOUND when it is not loaded.
  absl::Status Unload(const std::string& name_or_alias);
  // The loaded models, sorted by name.
  std::vector<inference::v1::LoadedModel> List() const;
  // The loaded model `name_or_alias` resolves to, without loading; NOT_FOUND when not loaded.
  absl::StatusOr<std::string> Ready(const std::string& name_or_alias);

 private:
  struct Resolution {
    training::v1::Model model;
    absl::Time expires;
  };
  struct Entry {
    std::shared_ptr<const LoadedModel> model;
    double load_seconds = 0;
  };

  absl::StatusOr<training::v1::Model> Resolve(const std::string& name_or_alias);
  absl::StatusOr<Entry> FetchAndIndex(const training::v1::Model& model);
  static inference::v1::LoadedModel Describe(const Entry& entry);

  const std::unique_ptr<ModelSource> source_;
  const common::Clock* const clock_;
  const Options options_;

  // Serialises downloads so one model is fetched once even when many calls want it.
  absl::Mutex load_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Resolution> resolutions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Entry> loaded_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ethscan::inference

#endif  // ETHSCAN_SERVICES_INFERENCE_MODEL_MANAGER_H_

// Where the inference service gets models: the training service's model registry, over gRPC.
#ifndef ETHSCAN_SERVICES_INFERENCE_MODEL_SOURCE_H_
#define ETHSCAN_SERVICES_INFERENCE_MODEL_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ethscan/model/v1/model.pb.h"
#include "ethscan/training/v1/model_registry_service.grpc.pb.h"

namespace ethscan::inference {

// Resolves model names and fetches model bytes. Implementations are thread-safe.
class ModelSource {
 public:
  virtual ~ModelSource() = default;
  // Resolves a model name or alias ("" means the default: alias "production", else the newest
  // model) to the registry's Model record. NOT_FOUND when there is no such model.
  virtual absl::StatusOr<training::v1::Model> Resolve(const std::string& name_or_alias) = 0;
  // Downloads and parses the model called `name` (a resolved name, not an alias): its
  // package, every artefact checked against the manifest. DATA_LOSS when the bytes do not
  // parse or do not match the registry's SHA-256 or the manifest's checksums.
  virtual absl::StatusOr<model::v1::ModelPackage> Fetch(const training::v1::Model& model) = 0;
};

// ModelSource over ModelRegistryService (GetModel, DownloadModel).
class RegistryModelSource final : public ModelSource {
 public:
  struct Options {
    // Deadline of GetModel.
    absl::Duration resolve_timeout = absl::Seconds(5);
    // Deadline of a whole DownloadModel stream.
    absl::Duration download_timeout = absl::Minutes(5);
  };

  RegistryModelSource(std::unique_ptr<training::v1::ModelRegistryService::StubInterface> stub,
                      Options options)
      : stub_(std::move(stub)), options_(options) {}

  absl::StatusOr<training::v1::Model> Resolve(const std::string& name_or_alias) override;
  absl::StatusOr<model::v1::ModelPackage> Fetch(const training::v1::Model& model) override;

 private:
  const std::unique_ptr<training::v1::ModelRegistryService::StubInterface> stub_;
  const Options options_;
};

}  // namespace ethscan::inference

#endif  // ETHSCAN_SERVICES_INFERENCE_MODEL_SOURCE_H_

// A fine-tuned model held in memory: its manifest and one predictor per kind
// (predictor.h), built by MakePredictors from the model's package. The composite's Assess
// asks every kind about one address.
#ifndef ETHSCAN_SERVICES_INFERENCE_LOADED_MODEL_H_
#define ETHSCAN_SERVICES_INFERENCE_LOADED_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ethscan/model/v1/model.pb.h"
#include "services/inference/predictor.h"

namespace ethscan::inference {

// Immutable after creation, so safe to share between threads.
class LoadedModel {
 public:
  // Builds the predictors of every kind. DATA_LOSS or FAILED_PRECONDITION as MakePredictors.
  static absl::StatusOr<std::unique_ptr<LoadedModel>> Create(model::v1::ModelPackage package,
                                                             uint64_t size_bytes);

  // Every kind's assessment of `input`.
  absl::StatusOr<Assessment> Assess(const PredictInput& input) const;

  // The knowledge entry for `address`, or null (no index, or not listed).
  const model::v1::KnowledgeEntry* Find(const eth::Address& address) const;

  const std::string& name() const { return manifest_.name(); }
  const model::v1::Manifest& manifest() const { return manifest_; }
  // Addresses in the knowledge index (0 without one).
  size_t address_count() const;
  uint64_t size_bytes() const { return size_bytes_; }
  // The classifier, or null when the model has none.
  const ClassifierPredictor* classifier() const { return classifier_; }

 private:
  LoadedModel(model::v1::Manifest manifest, uint64_t size_bytes)
      : manifest_(std::move(manifest)), size_bytes_(size_bytes) {}

  const model::v1::Manifest manifest_;
  const uint64_t size_bytes_;
  std::vector<std::unique_ptr<Predictor>> predictors_;
  const KnowledgePredictor* knowledge_ = nullptr;
  const ClassifierPredictor* classifier_ = nullptr;
};

}  // namespace ethscan::inference

#endif  // ETHSCAN_SERVICES_INFERENCE_LOADED_MODEL_H_

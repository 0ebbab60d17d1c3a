// The inference side of the model contract: one Predictor per model kind, built by one
// factory from a model's package (ethscan.model.v1), each giving its assessment of an
// address; a LoadedModel (loaded_model.h) is the composite, and one report builder
// (report.h) combines the assessments.
//
//   "knowledge"   KnowledgePredictor: the exact index of what the datasets say.
//   "classifier"  ClassifierPredictor: the behavioural classifier's probability of "flagged"
//                 for the request's feature vector, with the features that weighed most
//                 (XGBoost pred_contribs).
//
// Thread-safety: predictors are immutable after creation and safe to share between threads.
#ifndef ETHSCAN_SERVICES_INFERENCE_PREDICTOR_H_
#define ETHSCAN_SERVICES_INFERENCE_PREDICTOR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/eth/address.h"
#include "common/ml/classifier.h"
#include "ethscan/inference/v1/inference_service.pb.h"
#include "ethscan/model/v1/model.pb.h"

namespace ethscan::inference {

// What a prediction is asked about.
struct PredictInput {
  eth::Address address;
  // The request's features as a dense ethscan.features.v1 vector (NaN where missing); empty
  // when the request carried none.
  std::vector<float> features;
};

// What the kinds of a model say about one address.
struct Assessment {
  // The knowledge index's entry; null when the model has no index or the index does not
  // list the address.
  const model::v1::KnowledgeEntry* entry = nullptr;
  // True when the model has a knowledge index.
  bool has_knowledge = false;
  // The classifier's score; unset without features or without a classifier.
  std::optional<v1::BehaviouralScore> behaviour;
};

class Predictor {
 public:
  virtual ~Predictor() = default;
  // The kind it answers for.
  virtual absl::string_view kind() const = 0;
  // Adds this kind's assessment of `input` to `out`.
  virtual absl::Status Assess(const PredictInput& input, Assessment* out) const = 0;
};

class KnowledgePredictor final : public Predictor {
 public:
  // Indexes every entry by address. DATA_LOSS when an entry's address does not parse or an
  // address appears twice (`model_name` names the model).
  static absl::StatusOr<std::unique_ptr<KnowledgePredictor>> Create(model::v1::KnowledgeIndex index,
                                                                    absl::string_view model_name);

  absl::string_view kind() const override;
  absl::Status Assess(const PredictInput& input, Assessment* out) const override;

  // The entry for `address`, or null.
  const model::v1::KnowledgeEntry* Find(const eth::Address& address) const;
  size_t address_count() const { return lookup_.size(); }

 private:
  explicit KnowledgePredictor(model::v1::KnowledgeIndex index) : index_(std::move(index)) {}

  const model::v1::KnowledgeIndex index_;
  absl::flat_hash_map<eth::Address, const model::v1::KnowledgeEntry*> lookup_;
};

class ClassifierPredictor final : public Predictor {
 public:
  // Loads the booster. DATA_LOSS when it does not load, its schema is not one this version
  // reads, or a feature name is not in the schema.
  static absl::StatusOr<std::unique_ptr<ClassifierPredictor>> Create(
      const model::v1::ClassifierArtefact& artefact, absl::string_view model_name);

  absl::string_view kind() const override;
  // Scores the input's features; nothing when it has none of the classifier's inputs.
  absl::Status Assess(const PredictInput& input, Assessment* out) const override;

  const model::v1::ClassifierArtefact& artefact() const { return artefact_; }

 private:
  ClassifierPredictor(model::v1::ClassifierArtefact artefact,
                      std::unique_ptr<ml::Classifier> classifier, std::vector<size_t> columns)
      : artefact_(std::move(artefact)),
        classifier_(std::move(classifier)),
        columns_(std::move(columns)) {}

  const model::v1::ClassifierArtefact artefact_;
  const std::unique_ptr<ml::Classifier> classifier_;
  // Position in the dense schema vector of each input column.
  const std::vector<size_t> columns_;
};

// The predictors of every kind the package's manifest names, in manifest order. DATA_LOSS
// for an artefact that does not parse or load; FAILED_PRECONDITION naming a kind this
// version does not know.
absl::StatusOr<std::vector<std::unique_ptr<Predictor>>> MakePredictors(
    const model::v1::ModelPackage& package);

}  // namespace ethscan::inference

#endif  // ETHSCAN_SERVICES_INFERENCE_PREDICTOR_H_

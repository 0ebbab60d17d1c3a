// A small behavioural classifier for inference tests: trained for real (XGBoost) on a
// synthetic two-feature set in which flagged addresses send many transactions.
#ifndef ETHSCAN_TESTS_SERVICES_INFERENCE_CLASSIFIER_FIXTURE_H_
#define ETHSCAN_TESTS_SERVICES_INFERENCE_CLASSIFIER_FIXTURE_H_

#include <random>
#include <string>
#include <vector>

#include "common/ml/classifier.h"
#include "common/model/package.h"
#include "ethscan/model/v1/model.pb.h"
#include "tests/testing/model_packages.h"

namespace ethscan::inference::testing {

// Its inputs, in order: canonical ethscan.features.v1 names.
inline const std::vector<std::string>& ClassifierInputs() {
  static const auto* inputs = new std::vector<std::string>{"sent_tnx", "received_tnx"};
  return *inputs;
}

// The classifier artefact: flagged when sent_tnx is high; threshold 0.5, positives
// "Phish / Hack".
inline model::v1::ClassifierArtefact TrainedClassifier() {
  std::mt19937 random(3);
  std::normal_distribution<float> gauss(0, 1);
  ml::FeatureMatrix train;
  train.columns = 2;
  for (int i = 0; i < 400; ++i) {
    const bool flagged = i % 2 == 0;
    const float row[2] = {(flagged ? 50.f : 2.f) + gauss(random), 5.f + gauss(random)};
    train.AddRow(row, flagged ? 1.f : 0.f);
  }
  ml::BoosterParams params;
  params.rounds = 20;
  params.max_depth = 2;
  absl::StatusOr<ml::TrainResult> trained = ml::Train(params, train, nullptr, nullptr);
  model::v1::ClassifierArtefact artefact;
  artefact.set_feature_schema("ethscan.features.v1");
  artefact.set_feature_schema_version(1);
  artefact.set_feature_set("transaction");
  for (const std::string& f : ClassifierInputs()) artefact.add_features(f);
  if (trained.ok()) artefact.set_booster(trained->saved_model);
  artefact.set_threshold(0.5);
  artefact.set_positive_label("Phish / Hack");
  artefact.set_rounds(20);
  return artefact;
}

// A model with a knowledge index of `entries` and the trained classifier.
inline model::v1::ModelPackage ModelWithClassifier(const std::string& name,
                                                   std::vector<model::v1::KnowledgeEntry> entries) {
  model::v1::KnowledgeIndex index;
  for (auto& e : entries) *index.add_entries() = std::move(e);
  model::v1::ModelPackage package = ::ethscan::testing::KnowledgePackage(name, index);
  (void)model::AddArtefact(&package, model::kClassifierKind, model::kClassifierFormat,
                           TrainedClassifier().SerializeAsString());
  return package;
}

}  // namespace ethscan::inference::testing

#endif  // ETHSCAN_TESTS_SERVICES_INFERENCE_CLASSIFIER_FIXTURE_H_

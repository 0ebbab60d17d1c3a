#include "services/inference/loaded_model.h"

#include "common/model/package.h"

namespace ethscan::inference {

absl::StatusOr<std::unique_ptr<LoadedModel>> LoadedModel::Create(model::v1::ModelPackage package,
                                                                 uint64_t size_bytes) {
  absl::StatusOr<std::vector<std::unique_ptr<Predictor>>> predictors = MakePredictors(package);
  if (!predictors.ok()) return predictors.status();
  std::unique_ptr<LoadedModel> loaded(
      new LoadedModel(std::move(*package.mutable_manifest()), size_bytes));
  loaded->predictors_ = *std::move(predictors);
  for (const std::unique_ptr<Predictor>& p : loaded->predictors_) {
    if (p->kind() == model::kKnowledgeKind) {
      loaded->knowledge_ = static_cast<const KnowledgePredictor*>(p.get());
    } else if (p->kind() == model::kClassifierKind) {
      loaded->classifier_ = static_cast<const ClassifierPredictor*>(p.get());
    }
  }
  return loaded;
}

absl::StatusOr<Assessment> LoadedModel::Assess(const PredictInput& input) const {
  Assessment out;
  for (const std::unique_ptr<Predictor>& p : predictors_) {
    absl::Status status = p->Assess(input, &out);
    if (!status.ok()) return status;
  }
  return out;
}

const model::v1::KnowledgeEntry* LoadedModel::Find(const eth::Address& address) const {
  return knowledge_ == nullptr ? nullptr : knowledge_->Find(address);
}

size_t LoadedModel::address_count() const {
  return knowledge_ == nullptr ? 0 : knowledge_->address_count();
}

}  // namespace ethscan::inference

// The "knowledge" kind: the exact index of what the training datasets say about each address
// (knowledge_builder.h), merged over the parent model's index when the job continues one.
// Every record of a training dataset is listed, held out for the classifier or not. With a
// validation dataset it also measures how much of it the index knows and how often it agrees
// on the label (valid_known_fraction, valid_label_accuracy).
#ifndef ETHSCAN_SERVICES_TRAINING_KNOWLEDGE_TRAINER_H_
#define ETHSCAN_SERVICES_TRAINING_KNOWLEDGE_TRAINER_H_

#include <string>
#include <utility>
#include <vector>

#include "services/training/knowledge_builder.h"
#include "services/training/trainer.h"

namespace ethscan::training {

class KnowledgeTrainer final : public Trainer {
 public:
  KnowledgeTrainer() = default;

  absl::string_view kind() const override;
  absl::Status AddDataset(const dataset::v1::Dataset& dataset, Side side) override;
  absl::Status AddRecord(const RecordOrigin& origin,
                         const common::v1::AddressRecord& record) override;
  absl::Status AddParent(const model::v1::Manifest& manifest,
                         const model::v1::Artefact* artefact) override;
  absl::StatusOr<std::optional<TrainedArtefact>> Train(TrainingSink* sink) override;

  const BuildStats& stats() const { return builder_.stats(); }

 private:
  KnowledgeBuilder builder_;
  bool has_validation_ = false;
  // (lowercase address/chain, label) of the validation dataset's records.
  std::vector<std::pair<std::string, std::string>> validation_;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_KNOWLEDGE_TRAINER_H_

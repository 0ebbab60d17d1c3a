// The training contract: one Trainer per model kind ("knowledge", "classifier"). The worker
// streams a job's records into every trainer, each trainer reports its progress through a
// TrainingSink and hands back its trained artefact; the worker packs the artefacts into one
// model (ethscan.model.v1.ModelPackage) and publishes it. Queue handling, heartbeats, retries
// and publishing stay in the worker (worker.h).
//
// Sides: each record reaches a trainer with the side it belongs to. Records of the job's
// training datasets are on the training side, except those the worker holds out as validation
// or test side when the job names no such dataset (`held_out`); records of the job's
// validation and test datasets are on those sides. A trainer decides what each side means to
// it: the knowledge index lists every record of the training datasets, held out or not,
// while the classifier never trains on a held-out record.
//
// Thread-safety: a Trainer is used from one thread.
#ifndef ETHSCAN_SERVICES_TRAINING_TRAINER_H_
#define ETHSCAN_SERVICES_TRAINING_TRAINER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/common/v1/common.pb.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"
#include "ethscan/model/v1/model.pb.h"

namespace ethscan::training {

enum class Side { kTraining, kValidation, kTest };

// "training", "validation", "test".
inline absl::string_view SideName(Side side) {
  switch (side) {
    case Side::kTraining:
      return "training";
    case Side::kValidation:
      return "validation";
    case Side::kTest:
      return "test";
  }
  return "training";
}

// Where a record comes from.
struct RecordOrigin {
  const dataset::v1::Dataset* dataset = nullptr;
  Side side = Side::kTraining;
  // True for a record of a training dataset that the worker put on the validation or test
  // side (the job named no dataset for that side).
  bool held_out = false;
};

// What a trainer reports while it trains; the worker implements it.
class TrainingSink {
 public:
  virtual ~TrainingSink() = default;
  // A message event of the job ("info", "warning").
  virtual void Message(absl::string_view level, absl::string_view message) = 0;
  // A metrics event: its text ("Step 120/300: training loss=0.081, …"), the step reached of
  // the total, and the metrics (step, total_steps, train_loss, valid_loss, …).
  virtual void Metrics(absl::string_view message, int step, int total_steps,
                       const std::map<std::string, double>& metrics) = 0;
  // Publishes a checkpoint at `step`: a loadable model holding `artefact` (of this trainer's
  // kind) as of that step, under the job's manifest so far. Failures are the worker's to
  // report; a trainer goes on.
  virtual void Checkpoint(int step, std::string artefact,
                          const std::map<std::string, double>& metrics) = 0;
  // Called between units of work; ABORTED when training must stop (the job was cancelled or
  // taken over, the worker is stopping). Also keeps the job's queue entry alive.
  virtual absl::Status Check() = 0;
};

// What a trainer produced.
struct TrainedArtefact {
  // The artefact: kind, format and serialized bytes.
  std::string kind;
  std::string format;
  std::string data;
  // Summary figures for the model card (merged into Manifest.metrics).
  std::map<std::string, double> metrics;
  // The hyperparameters used, every "auto" resolved (merged into Manifest.hyperparameters).
  std::map<std::string, double> hyperparameters;
  // The classifier's evaluations; unset for other kinds.
  std::optional<model::v1::Evaluation> validation;
  std::optional<model::v1::Evaluation> test;
  // Test evaluations of classifiers trained the same way on other feature sets, for
  // comparison (Manifest.feature_set_comparison).
  std::vector<model::v1::Evaluation> comparisons;
  // The feature set ("all", "transaction") of a classifier.
  std::string feature_set;
  // Further artefacts that are no model kind (kind, format, bytes): the results CSV.
  struct Extra {
    std::string kind;
    std::string format;
    std::string data;
  };
  std::vector<Extra> extras;
  // One line for the job's events ("knowledge index: 38,881 addresses, …").
  std::string summary;
};

class Trainer {
 public:
  virtual ~Trainer() = default;

  // The model kind this trainer builds.
  virtual absl::string_view kind() const = 0;

  // Registers a dataset of the job before its records, on its side. Errors are permanent.
  virtual absl::Status AddDataset(const dataset::v1::Dataset& dataset, Side side) = 0;

  // One record of a registered dataset.
  virtual absl::Status AddRecord(const RecordOrigin& origin,
                                 const common::v1::AddressRecord& record) = 0;

  // The parent model of a job that continues a fine-tuned model: its manifest and its
  // artefact of this trainer's kind (null when the parent has none). Called after the last
  // AddDataset and before any AddRecord.
  virtual absl::Status AddParent(const model::v1::Manifest& manifest,
                                 const model::v1::Artefact* artefact) = 0;

  // Trains. nullopt when there was nothing this kind can learn from (a classifier without
  // feature records), after telling the sink why; the sink's ABORTED when it stopped
  // training; FAILED_PRECONDITION and INVALID_ARGUMENT for data or settings that cannot
  // train.
  virtual absl::StatusOr<std::optional<TrainedArtefact>> Train(TrainingSink* sink) = 0;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_TRAINER_H_

// Fine-tuning of the behavioural classifier: records with features in, an XGBoost model, the
// hyperparameters it was trained with, its decision threshold and its training metrics out.
//
// Hyperparameters use the fine-tuning vocabulary, each a value or automatic (nullopt):
//   n_epochs                 epochs; one epoch is kRoundsPerEpoch boosting rounds and ends
//                            with a checkpoint. auto: 20 with a validation set (early
//                            stopping picks the round), 4 without.
//   learning_rate            XGBoost eta. auto: 0.1, or 0.3 below 2,000 training rows.
//   batch_size               rows sampled for each tree (XGBoost subsample = batch_size /
//                            rows, at most 1). auto: every row up to 20,000 rows, else 80 %.
//   max_depth                auto: 6.
//   min_child_weight         auto: 1.
//   colsample                share of features sampled per tree. auto: 1.
//   scale_pos_weight         weight of flagged rows. auto: 1 (the threshold is chosen on the
//                            validation set, which balances precision and recall instead).
//   early_stopping_patience  rounds without a better validation loss before training stops.
//                            auto: 30 with a validation set; none without.
//   seed                     auto: 42.
//
// The target: a record is a positive when it is flagged (Phish / Hack, Scam, Exploit, Heist,
// Sanctioned) and a negative when it is "not flagged" (Kaggle FLAG 0), which is no evidence of
// legitimacy: the classifier's negative verdict is "Unknown", never "Legit". Records without
// features or without such a label are counted and left out. An address seen twice on one
// side keeps its first record; an address of the validation side that is also on the training
// side is left out of validation, so validation never scores a row the model trained on.
//
// Thread-safety: not thread-safe; one trainer per job.
#ifndef ETHSCAN_SERVICES_TRAINING_CLASSIFIER_TRAINER_H_
#define ETHSCAN_SERVICES_TRAINING_CLASSIFIER_TRAINER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/ml/classifier.h"
#include "ethscan/common/v1/common.pb.h"

namespace ethscan::training {

// Boosting rounds per epoch.
inline constexpr int kRoundsPerEpoch = 50;

// What a job asks for; nullopt means auto.
struct ClassifierHyperparameters {
  std::optional<int> n_epochs;
  std::optional<double> learning_rate;
  std::optional<int64_t> batch_size;
  std::optional<int> max_depth;
  std::optional<double> min_child_weight;
  std::optional<double> colsample;
  std::optional<double> scale_pos_weight;
  std::optional<int> early_stopping_patience;
  std::optional<uint64_t> seed;
};

// The values a training run used.
struct ResolvedHyperparameters {
  int n_epochs = 0;
  int64_t batch_size = 0;
  ml::BoosterParams booster;

  // Name → value, in the fine-tuning vocabulary, for the job record and the model card.
  std::map<std::string, double> AsMap() const;
};

// Fills in the automatic values for a run on `train_rows` rows (with or without validation).
// INVALID_ARGUMENT names a value out of range (n_epochs 1 to 50, batch_size ≥ 1, …).
absl::StatusOr<ResolvedHyperparameters> ResolveHyperparameters(
    const ClassifierHyperparameters& requested, size_t train_rows, bool has_validation);

struct TrainedClassifier {
  // Classifier::Save bytes.
  std::string model;
  ResolvedHyperparameters hyperparameters;
  // Probability at or above which an address is reported with `positive_label`; chosen on
  // the validation set (best F1), 0.5 without one.
  double threshold = 0.5;
  // The label most positives carry ("Phish / Hack" or "Scam" for the feature sets).
  std::string positive_label;
  std::vector<ml::RoundMetrics> history;
  int best_round = 0;
  bool stopped_early = false;
  // Metrics at `threshold` on the validation set; nullopt without one.
  std::optional<ml::BinaryMetrics> validation;
  size_t train_rows = 0;
  size_t train_positives = 0;
  size_t validation_rows = 0;
  // Records left out: no features or no usable label, a repeated address, or (validation) an
  // address of the training side.
  size_t skipped_records = 0;
};

class ClassifierTrainer {
 public:
  // One round's progress: `step` of `total_steps` rounds; `checkpoint` holds the model so
  // far at the end of an epoch, else it is empty. A non-OK return stops training with it.
  struct Progress {
    int step = 0;
    int total_steps = 0;
    int epoch = 0;
    bool epoch_end = false;
    ml::RoundMetrics metrics;
    std::string checkpoint;
  };
  using ProgressFn = std::function<absl::Status(const Progress&)>;

  explicit ClassifierTrainer(ClassifierHyperparameters requested)
      : requested_(std::move(requested)) {}

  void AddTrainingRecord(const common::v1::AddressRecord& record);
  void AddValidationRecord(const common::v1::AddressRecord& record);

  // Rows with a target on the training side so far.
  size_t training_rows() const { return train_.rows(); }

  // Trains. FAILED_PRECONDITION when the training side has no positive or no negative row
  // (naming what is missing); the ProgressFn's error when it stops training.
  absl::StatusOr<TrainedClassifier> Train(const ProgressFn& progress);

 private:
  ClassifierHyperparameters requested_;
  ml::FeatureMatrix train_;
  absl::flat_hash_set<std::string> train_addresses_;
  // Validation rows with their lowercase addresses; those the training side also has are
  // left out when training starts.
  struct ValidationRow {
    std::string address;
    std::vector<float> features;
    float label = 0;
  };
  std::vector<ValidationRow> valid_;
  absl::flat_hash_set<std::string> valid_addresses_;
  std::map<std::string, size_t> positive_labels_;
  size_t skipped_ = 0;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_CLASSIFIER_TRAINER_H_

// A binary gradient-boosted tree classifier over the XGBoost C API: training round by round
// with per-round losses, early stopping on a validation set, probabilities and per-feature
// contributions (SHAP values, XGBoost's pred_contribs) for new rows, and a model that saves
// to and loads from bytes. Plus the evaluation metrics a fine-tuning job reports.
//
// Thread-safety: a Classifier may be used from several threads (calls into XGBoost are
// serialised per model, and each runs on the calling thread alone). Train runs on the calling
// thread (XGBoost uses `threads` inside).
#ifndef ETHSCAN_COMMON_ML_CLASSIFIER_H_
#define ETHSCAN_COMMON_ML_CLASSIFIER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace ethscan::ml {

// Rows of `columns` float features, row-major; NaN is a missing value. `labels` (0 or 1)
// has one entry per row when the matrix is for training or evaluation, else it is empty.
struct FeatureMatrix {
  size_t columns = 0;
  std::vector<float> values;
  std::vector<float> labels;

  size_t rows() const { return columns == 0 ? 0 : values.size() / columns; }
  // Appends a row of `columns` values with its label.
  void AddRow(absl::Span<const float> row, float label);
  // Appends a row without a label (for prediction).
  void AddRow(absl::Span<const float> row);
};

// Booster settings. Each is a concrete value here; choosing values for `auto` is the
// caller's business (see the training service).
struct BoosterParams {
  // Boosting rounds at most (early stopping may end sooner).
  int rounds = 100;
  // Shrinkage of each tree (XGBoost eta).
  double learning_rate = 0.1;
  // Share of rows sampled for each tree (XGBoost subsample), in (0, 1].
  double subsample = 1.0;
  int max_depth = 6;
  double min_child_weight = 1.0;
  // Share of columns sampled for each tree (XGBoost colsample_bytree), in (0, 1].
  double colsample = 1.0;
  // Weight of the positive class (XGBoost scale_pos_weight), > 0.
  double scale_pos_weight = 1.0;
  // Stop when the validation loss has not improved for this many rounds; 0 never stops early
  // (and a run without a validation set never does).
  int early_stopping_patience = 0;
  uint64_t seed = 0;
  // XGBoost's nthread; 0 lets it choose.
  int threads = 0;
};

// INVALID_ARGUMENT naming the first out-of-range setting.
absl::Status ValidateParams(const BoosterParams& params);

// Losses after one round. Loss is the mean log loss, accuracy the share of rows whose
// probability is on the right side of 0.5.
struct RoundMetrics {
  // 1-based: the number of trees after this round.
  int round = 0;
  double train_loss = 0;
  double train_accuracy = 0;
  std::optional<double> valid_loss;
  std::optional<double> valid_accuracy;
};

class Classifier {
 public:
  // A model saved by Save. INVALID_ARGUMENT when the bytes are not an XGBoost model.
  static absl::StatusOr<std::unique_ptr<Classifier>> Load(absl::string_view bytes);
  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // The model in XGBoost's UBJSON format (portable across XGBoost versions). Load reads it
  // and XGBoost's JSON format, which models saved before used.
  absl::StatusOr<std::string> Save() const;
  // The probability of the positive class for each row.
  absl::StatusOr<std::vector<float>> Predict(const FeatureMatrix& rows) const;
  // Per row, each feature's contribution to the margin (log-odds) and last the bias:
  // rows × (columns + 1) values, row-major. They add up to the row's margin.
  absl::StatusOr<std::vector<float>> Contributions(const FeatureMatrix& rows) const;
  // Trees in the model.
  int rounds() const { return rounds_; }
  // Input width the model was trained on.
  size_t columns() const { return columns_; }

 private:
  friend absl::StatusOr<struct TrainResult> Train(
      const BoosterParams& params, const FeatureMatrix& train, const FeatureMatrix* valid,
      const std::function<bool(const RoundMetrics&,
                               const std::function<absl::StatusOr<std::string>()>&)>&,
      absl::string_view);
  Classifier(void* booster, int rounds, size_t columns)
      : booster_(booster), rounds_(rounds), columns_(columns) {}
  absl::StatusOr<std::vector<float>> Run(const FeatureMatrix& rows, int type) const;

  mutable absl::Mutex mu_;
  void* const booster_ ABSL_GUARDED_BY(mu_);
  const int rounds_;
  const size_t columns_;
};

// The model as trained so far, for a checkpoint: in XGBoost's binary model format, which is
// written many times faster than UBJSON at once and loads with Classifier::Load like it.
using SnapshotFn = std::function<absl::StatusOr<std::string>()>;

// Called after each round with its metrics and a way to save the model so far; returning
// false stops training after it (a cancelled job).
using RoundCallback = std::function<bool(const RoundMetrics&, const SnapshotFn& snapshot)>;

struct TrainResult {
  // The model cut at `best_round` when early stopping found one, else with every round.
  std::unique_ptr<Classifier> model;
  // `model` as Classifier::Save bytes.
  std::string saved_model;
  std::vector<RoundMetrics> history;
  // Round with the lowest validation loss (the last round without a validation set); counts
  // the initial model's rounds, and is `initial_rounds` when no new round improved on it.
  int best_round = 0;
  // Rounds of the model training continued from (0 for a new model).
  int initial_rounds = 0;
  bool stopped_early = false;
  bool cancelled = false;
};

// Trains on `train` (labels required), with `valid` (optional) for validation losses and
// early stopping. With `initial_model` (Classifier::Save bytes of a model over the same
// columns) training continues it: `params.rounds` more rounds are added to its trees, and
// round numbers go on from its count. INVALID_ARGUMENT for bad parameters, an empty or
// unlabelled matrix, widths that differ or an initial model that does not load; INTERNAL
// with XGBoost's message when XGBoost fails.
absl::StatusOr<TrainResult> Train(const BoosterParams& params, const FeatureMatrix& train,
                                  const FeatureMatrix* valid, const RoundCallback& on_round,
                                  absl::string_view initial_model = {});

// How well scores separate the labels.
struct BinaryMetrics {
  double threshold = 0.5;
  int64_t true_positives = 0;
  int64_t false_positives = 0;
  int64_t true_negatives = 0;
  int64_t false_negatives = 0;
  double accuracy = 0;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  // Area under the ROC curve (ties counted half); NaN when one class is absent.
  double roc_auc = 0;
  // Area under the precision-recall curve (average precision); NaN without positives.
  double pr_auc = 0;
  // Mean squared error of the probabilities.
  double brier = 0;
  double log_loss = 0;
};

// Metrics of `scores` (probabilities) against `labels` (0/1), a row positive when its score
// is at least `threshold`. The spans have equal sizes.
BinaryMetrics Evaluate(absl::Span<const float> labels, absl::Span<const float> scores,
                       double threshold);

// The threshold that maximises F1 on (`labels`, `scores`), ties broken toward 0.5; 0.5 when
// there are no positives.
double ChooseThreshold(absl::Span<const float> labels, absl::Span<const float> scores);

}  // namespace ethscan::ml

#endif  // ETHSCAN_COMMON_ML_CLASSIFIER_H_

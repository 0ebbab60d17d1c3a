#include "services/training/classifier_trainer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/features/schema.h"
#include "common/features/vector.h"
#include "common/report/labels.h"

namespace ethscan::training {
namespace {

template <typename T>
absl::Status OutOfRange(absl::string_view name, T value, absl::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat("hyperparameter ", name, " = ", value, " is out of range: ", range));
}

}  // namespace

std::map<std::string, double> ResolvedHyperparameters::AsMap() const {
  return {
      {"n_epochs", n_epochs},
      {"rounds_per_epoch", kRoundsPerEpoch},
      {"learning_rate", booster.learning_rate},
      {"batch_size", static_cast<double>(batch_size)},
      {"subsample", booster.subsample},
      {"max_depth", booster.max_depth},
      {"min_child_weight", booster.min_child_weight},
      {"colsample", booster.colsample},
      {"scale_pos_weight", booster.scale_pos_weight},
      {"early_stopping_patience", booster.early_stopping_patience},
      {"seed", static_cast<double>(booster.seed)},
  };
}

absl::StatusOr<ResolvedHyperparameters> ResolveHyperparameters(const ClassifierHyperparameters& r,
                                                               size_t train_rows,
                                                               bool has_validation) {
  ResolvedHyperparameters out;
  out.n_epochs = r.n_epochs.value_or(has_validation ? 20 : 4);
  if (out.n_epochs < 1 || out.n_epochs > 50) return OutOfRange("n_epochs", out.n_epochs, "1 to 50");
  ml::BoosterParams& b = out.booster;
  b.rounds = out.n_epochs * kRoundsPerEpoch;
  b.learning_rate = r.learning_rate.value_or(train_rows < 2000 ? 0.3 : 0.1);
  const int64_t rows = static_cast<int64_t>(std::max<size_t>(train_rows, 1));
  out.batch_size = r.batch_size.value_or(train_rows <= 20000 ? rows : rows * 8 / 10);
  if (out.batch_size < 1) return OutOfRange("batch_size", out.batch_size, "at least 1");
  b.subsample = std::min(1.0, static_cast<double>(out.batch_size) / static_cast<double>(rows));
  b.max_depth = r.max_depth.value_or(6);
  b.min_child_weight = r.min_child_weight.value_or(1.0);
  b.colsample = r.colsample.value_or(1.0);
  b.scale_pos_weight = r.scale_pos_weight.value_or(1.0);
  b.early_stopping_patience = has_validation ? r.early_stopping_patience.value_or(30) : 0;
  b.seed = r.seed.value_or(42);
  absl::Status valid = ml::ValidateParams(b);
  if (!valid.ok())
    return absl::InvalidArgumentError(absl::StrCat("hyperparameter ", valid.message()));
  return out;
}

void ClassifierTrainer::AddTrainingRecord(const common::v1::AddressRecord& record) {
  const features::Target target = features::TargetOf(record);
  if (target == features::Target::kNone ||
      !train_addresses_.insert(absl::AsciiStrToLower(record.address())).second) {
    ++skipped_;
    return;
  }
  if (train_.columns == 0) train_.columns = features::NumericFeatures().size();
  const bool positive = target == features::Target::kFlagged;
  train_.AddRow(features::DenseVector(record), positive ? 1.f : 0.f);
  if (positive) ++positive_labels_[record.label()];
}

void ClassifierTrainer::AddValidationRecord(const common::v1::AddressRecord& record) {
  const features::Target target = features::TargetOf(record);
  std::string address = absl::AsciiStrToLower(record.address());
  if (target == features::Target::kNone || !valid_addresses_.insert(address).second) {
    ++skipped_;
    return;
  }
  valid_.push_back({std::move(address), features::DenseVector(record),
                    target == features::Target::kFlagged ? 1.f : 0.f});
}

absl::StatusOr<TrainedClassifier> ClassifierTrainer::Train(const ProgressFn& progress) {
  TrainedClassifier out;
  size_t positives = 0;
  for (float label : train_.labels) positives += label > 0.5f ? 1 : 0;
  const size_t negatives = train_.rows() - positives;
  if (positives == 0 || negatives == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the behavioural classifier needs flagged and not-flagged records with features; the "
        "training data has ",
        positives, " flagged and ", negatives,
        " not flagged (feature files such as the Kaggle layout carry both)"));
  }
  ml::FeatureMatrix valid;
  valid.columns = train_.columns;
  for (const ValidationRow& row : valid_) {
    if (train_addresses_.contains(row.address)) {
      ++skipped_;
      continue;
    }
    valid.AddRow(row.features, row.label);
  }
  size_t valid_positives = 0;
  for (float label : valid.labels) valid_positives += label > 0.5f ? 1 : 0;
  // A validation side with one class only cannot choose a threshold or stop early well.
  const bool has_validation =
      valid.rows() > 0 && valid_positives > 0 && valid_positives < valid.rows();
  absl::StatusOr<ResolvedHyperparameters> hp =
      ResolveHyperparameters(requested_, train_.rows(), has_validation);
  if (!hp.ok()) return hp.status();
  out.hyperparameters = *hp;

  absl::Status stop;
  const int total = hp->booster.rounds;
  ml::RoundCallback on_round = [&](const ml::RoundMetrics& m, const ml::SnapshotFn& snapshot) {
    Progress p;
    p.step = m.round;
    p.total_steps = total;
    p.epoch = (m.round + kRoundsPerEpoch - 1) / kRoundsPerEpoch;
    p.epoch_end = m.round % kRoundsPerEpoch == 0;
    p.metrics = m;
    if (p.epoch_end) {
      absl::StatusOr<std::string> bytes = snapshot();
      if (!bytes.ok()) {
        stop = bytes.status();
        return false;
      }
      p.checkpoint = *std::move(bytes);
    }
    stop = progress ? progress(p) : absl::OkStatus();
    return stop.ok();
  };
  absl::StatusOr<ml::TrainResult> result =
      ml::Train(hp->booster, train_, has_validation ? &valid : nullptr, on_round);
  if (!result.ok()) return result.status();
  if (result->cancelled) return stop;
  out.model = std::move(result->saved_model);
  out.history = std::move(result->history);
  out.best_round = result->best_round;
  out.stopped_early = result->stopped_early;
  out.train_rows = train_.rows();
  out.train_positives = positives;
  out.validation_rows = has_validation ? valid.rows() : 0;
  out.skipped_records = skipped_;
  if (has_validation) {
    absl::StatusOr<std::vector<float>> scores = result->model->Predict(valid);
    if (!scores.ok()) return scores.status();
    out.threshold = ml::ChooseThreshold(valid.labels, *scores);
    out.validation = ml::Evaluate(valid.labels, *scores, out.threshold);
  }
  // The positives' most common label; a tie goes to the more severe.
  for (const auto& [label, count] : positive_labels_) {
    const size_t best = out.positive_label.empty() ? 0 : positive_labels_[out.positive_label];
    if (count > best || (count == best && common::LabelSeverity(label) >
                                              common::LabelSeverity(out.positive_label))) {
      out.positive_label = label;
    }
  }
  return out;
}

}  // namespace ethscan::training

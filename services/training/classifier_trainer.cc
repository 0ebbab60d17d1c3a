#include "services/training/classifier_trainer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/features/schema.h"
#include "common/features/vector.h"
#include "common/model/evaluation.h"
#include "common/model/package.h"
#include "common/report/labels.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"

namespace ethscan::training {
namespace {

template <typename T>
absl::Status OutOfRange(absl::string_view name, T value, absl::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat("hyperparameter ", name, " = ", value, " is out of range: ", range));
}

ml::FeatureMatrix Project(const ml::FeatureMatrix& full, const std::vector<size_t>& columns) {
  ml::FeatureMatrix out;
  out.columns = columns.size();
  out.values.reserve(full.rows() * columns.size());
  for (size_t r = 0; r < full.rows(); ++r) {
    for (size_t c : columns) out.values.push_back(full.values[r * full.columns + c]);
  }
  out.labels = full.labels;
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> FeatureSetColumns(absl::string_view feature_set) {
  const bool all = feature_set.empty() || feature_set == kFeatureSetAll;
  if (!all && feature_set != kFeatureSetTransaction) {
    return absl::InvalidArgumentError(absl::StrCat("feature_set ", text::Quote(feature_set),
                                                   " is not \"all\" or \"transaction\""));
  }
  std::vector<std::string> names;
  for (const features::FeatureDef* def : features::NumericFeatures()) {
    if (all || def->block == features::Block::kTransactions) names.emplace_back(def->name);
  }
  return names;
}

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
      {"erc20_features", feature_set == kFeatureSetTransaction ? 0.0 : 1.0},
  };
}

absl::StatusOr<ResolvedHyperparameters> ResolveHyperparameters(const ClassifierHyperparameters& r,
                                                               size_t train_rows,
                                                               bool has_validation) {
  ResolvedHyperparameters out;
  absl::StatusOr<std::vector<std::string>> columns = FeatureSetColumns(r.feature_set);
  if (!columns.ok()) return columns.status();
  out.feature_set = r.feature_set.empty() ? kFeatureSetAll : r.feature_set;
  out.n_epochs = r.n_epochs.value_or(has_validation ? 20 : 4);
  if (out.n_epochs < 1 || out.n_epochs > 50) return OutOfRange("n_epochs", out.n_epochs, "1 to 50");
  ml::BoosterParams& b = out.booster;
  b.rounds = out.n_epochs * kRoundsPerEpoch;
  if (r.learning_rate.has_value() && r.learning_rate_multiplier.has_value()) {
    return absl::InvalidArgumentError(
        "hyperparameters learning_rate and learning_rate_multiplier cannot both be set");
  }
  b.learning_rate = r.learning_rate.value_or((train_rows < 2000 ? 0.3 : 0.1) *
                                             r.learning_rate_multiplier.value_or(1.0));
  if (!(b.learning_rate > 0 && b.learning_rate <= 1)) {
    return OutOfRange("learning_rate", b.learning_rate, "above 0, at most 1");
  }
  const int64_t rows = static_cast<int64_t>(std::max<size_t>(train_rows, 1));
  out.batch_size = r.batch_size.value_or(train_rows <= 20000 ? rows : rows * 8 / 10);
  if (out.batch_size < 1) return OutOfRange("batch_size", out.batch_size, "at least 1");
  b.subsample = std::min(1.0, static_cast<double>(out.batch_size) / static_cast<double>(rows));
  b.max_depth = r.max_depth.value_or(6);
  b.min_child_weight = r.min_child_weight.value_or(1.0);
  b.colsample = r.colsample.value_or(0.5);
  b.scale_pos_weight = r.scale_pos_weight.value_or(1.0);
  b.early_stopping_patience = has_validation ? r.early_stopping_patience.value_or(50) : 0;
  b.seed = r.seed.value_or(42);
  absl::Status valid = ml::ValidateParams(b);
  if (!valid.ok())
    return absl::InvalidArgumentError(absl::StrCat("hyperparameter ", valid.message()));
  return out;
}

absl::StatusOr<ClassifierHyperparameters> HyperparametersFromProto(const v1::Hyperparameters& hp) {
  ClassifierHyperparameters out;
  if (hp.has_n_epochs() && hp.n_epochs() != 0) out.n_epochs = hp.n_epochs();
  if (hp.has_learning_rate_multiplier() && hp.learning_rate_multiplier() != 0) {
    if (!std::isfinite(hp.learning_rate_multiplier()) || hp.learning_rate_multiplier() < 0) {
      return OutOfRange("learning_rate_multiplier", hp.learning_rate_multiplier(),
                        "0 (automatic) or positive");
    }
    out.learning_rate_multiplier = hp.learning_rate_multiplier();
  }
  if (hp.has_learning_rate()) out.learning_rate = hp.learning_rate();
  if (hp.has_batch_size()) out.batch_size = hp.batch_size();
  if (hp.has_max_depth()) out.max_depth = hp.max_depth();
  if (hp.has_min_child_weight()) out.min_child_weight = hp.min_child_weight();
  if (hp.has_colsample()) out.colsample = hp.colsample();
  if (hp.has_scale_pos_weight()) out.scale_pos_weight = hp.scale_pos_weight();
  if (hp.has_early_stopping_patience()) {
    if (hp.early_stopping_patience() < 1) {
      return OutOfRange("early_stopping_patience", hp.early_stopping_patience(), "at least 1");
    }
    out.early_stopping_patience = hp.early_stopping_patience();
  }
  if (hp.seed() != 0) out.seed = hp.seed();
  out.feature_set = hp.feature_set();
  out.evaluate_other_feature_set = hp.evaluate_other_feature_set();
  // The ranges: resolving for a typical run checks every value given.
  absl::StatusOr<ResolvedHyperparameters> resolved = ResolveHyperparameters(out, 1000, true);
  if (!resolved.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        absl::StartsWith(resolved.status().message(), "hyperparameter ") ? "" : "hyperparameters: ",
        resolved.status().message()));
  }
  return out;
}

void ClassifierTrainer::AddTrainingRecord(const common::v1::AddressRecord& record) {
  std::vector<float> dense = features::DenseVector(record);
  const features::Target target = features::TargetOf(record, dense);
  if (target == features::Target::kNone ||
      !train_addresses_.insert(absl::AsciiStrToLower(record.address())).second) {
    ++skipped_;
    return;
  }
  if (train_.columns == 0) train_.columns = features::NumericFeatures().size();
  const bool positive = target == features::Target::kFlagged;
  train_.AddRow(dense, positive ? 1.f : 0.f);
  if (positive) ++positive_labels_[record.label()];
}

void ClassifierTrainer::AddValidationRecord(const common::v1::AddressRecord& record) {
  std::vector<float> dense = features::DenseVector(record);
  const features::Target target = features::TargetOf(record, dense);
  std::string address = absl::AsciiStrToLower(record.address());
  if (target == features::Target::kNone || !valid_addresses_.insert(address).second) {
    ++skipped_;
    return;
  }
  valid_.push_back(
      {std::move(address), std::move(dense), target == features::Target::kFlagged ? 1.f : 0.f});
}

void ClassifierTrainer::AddTestRecord(const common::v1::AddressRecord& record) {
  std::vector<float> dense = features::DenseVector(record);
  const features::Target target = features::TargetOf(record, dense);
  std::string address = absl::AsciiStrToLower(record.address());
  if (target == features::Target::kNone || !test_addresses_.insert(address).second) {
    ++skipped_;
    return;
  }
  test_.push_back(
      {std::move(address), std::move(dense), target == features::Target::kFlagged ? 1.f : 0.f});
}

absl::StatusOr<TrainedClassifier> ClassifierTrainer::Train(const ProgressFn& progress) {
  if (!resume_booster_.empty()) {
    // BehaviouralTrainer::Resume checked that the checkpoint is of this feature set.
    const std::string feature_set =
        requested_.feature_set.empty() ? std::string(kFeatureSetAll) : requested_.feature_set;
    return TrainWith(requested_, resume_booster_, feature_set, progress, /*checkpoints=*/true,
                     resume_done_);
  }
  return TrainWith(requested_, parent_booster_, parent_feature_set_, progress,
                   /*checkpoints=*/true);
}

std::string ClassifierTrainer::PositiveLabel() const {
  std::string out;
  for (const auto& [label, count] : positive_labels_) {
    const size_t best = out.empty() ? 0 : positive_labels_.at(out);
    if (count > best ||
        (count == best && common::LabelSeverity(label) > common::LabelSeverity(out))) {
      out = label;
    }
  }
  return out;
}

absl::StatusOr<TrainedClassifier> ClassifierTrainer::TrainOnFeatureSet(
    absl::string_view feature_set, const ProgressFn& progress) const {
  ClassifierHyperparameters requested = requested_;
  requested.feature_set = std::string(feature_set);
  return TrainWith(requested, "", "", progress, /*checkpoints=*/false);
}

absl::StatusOr<TrainedClassifier> ClassifierTrainer::TrainWith(
    const ClassifierHyperparameters& requested, const std::string& parent_booster,
    const std::string& parent_feature_set, const ProgressFn& progress, bool checkpoints,
    int rounds_done) const {
  TrainedClassifier out;
  size_t skipped = skipped_;
  absl::StatusOr<std::vector<std::string>> names = FeatureSetColumns(requested.feature_set);
  if (!names.ok()) return names.status();
  const std::string feature_set =
      requested.feature_set.empty() ? kFeatureSetAll : requested.feature_set;
  if (!parent_booster.empty() && parent_feature_set != feature_set) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the base model's classifier reads the feature set ", text::Quote(parent_feature_set),
        "; continuing it needs the same feature_set, not ", text::Quote(feature_set)));
  }
  std::vector<size_t> columns;
  for (const std::string& name : *names) columns.push_back(*features::NumericIndexOf(name));
  out.features = *names;
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
  ml::FeatureMatrix valid_full;
  valid_full.columns = train_.columns;
  for (const ValidationRow& row : valid_) {
    if (train_addresses_.contains(row.address)) {
      ++skipped;
      continue;
    }
    valid_full.AddRow(row.features, row.label);
  }
  ml::FeatureMatrix test_full;
  test_full.columns = train_.columns;
  for (const ValidationRow& row : test_) {
    if (train_addresses_.contains(row.address) || valid_addresses_.contains(row.address)) {
      ++skipped;
      continue;
    }
    test_full.AddRow(row.features, row.label);
  }
  const ml::FeatureMatrix train = Project(train_, columns);
  const ml::FeatureMatrix valid = Project(valid_full, columns);
  const ml::FeatureMatrix test = Project(test_full, columns);
  size_t valid_positives = 0;
  for (float label : valid.labels) valid_positives += label > 0.5f ? 1 : 0;
  // A validation side with one class only cannot choose a threshold or stop early well.
  const bool has_validation =
      valid.rows() > 0 && valid_positives > 0 && valid_positives < valid.rows();
  absl::StatusOr<ResolvedHyperparameters> hp =
      ResolveHyperparameters(requested, train_.rows(), has_validation);
  if (!hp.ok()) return hp.status();
  out.hyperparameters = *hp;

  absl::Status stop;
  int initial = 0;
  if (!parent_booster.empty()) {
    absl::StatusOr<std::unique_ptr<ml::Classifier>> parent = ml::Classifier::Load(parent_booster);
    if (!parent.ok()) return parent.status();
    if ((*parent)->columns() != columns.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the base model's classifier reads ", (*parent)->columns(),
                       " features, this feature set has ", columns.size()));
    }
    initial = (*parent)->rounds();
  }
  // Rounds count from the job's start: a resumed attempt's booster already has rounds_done
  // of them after the parent's.
  const int job_start = initial - rounds_done;
  const int total = job_start + hp->booster.rounds;
  ml::BoosterParams params = hp->booster;
  params.rounds = std::max(1, hp->booster.rounds - rounds_done);
  ml::RoundCallback on_round = [&](const ml::RoundMetrics& m, const ml::SnapshotFn& snapshot) {
    Progress p;
    p.step = m.round;
    p.total_steps = std::max(total, initial + params.rounds);
    p.epoch = (m.round - job_start + kRoundsPerEpoch - 1) / kRoundsPerEpoch;
    p.epoch_end = (m.round - job_start) % kRoundsPerEpoch == 0;
    p.metrics = m;
    if (p.epoch_end && checkpoints) {
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
      ml::Train(params, train, has_validation ? &valid : nullptr, on_round, parent_booster);
  if (!result.ok()) return result.status();
  if (result->cancelled) return stop;
  out.rounds = result->model->rounds();
  out.initial_rounds = result->initial_rounds - rounds_done;
  out.model = std::move(result->saved_model);
  out.history = std::move(result->history);
  out.best_round = result->best_round;
  out.stopped_early = result->stopped_early;
  out.train_rows = train_.rows();
  out.train_positives = positives;
  out.validation_rows = has_validation ? valid.rows() : 0;
  out.validation_positives = has_validation ? valid_positives : 0;
  out.skipped_records = skipped;
  if (has_validation) {
    absl::StatusOr<std::vector<float>> scores = result->model->Predict(valid);
    if (!scores.ok()) return scores.status();
    out.threshold = ml::ChooseThreshold(valid.labels, *scores);
    out.validation = ml::Evaluate(valid.labels, *scores, out.threshold);
  }
  if (test.rows() > 0) {
    absl::StatusOr<std::vector<float>> scores = result->model->Predict(test);
    if (!scores.ok()) return scores.status();
    out.test = ml::Evaluate(test.labels, *scores, out.threshold);
    out.test_rows = test.rows();
    for (float label : test.labels) out.test_positives += label > 0.5f ? 1 : 0;
  }
  out.positive_label = PositiveLabel();
  return out;
}

namespace {

std::string DatasetSource(const dataset::v1::Dataset& d) {
  return absl::StrCat(d.id(), " (", text::Quote(d.name()), ")");
}

std::string SourceText(const std::vector<std::string>& sources, bool held_out) {
  std::string joined = absl::StrJoin(sources, ", ");
  return held_out ? absl::StrCat("held out of the training datasets ", joined)
                  : absl::StrCat("dataset ", joined);
}

// Notes that `dataset` lent held-out rows to a side.
void NoteHeldOut(const dataset::v1::Dataset& dataset, std::vector<std::string>* sources,
                 bool* held_out) {
  *held_out = true;
  std::string source = DatasetSource(dataset);
  if (std::find(sources->begin(), sources->end(), source) == sources->end()) {
    sources->push_back(std::move(source));
  }
}

// "0.081" with up to 4 significant digits.
std::string Figure(double v) { return absl::StrFormat("%.4g", v); }

}  // namespace

absl::string_view BehaviouralTrainer::kind() const { return model::kClassifierKind; }

absl::Status BehaviouralTrainer::AddDataset(const dataset::v1::Dataset& dataset, Side side) {
  // A training dataset may lend held-out rows to either side; NoteHeldOut records it when
  // the first such record arrives.
  if (side == Side::kValidation) validation_sources_.push_back(DatasetSource(dataset));
  if (side == Side::kTest) test_sources_.push_back(DatasetSource(dataset));
  return absl::OkStatus();
}

absl::Status BehaviouralTrainer::AddRecord(const RecordOrigin& origin,
                                           const common::v1::AddressRecord& record) {
  if (record.features_size() == 0) return absl::OkStatus();
  ++feature_records_;
  switch (origin.side) {
    case Side::kTraining:
      trainer_.AddTrainingRecord(record);
      break;
    case Side::kValidation:
      if (origin.held_out)
        NoteHeldOut(*origin.dataset, &validation_sources_, &validation_held_out_);
      trainer_.AddValidationRecord(record);
      break;
    case Side::kTest:
      if (origin.held_out) NoteHeldOut(*origin.dataset, &test_sources_, &test_held_out_);
      trainer_.AddTestRecord(record);
      break;
  }
  return absl::OkStatus();
}

absl::Status BehaviouralTrainer::AddParent(const model::v1::Manifest& manifest,
                                           const model::v1::Artefact* artefact) {
  if (artefact == nullptr) return absl::OkStatus();
  model::v1::ClassifierArtefact parent;
  if (!parent.ParseFromString(artefact->data())) {
    return absl::DataLossError(absl::StrCat("base model ", text::Quote(manifest.name()),
                                            ": its classifier artefact does not parse"));
  }
  trainer_.SetParent(parent.booster(), parent.feature_set());
  parent_artefact_ = artefact->data();
  parent_feature_set_ = parent.feature_set();
  parent_rounds_ = parent.rounds();
  return absl::OkStatus();
}

absl::Status BehaviouralTrainer::Resume(
    const model::v1::ClassifierArtefact& checkpoint,
    const std::map<int, std::map<std::string, double>>& earlier) {
  if (checkpoint.feature_set() != feature_set_) {
    return absl::InvalidArgumentError(absl::StrCat("the checkpoint reads the feature set ",
                                                   text::Quote(checkpoint.feature_set()),
                                                   ", the job ", text::Quote(feature_set_)));
  }
  const int done = checkpoint.rounds() - parent_rounds_;
  if (done <= 0 || checkpoint.booster().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the checkpoint has ", checkpoint.rounds(),
                                                   " rounds, no more than the base model's ",
                                                   parent_rounds_));
  }
  trainer_.SetResume(checkpoint.booster(), done);
  earlier_results_.clear();
  for (const auto& [step, m] : earlier) {
    if (step > checkpoint.rounds()) break;
    auto get = [&m](const char* name) -> std::string {
      auto it = m.find(name);
      return it == m.end() ? "" : Figure(it->second);
    };
    absl::StrAppend(&earlier_results_, step, ",", get("train_loss"), ",", get("train_accuracy"),
                    ",", get("valid_loss"), ",", get("valid_accuracy"), "\n");
  }
  return absl::OkStatus();
}

// The base model's classifier as it is, for a job that has nothing to train it on.
std::optional<TrainedArtefact> BehaviouralTrainer::KeepParent(TrainingSink* sink,
                                                              absl::string_view why) const {
  if (parent_artefact_.empty()) return std::nullopt;
  sink->Message("info", absl::StrCat(why, "; the base model's classifier is kept unchanged"));
  TrainedArtefact out;
  out.kind = std::string(model::kClassifierKind);
  out.format = std::string(model::kClassifierFormat);
  out.data = parent_artefact_;
  out.feature_set = parent_feature_set_;
  out.metrics = {{"classifier_kept_from_base", 1}};
  out.summary = "classifier: the base model's, unchanged (not evaluated again)";
  return out;
}

absl::StatusOr<std::optional<TrainedArtefact>> BehaviouralTrainer::Train(TrainingSink* sink) {
  if (trainer_.training_rows() == 0) {
    std::optional<TrainedArtefact> kept = KeepParent(
        sink, "no training record has behavioural features with a flagged or not-flagged label");
    if (kept.has_value()) return kept;
    sink->Message("info",
                  feature_records_ == 0
                      ? "no record has behavioural features: the model has no classifier (feature "
                        "files such as the Kaggle layout train one)"
                      : "no training record with behavioural features carries a flagged or "
                        "not-flagged label: the model has no classifier");
    return std::optional<TrainedArtefact>();
  }
  std::string results =
      absl::StrCat("step,train_loss,train_accuracy,valid_loss,valid_accuracy\n", earlier_results_);
  ClassifierTrainer::ProgressFn progress = [&](const ClassifierTrainer::Progress& p) {
    const ml::RoundMetrics& m = p.metrics;
    std::map<std::string, double> metrics = {
        {"step", p.step},
        {"total_steps", p.total_steps},
        {"epoch", p.epoch},
        {"train_loss", m.train_loss},
        {"train_accuracy", m.train_accuracy},
    };
    std::string text =
        absl::StrCat("Step ", p.step, "/", p.total_steps, ": training loss=", Figure(m.train_loss));
    absl::StrAppend(&results, p.step, ",", Figure(m.train_loss), ",", Figure(m.train_accuracy),
                    ",");
    if (m.valid_loss.has_value()) {
      metrics["valid_loss"] = *m.valid_loss;
      metrics["valid_accuracy"] = m.valid_accuracy.value_or(0);
      absl::StrAppend(&text, ", validation loss=", Figure(*m.valid_loss));
      absl::StrAppend(&results, Figure(*m.valid_loss), ",", Figure(m.valid_accuracy.value_or(0)));
      if (p.epoch_end) {
        // The validation side is scored whole every round, so the full figures are these.
        metrics["full_valid_loss"] = *m.valid_loss;
        metrics["full_valid_accuracy"] = m.valid_accuracy.value_or(0);
      }
    } else {
      absl::StrAppend(&results, ",");
    }
    absl::StrAppend(&results, "\n");
    sink->Metrics(text, p.step, p.total_steps, metrics);
    if (p.epoch_end && !p.checkpoint.empty()) {
      model::v1::ClassifierArtefact snapshot;
      snapshot.set_feature_schema(std::string(features::kSchemaName));
      snapshot.set_feature_schema_version(features::kSchemaVersion);
      snapshot.set_feature_set(feature_set_);
      absl::StatusOr<std::vector<std::string>> names = FeatureSetColumns(feature_set_);
      if (names.ok()) {
        for (const std::string& n : *names) snapshot.add_features(n);
      }
      snapshot.set_booster(p.checkpoint);
      // The threshold is chosen on the validation side once training ends; a checkpoint
      // uses 0.5.
      snapshot.set_threshold(0.5);
      snapshot.set_positive_label(trainer_.PositiveLabel());
      snapshot.set_rounds(p.step);
      sink->Checkpoint(p.step, snapshot.SerializeAsString(), metrics);
    }
    return sink->Check();
  };
  absl::StatusOr<TrainedClassifier> trained = trainer_.Train(progress);
  if (absl::IsFailedPrecondition(trained.status())) {
    std::optional<TrainedArtefact> kept = KeepParent(sink, trained.status().message());
    if (kept.has_value()) return kept;
    sink->Message("warning",
                  absl::StrCat(trained.status().message(), "; the model has no classifier"));
    return std::optional<TrainedArtefact>();
  }
  if (!trained.ok()) return trained.status();

  model::v1::ClassifierArtefact artefact;
  artefact.set_feature_schema(std::string(features::kSchemaName));
  artefact.set_feature_schema_version(features::kSchemaVersion);
  artefact.set_feature_set(trained->hyperparameters.feature_set);
  for (const std::string& n : trained->features) artefact.add_features(n);
  artefact.set_booster(trained->model);
  artefact.set_threshold(trained->threshold);
  artefact.set_positive_label(trained->positive_label);
  artefact.set_rounds(trained->rounds);

  TrainedArtefact out;
  out.kind = std::string(model::kClassifierKind);
  out.format = std::string(model::kClassifierFormat);
  out.data = artefact.SerializeAsString();
  out.feature_set = trained->hyperparameters.feature_set;
  out.hyperparameters = trained->hyperparameters.AsMap();
  out.metrics = {
      {"classifier_train_rows", static_cast<double>(trained->train_rows)},
      {"classifier_train_positives", static_cast<double>(trained->train_positives)},
      {"classifier_validation_rows", static_cast<double>(trained->validation_rows)},
      {"classifier_test_rows", static_cast<double>(trained->test_rows)},
      {"classifier_skipped_records", static_cast<double>(trained->skipped_records)},
      {"classifier_rounds", static_cast<double>(trained->rounds)},
      {"classifier_initial_rounds", static_cast<double>(trained->initial_rounds)},
      {"best_round", static_cast<double>(trained->best_round)},
      {"stopped_early", trained->stopped_early ? 1.0 : 0.0},
      {"threshold", trained->threshold},
  };
  if (!trained->history.empty()) {
    const ml::RoundMetrics& last = trained->history.back();
    out.metrics["train_loss"] = last.train_loss;
    out.metrics["train_accuracy"] = last.train_accuracy;
    for (const ml::RoundMetrics& m : trained->history) {
      if (m.round == trained->best_round && m.valid_loss.has_value()) {
        out.metrics["valid_loss"] = *m.valid_loss;
        out.metrics["valid_accuracy"] = m.valid_accuracy.value_or(0);
      }
    }
  }
  if (trained->validation.has_value()) {
    out.validation = model::ToEvaluation(
        *trained->validation, "validation", SourceText(validation_sources_, validation_held_out_),
        out.feature_set, trained->validation_rows, trained->validation_positives);
  }
  if (trained->test.has_value()) {
    out.test =
        model::ToEvaluation(*trained->test, "test", SourceText(test_sources_, test_held_out_),
                            out.feature_set, trained->test_rows, trained->test_positives);
  } else {
    sink->Message("warning",
                  "no test record with behavioural features: the classifier is not evaluated on "
                  "held-out data");
  }
  if (compare_ && out.test.has_value()) {
    const std::string other =
        out.feature_set == kFeatureSetAll ? kFeatureSetTransaction : kFeatureSetAll;
    RETURN_IF_ERROR(sink->Check());
    // Checked every round like the main training: a cancel stops it, the heartbeat goes on.
    absl::StatusOr<TrainedClassifier> alternative = trainer_.TrainOnFeatureSet(
        other, [sink](const ClassifierTrainer::Progress&) { return sink->Check(); });
    if (!alternative.ok()) return alternative.status();
    if (alternative->test.has_value()) {
      out.comparisons.push_back(
          model::ToEvaluation(*alternative->test, "test", SourceText(test_sources_, test_held_out_),
                              other, alternative->test_rows, alternative->test_positives));
      sink->Message(
          "info",
          absl::StrCat("for comparison, the ", other, " feature set: test ROC-AUC ",
                       Figure(alternative->test->roc_auc), ", F1 ", Figure(alternative->test->f1)));
    }
  }
  out.extras.push_back(
      {std::string(model::kResultsKind), std::string(model::kCsvFormat), std::move(results)});
  out.summary = absl::StrCat(
      "classifier: ", trained->train_rows, " training rows (", trained->train_positives,
      " flagged), ", trained->rounds, " trees",
      trained->stopped_early ? absl::StrCat(", stopped early at step ", trained->best_round) : "",
      ", threshold ", Figure(trained->threshold));
  if (out.test.has_value()) {
    absl::StrAppend(&out.summary, "; test: ROC-AUC ", Figure(out.test->roc_auc()), ", F1 ",
                    Figure(out.test->f1()), " on ", out.test->rows(), " rows");
  }
  return std::optional<TrainedArtefact>(std::move(out));
}

}  // namespace ethscan::training

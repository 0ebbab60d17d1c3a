#include "common/ml/classifier.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace ethscan::ml {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Positives have a larger first feature; the second is noise; the third is often missing.
FeatureMatrix Synthetic(size_t rows, uint32_t seed, double noise = 1.0) {
  std::mt19937 random(seed);
  std::normal_distribution<float> gauss(0, static_cast<float>(noise));
  std::bernoulli_distribution coin(0.3);
  FeatureMatrix m;
  m.columns = 3;
  for (size_t i = 0; i < rows; ++i) {
    const float label = coin(random) ? 1.f : 0.f;
    const float row[3] = {label * 2 + gauss(random), gauss(random),
                          coin(random) ? kNaN : label + gauss(random)};
    m.AddRow(row, label);
  }
  return m;
}

TEST(ClassifierTest, LearnsReportsEveryRoundAndStopsEarlyOnValidationLoss) {
  FeatureMatrix train = Synthetic(2000, 1);
  FeatureMatrix valid = Synthetic(500, 2);
  BoosterParams params;
  params.rounds = 300;
  params.learning_rate = 0.3;
  params.early_stopping_patience = 10;
  params.seed = 7;
  params.threads = 1;
  int calls = 0;
  absl::StatusOr<TrainResult> result =
      Train(params, train, &valid, [&](const RoundMetrics& m, const SnapshotFn& snapshot) {
        EXPECT_EQ(m.round, ++calls);
        EXPECT_TRUE(m.valid_loss.has_value());
        if (m.round == 5) {
          // A snapshot is a loadable model of the rounds so far.
          absl::StatusOr<std::string> bytes = snapshot();
          EXPECT_TRUE(bytes.ok());
          absl::StatusOr<std::unique_ptr<Classifier>> checkpoint = Classifier::Load(*bytes);
          EXPECT_TRUE(checkpoint.ok());
          if (checkpoint.ok()) {
            EXPECT_EQ((*checkpoint)->rounds(), 5);
          }
        }
        return true;
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->stopped_early);
  EXPECT_LT(result->history.size(), 300u);
  EXPECT_EQ(result->model->rounds(), result->best_round);
  EXPECT_EQ(static_cast<int>(result->history.size()), result->best_round + 10);
  EXPECT_LT(result->history.back().train_loss, result->history.front().train_loss);
  EXPECT_GT(*result->history[result->best_round - 1].valid_accuracy, 0.85);

  absl::StatusOr<std::vector<float>> scores = result->model->Predict(valid);
  ASSERT_TRUE(scores.ok()) << scores.status();
  BinaryMetrics metrics = Evaluate(valid.labels, *scores, 0.5);
  // The classes overlap (a shift of two standard deviations): about 0.93 and 0.75 at best.
  EXPECT_GT(metrics.roc_auc, 0.9);
  EXPECT_GT(metrics.f1, 0.65);
  // The log loss of the kept model is the best validation loss seen.
  EXPECT_NEAR(metrics.log_loss, *result->history[result->best_round - 1].valid_loss, 1e-3);
}

TEST(ClassifierTest, SavesAndLoadsToTheSamePredictionsAndContributionsAddUp) {
  FeatureMatrix train = Synthetic(800, 3);
  BoosterParams params;
  params.rounds = 20;
  params.threads = 1;
  absl::StatusOr<TrainResult> result = Train(params, train, nullptr, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->stopped_early);
  EXPECT_EQ(result->model->rounds(), 20);
  EXPECT_EQ(result->model->columns(), 3u);
  absl::StatusOr<std::string> bytes = result->model->Save();
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<std::unique_ptr<Classifier>> loaded = Classifier::Load(*bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  FeatureMatrix rows;
  rows.columns = 3;
  const float a[3] = {2.5f, 0.f, kNaN};
  const float b[3] = {-1.f, 0.3f, 0.f};
  rows.AddRow(a);
  rows.AddRow(b);
  std::vector<float> before = *result->model->Predict(rows);
  std::vector<float> after = *(*loaded)->Predict(rows);
  ASSERT_EQ(before.size(), 2u);
  EXPECT_FLOAT_EQ(before[0], after[0]);
  EXPECT_FLOAT_EQ(before[1], after[1]);
  EXPECT_GT(before[0], before[1]);
  absl::StatusOr<std::vector<float>> contributions = (*loaded)->Contributions(rows);
  ASSERT_TRUE(contributions.ok()) << contributions.status();
  ASSERT_EQ(contributions->size(), 2u * 4u);
  for (size_t r = 0; r < 2; ++r) {
    double margin = 0;
    for (size_t c = 0; c < 4; ++c) margin += (*contributions)[r * 4 + c];
    EXPECT_NEAR(1 / (1 + std::exp(-margin)), before[r], 1e-4);
  }
  // Feature 0 carries the signal.
  EXPECT_GT((*contributions)[0], std::abs((*contributions)[1]));
}

// Models published before the switch to UBJSON hold XGBoost's JSON format; they still load.
TEST(ClassifierTest, SavesUbjsonAndStillLoadsAJsonModel) {
  FeatureMatrix train = Synthetic(400, 4);
  BoosterParams params;
  params.rounds = 10;
  params.threads = 1;
  absl::StatusOr<TrainResult> result = Train(params, train, nullptr, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string& ubj = result->saved_model;
  // UBJSON opens an object with '{' and a length marker, JSON with '{' and a quote.
  ASSERT_GE(ubj.size(), 2u);
  EXPECT_EQ(ubj[0], '{');
  EXPECT_NE(ubj[1], '"');

  BoosterHandle booster = nullptr;
  ASSERT_EQ(XGBoosterCreate(nullptr, 0, &booster), 0);
  ASSERT_EQ(XGBoosterLoadModelFromBuffer(booster, ubj.data(), ubj.size()), 0);
  bst_ulong size = 0;
  const char* data = nullptr;
  ASSERT_EQ(XGBoosterSaveModelToBuffer(booster, R"({"format": "json"})", &size, &data), 0);
  const std::string json(data, size);
  XGBoosterFree(booster);
  ASSERT_EQ(json.substr(0, 2), "{\"");

  absl::StatusOr<std::unique_ptr<Classifier>> loaded = Classifier::Load(json);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->rounds(), 10);
  std::vector<float> before = *result->model->Predict(train);
  std::vector<float> after = *(*loaded)->Predict(train);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_FLOAT_EQ(before[i], after[i]);
}

TEST(ClassifierTest, RefusesBadInput) {
  FeatureMatrix train = Synthetic(100, 4);
  BoosterParams params;
  params.learning_rate = 0;
  EXPECT_EQ(Train(params, train, nullptr, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  params = BoosterParams();
  FeatureMatrix empty;
  empty.columns = 3;
  EXPECT_EQ(Train(params, empty, nullptr, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  FeatureMatrix narrow;
  narrow.columns = 2;
  const float row[2] = {1, 2};
  narrow.AddRow(row, 1);
  EXPECT_EQ(Train(params, train, &narrow, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Classifier::Load("not a model").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ClassifierTest, ACallbackThatSaysStopEndsTraining) {
  FeatureMatrix train = Synthetic(200, 5);
  BoosterParams params;
  params.rounds = 50;
  params.threads = 1;
  absl::StatusOr<TrainResult> result = Train(
      params, train, nullptr, [](const RoundMetrics& m, const SnapshotFn&) { return m.round < 3; });
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->cancelled);
  EXPECT_EQ(result->history.size(), 3u);
}

TEST(EvaluateTest, ComputesTheMetricsByHand) {
  const float labels[] = {1, 1, 0, 0, 1, 0};
  const float scores[] = {0.9f, 0.6f, 0.7f, 0.2f, 0.4f, 0.1f};
  BinaryMetrics m = Evaluate(labels, scores, 0.5);
  EXPECT_EQ(m.true_positives, 2);
  EXPECT_EQ(m.false_positives, 1);
  EXPECT_EQ(m.true_negatives, 2);
  EXPECT_EQ(m.false_negatives, 1);
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.f1, 2.0 / 3);
  // Pairs (positive, negative) ranked right: 0.9 beats all 3; 0.6 beats 0.2, 0.1; 0.4 beats
  // 0.2, 0.1: 7 of 9.
  EXPECT_DOUBLE_EQ(m.roc_auc, 7.0 / 9);
  // Average precision: by score the positives rank 1st, 3rd and 4th, with precision 1, 2/3
  // and 3/4 there.
  EXPECT_NEAR(m.pr_auc, (1 + 2.0 / 3 + 3.0 / 4) / 3, 1e-12);
  EXPECT_NEAR(m.brier, (0.01 + 0.16 + 0.49 + 0.04 + 0.36 + 0.01) / 6, 1e-6);
  const float tied_labels[] = {1, 0};
  const float tied_scores[] = {0.5f, 0.5f};
  EXPECT_DOUBLE_EQ(Evaluate(tied_labels, tied_scores, 0.5).roc_auc, 0.5);
  const float only_negatives[] = {0, 0};
  EXPECT_TRUE(std::isnan(Evaluate(only_negatives, tied_scores, 0.5).roc_auc));
}

TEST(EvaluateTest, ChoosesTheThresholdWithTheBestF1) {
  const float labels[] = {1, 1, 0, 0, 1, 0};
  const float scores[] = {0.9f, 0.6f, 0.7f, 0.2f, 0.4f, 0.1f};
  // At 0.4 every positive is in with one false positive: F1 = 6/7, the best.
  EXPECT_FLOAT_EQ(ChooseThreshold(labels, scores), 0.4f);
  const float negatives[] = {0, 0};
  EXPECT_EQ(ChooseThreshold(negatives, absl::Span<const float>(scores, 2)), 0.5);
}

}  // namespace
}  // namespace ethscan::ml

#include "services/training/classifier_trainer.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace ethscan::training {
namespace {

common::v1::AddressRecord Synthetic(int i, bool flagged, std::mt19937& random) {
  std::normal_distribution<double> gauss(0, 1);
  common::v1::AddressRecord r;
  r.set_address(absl::StrFormat("0x%040x", i));
  r.set_label(flagged ? "Scam" : "Unknown");
  if (!flagged) r.add_tags("not flagged");
  auto add = [&r](const char* name, double value) {
    common::v1::Feature* f = r.add_features();
    f->set_name(name);
    f->set_number(value);
  };
  add("Sent tnx", (flagged ? 2 : 0) + gauss(random));
  add("Received Tnx", gauss(random));
  return r;
}

TEST(ClassifierTrainerTest, ResolvesAutoHyperparametersAsDocumented) {
  absl::StatusOr<ResolvedHyperparameters> with_valid = ResolveHyperparameters({}, 10000, true);
  ASSERT_TRUE(with_valid.ok());
  EXPECT_EQ(with_valid->n_epochs, 20);
  EXPECT_EQ(with_valid->booster.rounds, 20 * kRoundsPerEpoch);
  EXPECT_EQ(with_valid->booster.learning_rate, 0.1);
  EXPECT_EQ(with_valid->batch_size, 10000);
  EXPECT_EQ(with_valid->booster.subsample, 1.0);
  EXPECT_EQ(with_valid->booster.early_stopping_patience, 50);
  EXPECT_EQ(with_valid->booster.colsample, 0.5);
  EXPECT_EQ(with_valid->booster.seed, 42u);
  absl::StatusOr<ResolvedHyperparameters> small = ResolveHyperparameters({}, 500, false);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->n_epochs, 4);
  EXPECT_EQ(small->booster.learning_rate, 0.3);
  EXPECT_EQ(small->booster.early_stopping_patience, 0);
  ClassifierHyperparameters asked;
  asked.n_epochs = 3;
  asked.batch_size = 250;
  asked.learning_rate = 0.05;
  asked.seed = 7;
  absl::StatusOr<ResolvedHyperparameters> given = ResolveHyperparameters(asked, 1000, true);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->booster.rounds, 150);
  EXPECT_EQ(given->booster.subsample, 0.25);
  EXPECT_EQ(given->booster.learning_rate, 0.05);
  EXPECT_EQ(given->AsMap().at("seed"), 7);
  asked.n_epochs = 51;
  EXPECT_EQ(ResolveHyperparameters(asked, 1000, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  asked.n_epochs = 2;
  asked.learning_rate = 2;
  EXPECT_EQ(ResolveHyperparameters(asked, 1000, true).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ClassifierTrainerTest, TrainsReportsEveryStepCheckpointsEpochsAndKeepsValidationApart) {
  std::mt19937 random(1);
  ClassifierHyperparameters hp;
  hp.n_epochs = 2;
  hp.early_stopping_patience = 1000;  // no early stop: every round runs
  ClassifierTrainer trainer(hp);
  for (int i = 0; i < 600; ++i) trainer.AddTrainingRecord(Synthetic(i, i % 3 == 0, random));
  // Not usable: a Legit token without features, an Unknown without "not flagged".
  common::v1::AddressRecord legit;
  legit.set_address("0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984");
  legit.set_label("Legit");
  trainer.AddTrainingRecord(legit);
  common::v1::AddressRecord unknown = Synthetic(9999, false, random);
  unknown.clear_tags();
  trainer.AddTrainingRecord(unknown);
  for (int i = 590; i < 800; ++i) trainer.AddValidationRecord(Synthetic(i, i % 3 == 0, random));
  EXPECT_EQ(trainer.training_rows(), 600u);

  int steps = 0;
  std::vector<int> checkpoints;
  absl::StatusOr<TrainedClassifier> result =
      trainer.Train([&](const ClassifierTrainer::Progress& p) {
        EXPECT_EQ(p.step, ++steps);
        EXPECT_EQ(p.total_steps, 2 * kRoundsPerEpoch);
        EXPECT_TRUE(p.metrics.valid_loss.has_value());
        if (p.epoch_end) {
          EXPECT_FALSE(p.checkpoint.empty());
          checkpoints.push_back(p.step);
        } else {
          EXPECT_TRUE(p.checkpoint.empty());
        }
        return absl::OkStatus();
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(steps, 2 * kRoundsPerEpoch);
  EXPECT_EQ(checkpoints, (std::vector<int>{kRoundsPerEpoch, 2 * kRoundsPerEpoch}));
  EXPECT_EQ(result->train_rows, 600u);
  EXPECT_EQ(result->train_positives, 200u);
  EXPECT_EQ(result->validation_rows, 200u);  // 590..599 are on the training side
  EXPECT_EQ(result->skipped_records, 2u + 10u);
  EXPECT_EQ(result->positive_label, "Scam");
  ASSERT_TRUE(result->validation.has_value());
  // Two noisy features and a hundred rounds at the small-data learning rate: well above
  // chance, short of the Bayes rate (about 0.92).
  EXPECT_GT(result->validation->roc_auc, 0.8);
  EXPECT_EQ(result->hyperparameters.n_epochs, 2);
}

TEST(ClassifierTrainerTest, AProgressErrorStopsTrainingWithIt) {
  std::mt19937 random(2);
  ClassifierTrainer trainer({});
  for (int i = 0; i < 100; ++i) trainer.AddTrainingRecord(Synthetic(i, i % 2 == 0, random));
  absl::StatusOr<TrainedClassifier> result =
      trainer.Train([](const ClassifierTrainer::Progress& p) {
        return p.step < 3 ? absl::OkStatus() : absl::AbortedError("job cancelled");
      });
  EXPECT_EQ(result.status(), absl::AbortedError("job cancelled"));
}

TEST(ClassifierTrainerTest, NeedsBothClasses) {
  std::mt19937 random(3);
  ClassifierTrainer trainer({});
  for (int i = 0; i < 50; ++i) trainer.AddTrainingRecord(Synthetic(i, true, random));
  absl::StatusOr<TrainedClassifier> result = trainer.Train(nullptr);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(result.status().message().find("50 flagged and 0 not flagged"), std::string::npos);
}

}  // namespace
}  // namespace ethscan::training

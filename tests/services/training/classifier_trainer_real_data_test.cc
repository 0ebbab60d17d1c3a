// The behavioural classifier on the real Kaggle feature file, ingested as an upload would be
// (label integration: it trains for a few seconds).
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "services/dataset/ingest_pipeline.h"
#include "services/dataset/record_store.h"
#include "services/training/classifier_trainer.h"
#include "tests/testing/test_paths.h"

namespace ethscan::training {
namespace {

// A stable hash (FNV-1a), so the split is the same in every run.
uint64_t StableHash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Collects what the dataset service would store.
class Collect final : public dataset::RecordSink {
 public:
  absl::Status Write(const common::v1::AddressRecord& record) override {
    records.push_back(record);
    return absl::OkStatus();
  }
  std::vector<common::v1::AddressRecord> records;
};

// The real Kaggle file, ingested as an upload would be, split by a hash of the address:
// the classifier generalises to addresses it never saw.
TEST(ClassifierTrainerTest, LearnsTheKaggleFeatureFile) {
  const std::string data = testing::SharedDataDir();
  if (data.empty()) GTEST_SKIP() << "../shared/data not found beside the checkout";
  std::ifstream in(data + "/kaggle_fraud/transaction_dataset.csv", std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  dataset::IngestOptions options;
  options.name = "kaggle";
  options.filename = "transaction_dataset.csv";
  Collect sink;
  dataset::IngestPipeline pipeline(options, &sink);
  ASSERT_TRUE(pipeline.AddChunk(content.str()).ok());
  ASSERT_TRUE(pipeline.Finish().ok());
  ASSERT_GT(sink.records.size(), 8000u);

  ClassifierHyperparameters hp;
  hp.n_epochs = 2;
  hp.learning_rate = 0.3;
  ClassifierTrainer trainer(hp);
  for (const common::v1::AddressRecord& r : sink.records) {
    const uint64_t bucket = StableHash(absl::AsciiStrToLower(r.address())) % 10;
    if (bucket < 7) {
      trainer.AddTrainingRecord(r);
    } else if (bucket < 9) {
      trainer.AddValidationRecord(r);
    }
  }
  absl::StatusOr<TrainedClassifier> result = trainer.Train(nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->validation.has_value());
  EXPECT_GT(result->validation->roc_auc, 0.99);
  EXPECT_GT(result->validation->f1, 0.9);
  EXPECT_EQ(result->positive_label, "Scam");
}

}  // namespace
}  // namespace ethscan::training

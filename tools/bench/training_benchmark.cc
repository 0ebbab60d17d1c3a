// Microbenchmarks of a local fine-tuning job's parts, without the queue, gRPC or Redis: the
// knowledge index over the Kaggle feature file's records, the classifier's record intake, a
// published booster's save, and a job's whole classifier training against plain XGBoost of
// the same rounds. They show where a job spends the time that plain XGBoost training does not
// (tools/bench/finetune_bench.sh measures the whole job against it).
//
//   build-bench/bin/ethscan_training_benchmark [--benchmark_filter=...]
//
// ETHSCAN_SHARED_DATA (default ../shared/data) locates the Kaggle file; without it every
// benchmark is skipped with a message.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/features/schema.h"
#include "common/features/vector.h"
#include "common/ml/classifier.h"
#include "common/model/package.h"
#include "services/dataset/ingest_pipeline.h"
#include "services/training/classifier_trainer.h"
#include "services/training/knowledge_trainer.h"

namespace ethscan::bench {
namespace {

class CollectingSink : public dataset::RecordSink {
 public:
  explicit CollectingSink(std::vector<common::v1::AddressRecord>* out) : out_(out) {}
  absl::Status Write(const common::v1::AddressRecord& record) override {
    out_->push_back(record);
    return absl::OkStatus();
  }

 private:
  std::vector<common::v1::AddressRecord>* out_;
};

// The Kaggle feature file's records as the dataset service stores them; empty when the file
// is not there.
const std::vector<common::v1::AddressRecord>& KaggleRecords() {
  static const auto* records = [] {
    auto* out = new std::vector<common::v1::AddressRecord>();
    const char* env = std::getenv("ETHSCAN_SHARED_DATA");
    const std::string path = absl::StrCat(env != nullptr ? env : "../shared/data",
                                          "/kaggle_fraud/transaction_dataset.csv");
    std::ifstream in(path, std::ios::binary);
    if (!in) return out;
    std::stringstream text;
    text << in.rdbuf();
    dataset::IngestOptions options;
    options.name = "kaggle";
    options.format = dataset::v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES;
    options.filename = path;
    CollectingSink sink(out);
    dataset::IngestPipeline pipeline(options, &sink);
    if (!pipeline.AddChunk(text.str()).ok() || !pipeline.Finish().ok()) out->clear();
    return out;
  }();
  return *records;
}

dataset::v1::Dataset KaggleDataset() {
  dataset::v1::Dataset d;
  d.set_id("ds-kaggle");
  d.set_name("kaggle");
  d.set_format(dataset::v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES);
  return d;
}

// Discards what a trainer reports.
class NullSink : public training::TrainingSink {
 public:
  void Message(absl::string_view, absl::string_view) override {}
  void Metrics(absl::string_view, int, int, const std::map<std::string, double>&) override {}
  void Checkpoint(int, std::string, const std::map<std::string, double>&) override {}
  absl::Status Check() override { return absl::OkStatus(); }
};

bool HaveData(benchmark::State& state) {
  if (!KaggleRecords().empty()) return true;
  state.SkipWithError("the Kaggle feature file is not under ETHSCAN_SHARED_DATA");
  return false;
}

// Every record into a knowledge trainer, then Train (merge, serialize).
void BM_KnowledgeIndex(benchmark::State& state) {
  if (!HaveData(state)) return;
  const dataset::v1::Dataset d = KaggleDataset();
  NullSink sink;
  size_t bytes = 0;
  for (auto _ : state) {
    training::KnowledgeTrainer trainer;
    if (!trainer.AddDataset(d, training::Side::kTraining).ok()) state.SkipWithError("dataset");
    const training::RecordOrigin origin{&d, training::Side::kTraining, false};
    for (const auto& r : KaggleRecords()) {
      if (!trainer.AddRecord(origin, r).ok()) state.SkipWithError("record");
    }
    auto trained = trainer.Train(&sink);
    if (!trained.ok() || !trained->has_value()) state.SkipWithError("train");
    bytes = (*trained)->data.size();
  }
  state.counters["artefact_MB"] = static_cast<double>(bytes) / 1e6;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(KaggleRecords().size()));
}
BENCHMARK(BM_KnowledgeIndex)->Unit(benchmark::kMillisecond)->UseRealTime();

// The classifier's record intake (dense vectors, targets), without boosting.
void BM_ClassifierIntake(benchmark::State& state) {
  if (!HaveData(state)) return;
  for (auto _ : state) {
    training::ClassifierTrainer trainer{training::ClassifierHyperparameters{}};
    for (const auto& r : KaggleRecords()) trainer.AddTrainingRecord(r);
    benchmark::DoNotOptimize(trainer.training_rows());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(KaggleRecords().size()));
}
BENCHMARK(BM_ClassifierIntake)->Unit(benchmark::kMillisecond)->UseRealTime();

// Classifier::Save of a booster of state.range(0) rounds: how a published model's booster is
// written (UBJSON). Checkpoint snapshots use XGBoost's binary format instead; their cost shows
// in BM_ClassifierAsAJob.
void BM_BoosterSave(benchmark::State& state) {
  if (!HaveData(state)) return;
  training::ClassifierHyperparameters hp;
  hp.n_epochs = static_cast<int>(state.range(0) / training::kRoundsPerEpoch);
  training::ClassifierTrainer sized{hp};
  for (const auto& r : KaggleRecords()) sized.AddTrainingRecord(r);
  auto trained = sized.Train({});
  if (!trained.ok()) {
    state.SkipWithError(std::string(trained.status().message()).c_str());
    return;
  }
  auto model = ml::Classifier::Load(trained->model);
  if (!model.ok()) {
    state.SkipWithError("load");
    return;
  }
  size_t bytes = 0;
  for (auto _ : state) {
    auto saved = (*model)->Save();
    if (!saved.ok()) state.SkipWithError("save");
    bytes = saved->size();
  }
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK(BM_BoosterSave)->Arg(100)->Arg(500)->Unit(benchmark::kMillisecond)->UseRealTime();

// A whole classifier training as a job runs it (BehaviouralTrainer: matrices, 500 rounds with
// a metrics event, a results line and a checkpoint snapshot per epoch, validation and test
// scoring), every 10th address on the validation side and every 10th but one on the test
// side, against plain ml::Train of the same rounds on the same training rows.
void BM_ClassifierAsAJob(benchmark::State& state) {
  if (!HaveData(state)) return;
  const dataset::v1::Dataset d = KaggleDataset();
  training::ClassifierHyperparameters hp;
  hp.n_epochs = static_cast<int>(state.range(0) / training::kRoundsPerEpoch);
  hp.early_stopping_patience = 100000;
  NullSink sink;
  for (auto _ : state) {
    training::BehaviouralTrainer trainer(hp);
    size_t i = 0;
    for (const auto& r : KaggleRecords()) {
      const training::Side side = i % 10 == 0   ? training::Side::kValidation
                                  : i % 10 == 1 ? training::Side::kTest
                                                : training::Side::kTraining;
      ++i;
      if (!trainer.AddRecord({&d, side, false}, r).ok()) state.SkipWithError("record");
    }
    auto trained = trainer.Train(&sink);
    if (!trained.ok() || !trained->has_value()) state.SkipWithError("train");
  }
}
BENCHMARK(BM_ClassifierAsAJob)->Arg(500)->Arg(2500)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PlainTraining(benchmark::State& state) {
  if (!HaveData(state)) return;
  ml::FeatureMatrix train, valid;
  train.columns = valid.columns = features::NumericFeatures().size();
  size_t i = 0;
  for (const auto& r : KaggleRecords()) {
    const std::vector<float> dense = features::DenseVector(r);
    const features::Target target = features::TargetOf(r, dense);
    if (target == features::Target::kNone) continue;
    const float label = target == features::Target::kFlagged ? 1.f : 0.f;
    if (i % 10 == 0) {
      valid.AddRow(dense, label);
    } else if (i % 10 != 1) {
      train.AddRow(dense, label);
    }
    ++i;
  }
  ml::BoosterParams params;
  params.rounds = static_cast<int>(state.range(0));
  params.colsample = 0.5;
  params.seed = 42;
  for (auto _ : state) {
    auto result = ml::Train(params, train, &valid, nullptr);
    if (!result.ok()) state.SkipWithError("train");
  }
}
BENCHMARK(BM_PlainTraining)->Arg(500)->Arg(2500)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ethscan::bench

BENCHMARK_MAIN();

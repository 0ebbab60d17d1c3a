// ethscan_classifier_baseline: plain XGBoost on the Kaggle feature file, with no service in
// between: the baseline that fine-tuning through the product is measured against.
//
// Reads the Kaggle layout (FLAG 1 = positive), keeps one row per lowercase address (the
// first), drops rows whose address is not 0x and 40 hex digits, splits by a hash of the
// address (train / validation / test, so an address never lands on two sides), trains with
// early stopping on the validation side, chooses the threshold there, and evaluates on the
// test side, once with every numeric feature of ethscan.features.v1 and once with the 22
// transaction features only. Prints one line per run with the validation metrics (which a
// tuning pass chooses by), the test metrics and the training time.
//
//   ethscan_classifier_baseline --input ../shared/data/kaggle_fraud/transaction_dataset.csv
//   ethscan_classifier_baseline --max_depth 4 --colsample 0.5 --split_seed 7
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/features/schema.h"
#include "common/ml/classifier.h"
#include "services/dataset/canonical_csv.h"
#include "services/dataset/csv_reader.h"

ABSL_FLAG(std::string, input, "../shared/data/kaggle_fraud/transaction_dataset.csv",
          "feature file in the Kaggle layout");
ABSL_FLAG(int, rounds, 1000, "boosting rounds at most");
ABSL_FLAG(double, learning_rate, 0.1, "learning rate");
ABSL_FLAG(int, max_depth, 6, "tree depth");
ABSL_FLAG(double, min_child_weight, 1, "least hessian sum in a leaf");
ABSL_FLAG(double, colsample, 1, "share of features sampled per tree, in (0, 1]");
ABSL_FLAG(double, subsample, 1, "share of rows sampled per tree, in (0, 1]");
ABSL_FLAG(double, scale_pos_weight, 1, "weight of positive rows");
ABSL_FLAG(int, patience, 30, "early stopping patience, in rounds");
ABSL_FLAG(int, threads, 2, "XGBoost threads");
ABSL_FLAG(uint64_t, seed, 42, "booster seed, and split seed unless --split_seed is given");
ABSL_FLAG(std::optional<uint64_t>, split_seed, std::nullopt,
          "seed of the address hash that splits train / validation / test; unset: --seed");
ABSL_FLAG(std::vector<std::string>, sides, {},
          "TRAIN.csv,VALIDATION.csv,TEST.csv: train and evaluate on these sides instead of "
          "splitting --input (canonical CSV exports, `ethscan datasets export --format csv`, "
          "whose label and tags give the target as the product reads it)");
ABSL_FLAG(std::string, feature_set, "both", "all, transaction or both");

namespace ethscan {
namespace {

// A stable hash (FNV-1a) of the address and the seed, so a split is the same in every run.
uint64_t StableHash(const std::string& text, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct Row {
  std::string address;
  std::vector<float> features;  // NumericFeatures() order
  float label = 0;
};

class Collector final : public dataset::CsvReader::Handler {
 public:
  absl::Status OnHeader(uint64_t, const std::vector<std::string>& columns) override {
    for (size_t i = 0; i < columns.size(); ++i) {
      const std::string key = absl::AsciiStrToLower(columns[i]);
      if (key == "address") address_ = i;
      if (key == "flag") flag_ = i;
      if (key == "label") label_ = i;
      if (key == "tags") tags_ = i;
      // A canonical export names feature columns "feature:<source column>".
      absl::string_view column = columns[i];
      absl::ConsumePrefix(&column, dataset::kFeatureColumnPrefix);
      std::optional<size_t> index = features::SchemaIndexOfColumn(column);
      if (!index.has_value()) continue;
      std::optional<size_t> numeric = features::NumericIndexOf(features::Schema()[*index].name);
      if (numeric.has_value()) columns_.emplace_back(i, *numeric);
    }
    return absl::OkStatus();
  }
  absl::Status OnRow(const dataset::CsvRow& row) override {
    Row out;
    out.address = absl::AsciiStrToLower(row.fields[address_]);
    if (out.address.size() != 42 || out.address.rfind("0x", 0) != 0) return absl::OkStatus();
    if (!seen_.insert(out.address).second) return absl::OkStatus();
    if (flag_.has_value()) {
      out.label = row.fields[*flag_] == "1" ? 1 : 0;
    } else if (label_.has_value()) {
      // The product's target (features::TargetOf): a flagged label, or "Unknown" tagged
      // "not flagged"; other rows do not train.
      const std::string& label = row.fields[*label_];
      const bool not_flagged = label == "Unknown" && tags_.has_value() &&
                               absl::StrContains(row.fields[*tags_], "not flagged");
      const bool flagged = label == "Phish / Hack" || label == "Scam" || label == "Exploit" ||
                           label == "Heist" || label == "Sanctioned";
      if (!flagged && !not_flagged) return absl::OkStatus();
      out.label = flagged ? 1 : 0;
    } else {
      return absl::InvalidArgumentError("the file has neither a FLAG nor a label column");
    }
    out.features.assign(features::NumericFeatures().size(),
                        std::numeric_limits<float>::quiet_NaN());
    for (const auto& [column, numeric] : columns_) {
      double value = 0;
      const std::string cell(absl::StripAsciiWhitespace(row.fields[column]));
      if (!cell.empty() && absl::SimpleAtod(cell, &value)) {
        out.features[numeric] = static_cast<float>(value);
      }
    }
    rows.push_back(std::move(out));
    return absl::OkStatus();
  }
  absl::Status OnMalformedRow(uint64_t, absl::string_view) override { return absl::OkStatus(); }

  std::vector<Row> rows;

 private:
  size_t address_ = 0;
  std::optional<size_t> flag_;
  std::optional<size_t> label_;
  std::optional<size_t> tags_;
  std::vector<std::pair<size_t, size_t>> columns_;
  absl::flat_hash_set<std::string> seen_;
};

absl::StatusOr<std::vector<Row>> ReadRows(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Collector collector;
  dataset::CsvReader reader(dataset::CsvReaderOptions{path}, &collector);
  absl::Status status = reader.Feed(content);
  if (status.ok()) status = reader.Finish();
  if (!status.ok()) return status;
  return std::move(collector.rows);
}

int Run() {
  const std::vector<std::string> sides = absl::GetFlag(FLAGS_sides);
  if (!sides.empty() && sides.size() != 3) {
    std::fprintf(stderr, "--sides takes three files: TRAIN,VALIDATION,TEST\n");
    return 2;
  }
  std::vector<std::vector<Row>> side_rows;
  for (const std::string& path :
       sides.empty() ? std::vector<std::string>{absl::GetFlag(FLAGS_input)} : sides) {
    absl::StatusOr<std::vector<Row>> rows = ReadRows(path);
    if (!rows.ok()) {
      std::fprintf(stderr, "%s\n", rows.status().ToString().c_str());
      return 1;
    }
    side_rows.push_back(*std::move(rows));
  }
  const std::string feature_set = absl::GetFlag(FLAGS_feature_set);
  std::vector<bool> sets;
  if (feature_set == "all" || feature_set == "both") sets.push_back(true);
  if (feature_set == "transaction" || feature_set == "both") sets.push_back(false);
  if (sets.empty()) {
    std::fprintf(stderr, "--feature_set is all, transaction or both\n");
    return 2;
  }
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  const uint64_t split_seed = absl::GetFlag(FLAGS_split_seed).value_or(seed);
  for (bool erc20 : sets) {
    const size_t width = features::NumericFeatureCount(erc20);
    ml::FeatureMatrix train, valid, test;
    for (ml::FeatureMatrix* m : {&train, &valid, &test}) m->columns = width;
    if (side_rows.size() == 3) {
      ml::FeatureMatrix* matrices[] = {&train, &valid, &test};
      for (size_t i = 0; i < 3; ++i) {
        for (const Row& row : side_rows[i]) {
          matrices[i]->AddRow(absl::MakeConstSpan(row.features.data(), width), row.label);
        }
      }
    } else {
      for (const Row& row : side_rows[0]) {
        const uint64_t bucket = StableHash(row.address, split_seed) % 100;
        ml::FeatureMatrix* side = bucket < 70 ? &train : bucket < 85 ? &valid : &test;
        side->AddRow(absl::MakeConstSpan(row.features.data(), width), row.label);
      }
    }
    ml::BoosterParams params;
    params.rounds = absl::GetFlag(FLAGS_rounds);
    params.learning_rate = absl::GetFlag(FLAGS_learning_rate);
    params.max_depth = absl::GetFlag(FLAGS_max_depth);
    params.min_child_weight = absl::GetFlag(FLAGS_min_child_weight);
    params.colsample = absl::GetFlag(FLAGS_colsample);
    params.subsample = absl::GetFlag(FLAGS_subsample);
    params.scale_pos_weight = absl::GetFlag(FLAGS_scale_pos_weight);
    params.early_stopping_patience = absl::GetFlag(FLAGS_patience);
    params.threads = absl::GetFlag(FLAGS_threads);
    params.seed = seed;
    const absl::Time start = absl::Now();
    absl::StatusOr<ml::TrainResult> result = ml::Train(params, train, &valid, nullptr);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (!result.ok()) {
      std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
      return 1;
    }
    std::vector<float> valid_scores = *result->model->Predict(valid);
    const double threshold = ml::ChooseThreshold(valid.labels, valid_scores);
    const ml::BinaryMetrics v = ml::Evaluate(valid.labels, valid_scores, threshold);
    std::vector<float> test_scores = *result->model->Predict(test);
    const ml::BinaryMetrics m = ml::Evaluate(test.labels, test_scores, threshold);
    std::printf(
        "%-22s rows %zu/%zu/%zu  rounds %d (best %d)  train %.2f s  valid: log_loss %.4f  "
        "roc_auc %.4f  f1 %.4f  test: roc_auc %.4f  pr_auc %.4f  f1 %.4f  precision %.4f  "
        "recall %.4f  accuracy %.4f  brier %.4f  log_loss %.4f  threshold %.3f\n",
        erc20 ? "all features" : "transactions only", train.rows(), valid.rows(), test.rows(),
        static_cast<int>(result->history.size()), result->best_round, seconds, v.log_loss,
        v.roc_auc, v.f1, m.roc_auc, m.pr_auc, m.f1, m.precision, m.recall, m.accuracy, m.brier,
        m.log_loss, threshold);
  }
  return 0;
}

}  // namespace
}  // namespace ethscan

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ethscan::Run();
}

// `ethscan models …` against the in-process fakes.
#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/eth/address.h"
#include "common/eth/hash.h"
#include "common/model/package.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_paths.h"
#include "tests/tools/cli/cli_runner.h"
#include "tools/cli/arg_parser.h"

namespace ethscan::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kModel[] = "ft:ethscan-base:demo:ftjob-0000000000000001";
constexpr char kResults[] =
    "step,train_loss,train_accuracy,valid_loss,valid_accuracy\n"
    "1,0.61,0.8,0.62,0.79\n"
    "2,0.55,0.85,0.57,0.83\n";

model::v1::Evaluation Evaluation(const std::string& split, uint64_t rows, double accuracy) {
  model::v1::Evaluation e;
  e.set_split(split);
  e.set_source(split == "test" ? "dataset ds-test (\"kaggle-test\")"
                               : "held out of the training datasets ds-1 (\"kaggle\")");
  e.set_feature_set("transaction");
  e.set_rows(rows);
  e.set_positives(rows / 4);
  e.set_threshold(0.4321);
  e.set_true_positives(20);
  e.set_false_positives(3);
  e.set_true_negatives(70);
  e.set_false_negatives(7);
  e.set_accuracy(accuracy);
  e.set_precision(0.8696);
  e.set_recall(0.7407);
  e.set_f1(0.8);
  e.set_roc_auc(0.95);
  e.set_pr_auc(0.9);
  e.set_brier(0.05);
  e.set_log_loss(0.2);
  return e;
}

// A published model with a knowledge index, a classifier stand-in and results; `bytes`
// receives its package.
training::v1::Model PublishedModel(std::string* bytes) {
  model::v1::ModelPackage package;
  model::v1::Manifest* m = package.mutable_manifest();
  m->set_name(kModel);
  m->set_feature_schema("ethscan.features.v1");
  m->set_feature_schema_version(1);
  m->set_feature_set("transaction");
  (*m->mutable_hyperparameters())["n_epochs"] = 4;
  (*m->mutable_hyperparameters())["learning_rate"] = 0.1;
  (*m->mutable_metrics())["best_round"] = 173;
  model::v1::DatasetRef* training = m->add_datasets();
  training->set_id("ds-1");
  training->set_name("kaggle");
  training->set_role("training");
  training->set_record_count(8363);
  model::v1::DatasetRef* test = m->add_datasets();
  test->set_id("ds-test");
  test->set_name("kaggle-test");
  test->set_role("test");
  test->set_record_count(830);
  *m->mutable_validation() = Evaluation("validation", 100, 0.9);
  *m->mutable_test() = Evaluation("test", 200, 0.8765);
  model::v1::Evaluation all = Evaluation("test", 200, 0.99);
  all.set_feature_set("all");
  *m->add_feature_set_comparison() = all;
  m->set_holdout("5% of the training addresses by address hash, seed 42");
  EXPECT_TRUE(model::AddArtefact(&package, model::kKnowledgeKind, model::kKnowledgeFormat,
                                 model::SerializeDeterministic(model::v1::KnowledgeIndex()))
                  .ok());
  EXPECT_TRUE(model::AddArtefact(&package, model::kClassifierKind, model::kClassifierFormat,
                                 model::SerializeDeterministic(model::v1::ClassifierArtefact()))
                  .ok());
  EXPECT_TRUE(model::AddArtefact(&package, model::kResultsKind, model::kCsvFormat, kResults).ok());
  *bytes = model::SerializeDeterministic(package);
  training::v1::Model model;
  model.set_name(kModel);
  model.set_kind("knowledge+classifier");
  model.add_aliases("production");
  model.set_size_bytes(bytes->size());
  model.set_sha256(eth::Sha256::HexDigest(*bytes));
  *model.mutable_manifest() = package.manifest();
  return model;
}

class ModelCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ethscan::testing::MakeTempDir("ethscan-model-commands-test"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  ethscan::cli::testing::CliRunner cli_;
  std::string dir_;
};

TEST_F(ModelCommandsTest, ShowPrintsTheModelCard) {
  std::string bytes;
  cli_.services().models().AddModel(PublishedModel(&bytes));
  ASSERT_EQ(cli_.Run({"models", "show", "production"}), kExitOk) << cli_.err();
  const std::string out = cli_.out();
  EXPECT_THAT(out, StartsWith(absl::StrCat("Model ", kModel, "\n")));
  EXPECT_THAT(out, HasSubstr("  Kinds:              knowledge, classifier\n"));
  EXPECT_THAT(out, HasSubstr("  Feature schema:     ethscan.features.v1 version 1, feature set "
                             "transaction\n"));
  EXPECT_THAT(out, HasSubstr("Artefacts:\n  KIND        FORMAT"));
  EXPECT_THAT(out, HasSubstr("  results     text/csv"));
  EXPECT_THAT(out, HasSubstr(eth::Sha256::HexDigest(kResults)));
  EXPECT_THAT(out, HasSubstr("Datasets:\n  ROLE      ID       NAME         RECORDS\n"
                             "  training  ds-1     kaggle       8363\n"
                             "  test      ds-test  kaggle-test  830\n"));
  EXPECT_THAT(out, HasSubstr("Hyperparameters:\n  learning_rate  0.1\n  n_epochs       4\n"));
  EXPECT_THAT(out, HasSubstr("Metrics:\n  best_round  173\n"));
  EXPECT_THAT(out, HasSubstr("Evaluation (threshold chosen on the validation side):\n"
                             "                     VALIDATION       TEST             TEST (all)\n"
                             "  Rows               100              200              200\n"));
  EXPECT_THAT(out, HasSubstr("  Accuracy           0.9000           0.8765           0.9900\n"));
  EXPECT_THAT(out, HasSubstr("  TP / FP / TN / FN  20 / 3 / 70 / 7  20 / 3 / 70 / 7  20 / 3 / 70 / "
                             "7\n"));
  EXPECT_THAT(out, HasSubstr("  TEST (all): a classifier trained the same way on that feature "
                             "set, for comparison only (not part of the model)\n"));
  EXPECT_THAT(out, HasSubstr("  Test rows: dataset ds-test (\"kaggle-test\") (feature set "
                             "transaction)\n"));
  EXPECT_THAT(out, HasSubstr("Holdout: 5% of the training addresses by address hash, seed 42\n"));
}

TEST_F(ModelCommandsTest, ShowOfAModelWithoutCardPrintsTheRegistryFields) {
  training::v1::Model model;
  model.set_name(kModel);
  model.set_kind("knowledge");
  cli_.services().models().AddModel(model);
  ASSERT_EQ(cli_.Run({"models", "show", kModel}), kExitOk) << cli_.err();
  EXPECT_THAT(cli_.out(), HasSubstr("  Kind:               knowledge\n"));
  EXPECT_THAT(cli_.out(), Not(HasSubstr("Evaluation")));
  EXPECT_EQ(cli_.Run({"models", "show", "nope"}), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("NOT_FOUND"));
}

TEST_F(ModelCommandsTest, ResultsWritesTheResultsArtefactToStdoutOrAFile) {
  std::string bytes;
  cli_.services().models().AddModel(PublishedModel(&bytes));
  cli_.services().models().SetPackage(kModel, bytes);
  ASSERT_EQ(cli_.Run({"models", "results", "production"}), kExitOk) << cli_.err();
  EXPECT_EQ(cli_.out(), kResults);
  const std::string file = dir_ + "/results.csv";
  ASSERT_EQ(cli_.Run({"models", "results", kModel, "-o", file}), kExitOk) << cli_.err();
  EXPECT_EQ(Read(file), kResults);
  EXPECT_THAT(cli_.out(), IsEmpty());
  EXPECT_THAT(cli_.err(), HasSubstr("Wrote the training results of model"));
  ASSERT_EQ(cli_.Run({"--json", "models", "results", kModel, "-o", file}), kExitOk);
  training::v1::Model printed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(cli_.OutLines()[0], &printed).ok());
  EXPECT_EQ(printed.name(), kModel);
  EXPECT_EQ(cli_.Run({"--json", "models", "results", kModel}), kExitUsage);
}

TEST_F(ModelCommandsTest, ResultsRefusesBytesThatDoNotMatchOrDoNotVerify) {
  std::string bytes;
  training::v1::Model model = PublishedModel(&bytes);
  cli_.services().models().AddModel(model);
  std::string changed = bytes;
  changed[changed.size() - 3] ^= 1;
  cli_.services().models().SetPackage(kModel, changed);
  const std::string file = dir_ + "/results.csv";
  EXPECT_EQ(cli_.Run({"models", "results", kModel, "-o", file}), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("the downloaded bytes do not match its SHA-256"));
  EXPECT_FALSE(std::filesystem::exists(file));

  // Bytes that match the recorded SHA-256 but whose manifest disagrees with the artefacts.
  model::v1::ModelPackage package;
  ASSERT_TRUE(package.ParseFromString(bytes));
  package.mutable_artefacts(2)->set_data("step\n");
  const std::string tampered = model::SerializeDeterministic(package);
  model.set_sha256(eth::Sha256::HexDigest(tampered));
  ethscan::cli::testing::CliRunner other;
  other.services().models().AddModel(model);
  other.services().models().SetPackage(kModel, tampered);
  EXPECT_EQ(other.Run({"models", "results", kModel}), kExitFailure);
  EXPECT_THAT(other.err(), HasSubstr("ethscan models results: model \""));
  EXPECT_THAT(other.out(), IsEmpty());
}

TEST_F(ModelCommandsTest, ResultsOfAModelWithoutThemSaysWhatItHas) {
  model::v1::ModelPackage package;
  package.mutable_manifest()->set_name(kModel);
  ASSERT_TRUE(model::AddArtefact(&package, model::kKnowledgeKind, model::kKnowledgeFormat,
                                 model::SerializeDeterministic(model::v1::KnowledgeIndex()))
                  .ok());
  training::v1::Model model;
  model.set_name(kModel);
  cli_.services().models().AddModel(model);
  cli_.services().models().SetPackage(kModel, model::SerializeDeterministic(package));
  EXPECT_EQ(cli_.Run({"models", "results", kModel}), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("has no results artefact (it has: knowledge)"));
}

// A test dataset's record: the Kaggle column names as the dataset service stores them.
common::v1::AddressRecord Record(int i, const std::string& label, double sent, double received) {
  common::v1::AddressRecord r;
  r.set_address(eth::Address::Parse(absl::StrFormat("0x%040x", i))->ToChecksumHex());
  r.set_label(label);
  if (label == "Unknown") r.add_tags("not flagged");
  common::v1::Feature* f = r.add_features();
  f->set_name("Sent tnx");
  f->set_number(sent);
  f = r.add_features();
  f->set_name("Received Tnx");
  f->set_number(received);
  return r;
}

class ModelsCompareTest : public ModelCommandsTest {
 protected:
  void SetUp() override {
    ModelCommandsTest::SetUp();
    // A scores by sent_tnx: right on every row. B by received_tnx: flags the even rows.
    cli_.services().inference().AddModel("A", {"sent_tnx", 0.5, true, "all"});
    cli_.services().inference().AddModel("B", {"received_tnx", 0.5, true, "transaction"});
    std::vector<common::v1::AddressRecord> records;
    for (int i = 0; i < 30; ++i) {
      const bool flagged = i < 15;
      records.push_back(Record(i, flagged ? "Phish / Hack" : "Unknown", flagged ? 0.9 : 0.1,
                               i % 2 == 0 ? 0.8 : 0.2));
    }
    common::v1::AddressRecord legit = Record(100, "Legit", 0.9, 0.9);
    legit.clear_tags();
    records.push_back(legit);  // says nothing about being flagged: skipped
    common::v1::AddressRecord bare;
    bare.set_address(eth::Address::Parse(absl::StrFormat("0x%040x", 101))->ToChecksumHex());
    bare.set_label("Scam");
    records.push_back(bare);  // no features: skipped
    // An address seen before counts once.
    records.push_back(Record(3, "Unknown", 0.1, 0.1));
    cli_.services().dataset().SetRecords("ds-test", records, /*batch_size=*/7);
    dataset::v1::Dataset d;
    d.set_id("ds-test");
    d.set_name("kaggle-test");
    d.set_record_count(records.size());
    cli_.services().dataset().AddDataset(d);
  }
};

TEST_F(ModelsCompareTest, PrintsMetricsSideBySideAndTheFirstDisagreements) {
  ASSERT_EQ(cli_.Run({"models", "compare", "A", "B", "--dataset", "ds-test"}), kExitOk)
      << cli_.err();
  const std::string out = cli_.out();
  EXPECT_THAT(out, StartsWith("Test dataset ds-test (\"kaggle-test\"): 30 rows, 15 flagged; "
                              "skipped 2 records without features or a flagged/not-flagged "
                              "label and 1 repeating an address\n"));
  EXPECT_THAT(out, HasSubstr("                     A                B\n"
                             "  Rows               30               30\n"
                             "  Positives          15               15\n"
                             "  Threshold          0.5000           0.5000\n"
                             "  Accuracy           1.0000           0.5333\n"));
  EXPECT_THAT(out, HasSubstr("  TP / FP / TN / FN  15 / 0 / 15 / 0  8 / 7 / 8 / 7\n"));
  EXPECT_THAT(out, HasSubstr("  Feature set of A: all\n  Feature set of B: transaction\n"));
  EXPECT_THAT(out, HasSubstr("Verdicts differ on 14 rows; the first 10:\n"
                             "ADDRESS                                     LABEL        SCORE A  "
                             "SCORE B\n"));
  std::vector<std::string> lines = cli_.OutLines();
  ASSERT_GE(lines.size(), 10u);
  std::vector<std::string> listed(lines.end() - 10, lines.end());
  EXPECT_EQ(listed[0],
            absl::StrCat(eth::Address::Parse(absl::StrFormat("0x%040x", 1))->ToChecksumHex(),
                         "  flagged      0.9000   0.2000"));
  EXPECT_EQ(listed[7],
            absl::StrCat(eth::Address::Parse(absl::StrFormat("0x%040x", 16))->ToChecksumHex(),
                         "  not flagged  0.1000   0.8000"));
  // Each model saw every scorable record once, none of the skipped ones.
  std::vector<inference::v1::PredictRequest> requests = cli_.services().inference().requests();
  EXPECT_EQ(requests.size(), 60u);
  EXPECT_EQ(cli_.services().inference().calls().size(), 2u);
  EXPECT_THAT(requests[0].features(),
              ::testing::UnorderedElementsAre(::testing::Pair("sent_tnx", 0.9),
                                              ::testing::Pair("received_tnx", 0.8)));
}

TEST_F(ModelsCompareTest, JsonPrintsOneEvaluationPerModel) {
  ASSERT_EQ(cli_.Run({"--json", "models", "compare", "A", "B", "--dataset", "ds-test"}), kExitOk)
      << cli_.err();
  std::vector<std::string> lines = cli_.OutLines();
  ASSERT_EQ(lines.size(), 2u);
  model::v1::Evaluation a, b;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &a).ok()) << lines[0];
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[1], &b).ok()) << lines[1];
  EXPECT_EQ(a.split(), "test");
  EXPECT_EQ(a.rows(), 30u);
  EXPECT_EQ(a.positives(), 15u);
  EXPECT_DOUBLE_EQ(a.accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(a.roc_auc(), 1.0);
  EXPECT_EQ(b.true_positives(), 8);
  EXPECT_EQ(b.false_negatives(), 7);
  EXPECT_EQ(b.feature_set(), "transaction");
  EXPECT_EQ(b.source(), "dataset ds-test (\"kaggle-test\"), scored by model B");
}

TEST_F(ModelsCompareTest, AgreeingModelsSaySo) {
  ASSERT_EQ(cli_.Run({"models", "compare", "A", "A", "--dataset", "ds-test"}), kExitOk);
  EXPECT_THAT(cli_.out(), HasSubstr("  Feature set of both: all\n"
                                    "The models' verdicts agree on every row.\n"));
}

TEST_F(ModelsCompareTest, ModelWithoutClassifierIsAnError) {
  cli_.services().inference().AddModel("index-only", {"sent_tnx", 0.5, /*classifier=*/false});
  EXPECT_EQ(cli_.Run({"models", "compare", "A", "index-only", "--dataset", "ds-test"}),
            kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("ethscan models compare: model index-only has no behavioural "
                                    "classifier, so it cannot be compared"));
  EXPECT_THAT(cli_.out(), IsEmpty());
}

TEST_F(ModelsCompareTest, UnknownModelOrDatasetFailsWithTheCode) {
  EXPECT_EQ(cli_.Run({"models", "compare", "A", "nope", "--dataset", "ds-test"}), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("scoring with model nope failed"));
  EXPECT_THAT(cli_.err(), HasSubstr("NOT_FOUND: request 0: model \"nope\" not found"));
  EXPECT_EQ(cli_.Run({"models", "compare", "A", "B", "--dataset", "ds-none"}), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("NOT_FOUND: dataset \"ds-none\" not found"));
  EXPECT_EQ(cli_.Run({"models", "compare", "A", "B"}), kExitUsage);
  EXPECT_THAT(cli_.err(), HasSubstr("--dataset TEST_DATASET_ID is required"));
}

TEST_F(ModelsCompareTest, DatasetWithoutScorableRecordsIsAnError) {
  cli_.services().dataset().SetRecords("ds-empty", {Record(1, "Legit", 1, 1)});
  dataset::v1::Dataset d;
  d.set_id("ds-empty");
  cli_.services().dataset().AddDataset(d);
  EXPECT_EQ(cli_.Run({"models", "compare", "A", "B", "--dataset", "ds-empty"}), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("has no record with behavioural features and a flagged or "
                                    "not-flagged label (1 records skipped)"));
}

}  // namespace
}  // namespace ethscan::cli

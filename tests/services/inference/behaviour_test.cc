// Behavioural scores through the inference service: a model with a knowledge index and a
// classifier, asked with and without feature vectors.
#include "absl/strings/str_cat.h"
#include "common/model/package.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/inference/inference_service.h"
#include "services/inference/loaded_model.h"
#include "tests/services/inference/classifier_fixture.h"
#include "tests/services/inference/fake_model_source.h"
#include "tests/services/inference/knowledge_fixture.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::inference {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kModel[] = "ft:ethscan-base:b:ftjob-1";
constexpr char kKnowledgeOnly[] = "ft:ethscan-base:k:ftjob-2";
constexpr char kNobody[] = "0x00000000000000000000000000000000000000e1";

class BehaviourTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto source = std::make_unique<testing::FakeModelSource>();
    source->Add(testing::ModelWith(kKnowledgeOnly, {testing::UniswapEntry()}));
    source->Add(testing::ModelWithClassifier(kModel, {testing::UniswapEntry()}));
    manager_ = std::make_unique<ModelManager>(std::move(source), &clock_, ModelManager::Options());
    service_ = std::make_unique<InferenceServiceImpl>(manager_.get());
  }

  absl::StatusOr<v1::PredictResponse> Predict(const std::string& address,
                                              std::map<std::string, double> features,
                                              const std::string& model = kModel) {
    v1::PredictRequest request;
    request.set_address(address);
    request.set_model(model);
    for (const auto& [name, value] : features) (*request.mutable_features())[name] = value;
    return service_->PredictOne(request);
  }

  common::FakeClock clock_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<InferenceServiceImpl> service_;
};

TEST_F(BehaviourTest, AnAddressNoListNamesGetsTheClassifiersScoreAndWhy) {
  ASSERT_OK_AND_ASSIGN(v1::PredictResponse p,
                       Predict(kNobody, {{"sent_tnx", 49}, {"Received Tnx", 5}}));
  EXPECT_FALSE(p.known());
  ASSERT_TRUE(p.has_behaviour());
  EXPECT_GT(p.behaviour().score(), 0.9);
  EXPECT_TRUE(p.behaviour().flagged());
  EXPECT_EQ(p.behaviour().label(), "Phish / Hack");
  EXPECT_EQ(p.behaviour().features_present(), 2);
  EXPECT_EQ(p.behaviour().feature_set(), "transaction");
  EXPECT_EQ(p.label(), "Phish / Hack");
  EXPECT_EQ(p.risk_level(), common::v1::RISK_LEVEL_HIGH);
  EXPECT_THAT(p.answered_by(), ElementsAre("knowledge", "classifier"));
  EXPECT_THAT(p.description(), HasSubstr("behavioural estimate"));
  EXPECT_THAT(p.description(), HasSubstr("sent_tnx = 49"));
  ASSERT_GE(p.behaviour().top_contributions_size(), 1);
  EXPECT_EQ(p.behaviour().top_contributions(0).feature(), "sent_tnx");
  EXPECT_GT(p.behaviour().top_contributions(0).contribution(), 0);
  EXPECT_DOUBLE_EQ(p.behaviour().top_contributions(0).value(), 49);
  ASSERT_GE(p.evidence_size(), 1);
  EXPECT_THAT(p.evidence(p.evidence_size() - 1).source(), HasSubstr("behavioural classifier"));
}

TEST_F(BehaviourTest, NotFlaggedIsUnknownNeverLegit) {
  ASSERT_OK_AND_ASSIGN(v1::PredictResponse p, Predict(kNobody, {{"sent_tnx", 2}}));
  ASSERT_TRUE(p.has_behaviour());
  EXPECT_FALSE(p.behaviour().flagged());
  EXPECT_EQ(p.behaviour().label(), "Unknown");
  EXPECT_EQ(p.label(), "Unknown");
  EXPECT_EQ(p.behaviour().features_missing(), 1);
  EXPECT_THAT(p.description(), HasSubstr("no evidence of legitimacy"));
  EXPECT_NE(p.risk_level(), common::v1::RISK_LEVEL_UNSPECIFIED);
}

TEST_F(BehaviourTest, AListedAddressKeepsItsLabelWithTheScoreBeside) {
  ASSERT_OK_AND_ASSIGN(v1::PredictResponse p,
                       Predict("0x1f9840a85d5af5bf1d1762f925bdaddc4201f984", {{"sent_tnx", 49}}));
  EXPECT_TRUE(p.known());
  EXPECT_EQ(p.label(), "Legit");
  ASSERT_TRUE(p.has_behaviour());
  EXPECT_TRUE(p.behaviour().flagged());
  EXPECT_THAT(p.description(), HasSubstr("the datasets decide the label"));
}

TEST_F(BehaviourTest, WithoutFeaturesOrWithoutAClassifierThereIsNoScore) {
  ASSERT_OK_AND_ASSIGN(v1::PredictResponse plain, Predict(kNobody, {}));
  EXPECT_FALSE(plain.has_behaviour());
  EXPECT_EQ(plain.label(), "Unknown");
  EXPECT_EQ(plain.risk_level(), common::v1::RISK_LEVEL_UNSPECIFIED);
  EXPECT_THAT(plain.answered_by(), ElementsAre("knowledge"));
  ASSERT_OK_AND_ASSIGN(v1::PredictResponse knowledge_only,
                       Predict(kNobody, {{"sent_tnx", 49}}, kKnowledgeOnly));
  EXPECT_FALSE(knowledge_only.has_behaviour());
  // Features the classifier does not read give no score either.
  ASSERT_OK_AND_ASSIGN(v1::PredictResponse unread, Predict(kNobody, {{"erc20_total_tnxs", 4}}));
  EXPECT_FALSE(unread.has_behaviour());
}

TEST_F(BehaviourTest, BadFeaturesAreRefusedByName) {
  EXPECT_THAT(Predict(kNobody, {{"no such feature", 1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no such feature")));
  EXPECT_THAT(Predict(kNobody, {{"sent_tnx", std::nan("")}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("finite")));
}

TEST(PredictorFactoryTest, RefusesKindsAndArtefactsItCannotServe) {
  model::v1::ModelPackage package = testing::ModelWithClassifier(kModel, {});
  package.mutable_manifest()->add_kinds("graph");
  EXPECT_THAT(LoadedModel::Create(package, 0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("graph")));
  model::v1::ClassifierArtefact bad = testing::TrainedClassifier();
  bad.set_booster("not a model");
  model::v1::ModelPackage broken = ::ethscan::testing::KnowledgePackage(kModel, {});
  ASSERT_THAT(model::AddArtefact(&broken, model::kClassifierKind, model::kClassifierFormat,
                                 bad.SerializeAsString()),
              IsOk());
  EXPECT_THAT(LoadedModel::Create(broken, 0), StatusIs(absl::StatusCode::kDataLoss));
  model::v1::ClassifierArtefact other_schema = testing::TrainedClassifier();
  other_schema.set_feature_schema("ethscan.features.v9");
  model::v1::ModelPackage newer = ::ethscan::testing::KnowledgePackage(kModel, {});
  ASSERT_THAT(model::AddArtefact(&newer, model::kClassifierKind, model::kClassifierFormat,
                                 other_schema.SerializeAsString()),
              IsOk());
  EXPECT_THAT(LoadedModel::Create(newer, 0),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("ethscan.features.v9")));
}

TEST(PackageTest, VerifyCatchesEveryMismatch) {
  model::v1::ModelPackage package = testing::ModelWithClassifier(kModel, {});
  EXPECT_THAT(model::Verify(package, "m"), IsOk());
  EXPECT_THAT(package.manifest().kinds(), ElementsAre("knowledge", "classifier"));
  model::v1::ModelPackage tampered = package;
  tampered.mutable_artefacts(1)->mutable_data()->append("x");
  EXPECT_THAT(model::Verify(tampered, "m"), StatusIs(absl::StatusCode::kDataLoss));
  model::v1::ModelPackage missing = package;
  missing.mutable_artefacts()->RemoveLast();
  EXPECT_THAT(model::Verify(missing, "m"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(model::ParsePackage("garbage", "m"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(model::AddArtefact(&package, model::kClassifierKind, model::kClassifierFormat, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace ethscan::inference

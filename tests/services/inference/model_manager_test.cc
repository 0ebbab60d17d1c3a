#include "services/inference/model_manager.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/inference/fake_model_source.h"
#include "tests/services/inference/knowledge_fixture.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::inference {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using testing::FakeModelSource;
using ::testing::HasSubstr;
using testing::ModelWith;

class ModelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto source = std::make_unique<FakeModelSource>();
    source_ = source.get();
    source_->Add(ModelWith("ft:ethscan-base:a:ftjob-1", {testing::UniswapEntry()}));
    source_->Add(ModelWith("ft:ethscan-base:b:ftjob-2",
                           {testing::UniswapEntry(), testing::SanctionedEntry()}));
    manager_ = std::make_unique<ModelManager>(std::move(source), &clock_, ModelManager::Options());
  }

  common::FakeClock clock_;
  FakeModelSource* source_;
  std::unique_ptr<ModelManager> manager_;
};

TEST_F(ModelManagerTest, DefaultIsNewestAndLoadsOnce) {
  absl::StatusOr<std::shared_ptr<const LoadedModel>> m = manager_->Get("");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ((*m)->name(), "ft:ethscan-base:b:ftjob-2");
  EXPECT_EQ((*m)->address_count(), 2u);
  ASSERT_THAT(manager_->Get(""), IsOk());
  ASSERT_THAT(manager_->Get("ft:ethscan-base:b:ftjob-2"), IsOk());
  EXPECT_EQ(source_->fetches, 1);
}

TEST_F(ModelManagerTest, FindsAddressesCaseInsensitively) {
  auto m = manager_->Get("ft:ethscan-base:b:ftjob-2");
  ASSERT_THAT(m, IsOk());
  auto lower = eth::Address::Parse("0x098b716b8aaf21512996dc57eb0615e2383e2f96");
  ASSERT_THAT(lower, IsOk());
  const model::v1::KnowledgeEntry* e = (*m)->Find(*lower);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->merged().label(), "Sanctioned");
  EXPECT_EQ((*m)->Find(*eth::Address::Parse("0x0000000000000000000000000000000000000001")),
            nullptr);
}

TEST_F(ModelManagerTest, AliasMovesTakeEffectAfterTtl) {
  source_->SetAlias("production", "ft:ethscan-base:a:ftjob-1");
  EXPECT_EQ((*manager_->Get(""))->name(), "ft:ethscan-base:a:ftjob-1");
  source_->SetAlias("production", "ft:ethscan-base:b:ftjob-2");
  EXPECT_EQ((*manager_->Get(""))->name(), "ft:ethscan-base:a:ftjob-1");  // cached
  clock_.Advance(absl::Seconds(6));
  EXPECT_EQ((*manager_->Get(""))->name(), "ft:ethscan-base:b:ftjob-2");
}

TEST_F(ModelManagerTest, KeepsServingLoadedModelWhileRegistryIsDown) {
  ASSERT_THAT(manager_->Get(""), IsOk());
  clock_.Advance(absl::Seconds(6));
  source_->unavailable = true;
  auto m = manager_->Get("");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ((*m)->name(), "ft:ethscan-base:b:ftjob-2");
  // A model never loaded cannot be served.
  EXPECT_THAT(manager_->Get("ft:ethscan-base:a:ftjob-1"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(ModelManagerTest, UnknownModelIsNotFound) {
  EXPECT_THAT(manager_->Get("ft:nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ft:nope")));
}

TEST_F(ModelManagerTest, ReadyListUnloadAndReload) {
  auto ready = manager_->Ready("ft:ethscan-base:a:ftjob-1");
  EXPECT_THAT(ready, StatusIs(absl::StatusCode::kNotFound));
  auto loaded = manager_->Load("ft:ethscan-base:a:ftjob-1");
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->address_count(), 1u);
  EXPECT_EQ(*manager_->Ready("ft:ethscan-base:a:ftjob-1"), "ft:ethscan-base:a:ftjob-1");
  ASSERT_EQ(manager_->List().size(), 1u);
  ASSERT_THAT(manager_->Unload("ft:ethscan-base:a:ftjob-1"), IsOk());
  EXPECT_TRUE(manager_->List().empty());
  EXPECT_THAT(manager_->Unload("ft:ethscan-base:a:ftjob-1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(LoadedModelTest, RejectsDuplicateAndInvalidAddresses) {
  auto dup =
      LoadedModel::Create(ModelWith("m", {testing::UniswapEntry(), testing::UniswapEntry()}), 0);
  EXPECT_THAT(dup, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("twice")));
  model::v1::KnowledgeEntry bad;
  bad.mutable_merged()->set_address("0x1234");
  EXPECT_THAT(LoadedModel::Create(ModelWith("m", {bad}), 0), StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace ethscan::inference

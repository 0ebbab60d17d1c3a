#include "services/training/model_registry.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/eth/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/training/dataset_client.h"
#include "services/training/job_store.h"
#include "tests/services/training/fakes.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::training {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

v1::KnowledgeModel MakeModel(const std::string& name, int64_t create_seconds, int entries) {
  v1::KnowledgeModel model;
  model.set_name(name);
  model.set_base_model("ethscan-base");
  model.set_job_id(name.substr(name.rfind(':') + 1));
  model.add_training_datasets("ds-1");
  model.mutable_create_time()->set_seconds(create_seconds);
  for (int i = 0; i < entries; ++i) {
    v1::KnowledgeEntry* e = model.add_entries();
    e->mutable_merged()->set_address(absl::StrCat("0x", std::string(38, '0'), 10 + i));
    e->mutable_merged()->set_label("Scam");
    (*e->mutable_field_sources())["label"] = "mew (ds-1)";
    (*e->mutable_field_sources())["name"] = "mew (ds-1)";
  }
  return model;
}

class ModelRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ethscan::testing::MakeTempDir("registry-test");
    datasets_.Add(testing::MakeDataset("ds-1", "mew", dataset::v1::DATASET_FORMAT_MEW_DARKLIST, 1),
                  {});
    ModelRegistry::Options options;
    options.models_dir = dir_ + "/models";
    ASSERT_OK_AND_ASSIGN(registry_, ModelRegistry::Create(options, &store_, &client_));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  testing::InMemoryModelStore store_;
  testing::FakeDatasetService datasets_;
  testing::InProcessServer server_{{&datasets_}};
  DatasetClient client_{dataset::v1::DatasetService::NewStub(server_.channel())};
  std::unique_ptr<ModelRegistry> registry_;
};

TEST_F(ModelRegistryTest, CreateNeedsAStoreAndADatasetClient) {
  ModelRegistry::Options options;
  options.models_dir = dir_ + "/other";
  EXPECT_THAT(ModelRegistry::Create(options, &store_, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ModelRegistry::Create(options, nullptr, &client_),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ModelRegistryTest, PublishReferencesTheDatasetsAndDeleteDropsThem) {
  v1::KnowledgeModel model = MakeModel("ft:ethscan-base:custom:ftjob-r", 100, 1);
  model.add_training_datasets("ds-gone");  // Only a base model named it; it is deleted.
  ASSERT_THAT(registry_->Publish(model), IsOk());
  EXPECT_THAT(datasets_.Holders("ds-1"), ElementsAre("model/ft:ethscan-base:custom:ftjob-r"));
  EXPECT_THAT(datasets_.Remove("ds-1"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("model/ft:ethscan-base:custom:ftjob-r")));
  // Publishing the same model again keeps one reference.
  ASSERT_THAT(registry_->Publish(model), IsOk());
  EXPECT_THAT(datasets_.Holders("ds-1"), SizeIs(1));

  ASSERT_THAT(registry_->Delete(model.name()), IsOk());
  EXPECT_THAT(datasets_.Holders("ds-1"), IsEmpty());
  EXPECT_THAT(datasets_.Remove("ds-1"), IsOk());
}

TEST_F(ModelRegistryTest, PublishFailsWhenAReferenceCannotBeAdded) {
  datasets_.FailAddReferences(grpc::StatusCode::UNAVAILABLE);
  v1::KnowledgeModel model = MakeModel("ft:ethscan-base:custom:ftjob-u", 100, 1);
  EXPECT_THAT(
      registry_->Publish(model),
      StatusIs(absl::StatusCode::kUnavailable, AllOf(HasSubstr("cannot reference dataset \"ds-1\""),
                                                     HasSubstr("dataset service"))));
  EXPECT_THAT(store_.Get(model.name()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(registry_->ModelPath(model.name())));
}

TEST_F(ModelRegistryTest, DeleteKeepsTheModelWhenAReferenceCannotBeDropped) {
  v1::KnowledgeModel model = MakeModel("ft:ethscan-base:custom:ftjob-k", 100, 1);
  ASSERT_THAT(registry_->Publish(model), IsOk());
  datasets_.FailRemoveReferences(grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(registry_->Delete(model.name()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("is kept")));
  EXPECT_THAT(store_.Get(model.name()), IsOk());
  datasets_.FailRemoveReferences(grpc::StatusCode::OK);
  ASSERT_THAT(registry_->Delete(model.name()), IsOk());
  EXPECT_THAT(datasets_.Holders("ds-1"), IsEmpty());
}

TEST_F(ModelRegistryTest, PublishWritesBytesAndMetadata) {
  v1::KnowledgeModel model = MakeModel("ft:ethscan-base:custom:ftjob-a", 100, 3);
  ASSERT_OK_AND_ASSIGN(v1::Model meta, registry_->Publish(model));
  EXPECT_EQ(meta.name(), "ft:ethscan-base:custom:ftjob-a");
  EXPECT_EQ(meta.job_id(), "ftjob-a");
  EXPECT_EQ(meta.kind(), "knowledge");
  EXPECT_EQ(meta.address_count(), 3u);
  EXPECT_THAT(meta.training_datasets(), ElementsAre("ds-1"));
  std::string path = registry_->ModelPath(meta.name());
  EXPECT_EQ(path, dir_ + "/models/ft_ethscan-base_custom_ftjob-a/model.pb");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.size(), meta.size_bytes());
  EXPECT_EQ(eth::Sha256::HexDigest(bytes), meta.sha256());
  EXPECT_EQ(bytes, SerializeDeterministic(model));
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& f :
       std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    ++files;
  }
  EXPECT_EQ(files, 1);
  ASSERT_OK_AND_ASSIGN(v1::KnowledgeModel loaded, registry_->Load(meta.name()));
  EXPECT_EQ(loaded.entries_size(), 3);
}

TEST_F(ModelRegistryTest, EmptyNameResolvesProductionAliasElseNewest) {
  EXPECT_THAT(registry_->Resolve(""),
              StatusIs(absl::StatusCode::kNotFound, "no model published yet"));
  ASSERT_THAT(registry_->Publish(MakeModel("ft:ethscan-base:a:ftjob-old", 100, 1)), IsOk());
  ASSERT_THAT(registry_->Publish(MakeModel("ft:ethscan-base:a:ftjob-new", 200, 1)), IsOk());
  ASSERT_OK_AND_ASSIGN(v1::Model newest, registry_->Resolve(""));
  EXPECT_EQ(newest.name(), "ft:ethscan-base:a:ftjob-new");
  ASSERT_OK_AND_ASSIGN(v1::Model aliased,
                       registry_->SetAlias("production", "ft:ethscan-base:a:ftjob-old"));
  EXPECT_THAT(aliased.aliases(), ElementsAre("production"));
  ASSERT_OK_AND_ASSIGN(v1::Model def, registry_->Resolve(""));
  EXPECT_EQ(def.name(), "ft:ethscan-base:a:ftjob-old");
  ASSERT_OK_AND_ASSIGN(v1::Model by_alias, registry_->Resolve("production"));
  EXPECT_EQ(by_alias.name(), "ft:ethscan-base:a:ftjob-old");
  EXPECT_THAT(registry_->Resolve("staging"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"staging\"")));
}

TEST_F(ModelRegistryTest, SetAliasValidatesAliasAndModel) {
  ASSERT_THAT(registry_->Publish(MakeModel("ft:ethscan-base:a:ftjob-1", 100, 1)), IsOk());
  EXPECT_THAT(registry_->SetAlias("", "ft:ethscan-base:a:ftjob-1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry_->SetAlias("Production", "ft:ethscan-base:a:ftjob-1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lowercase")));
  EXPECT_THAT(registry_->SetAlias("ft:x", "ft:ethscan-base:a:ftjob-1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model name")));
  EXPECT_THAT(registry_->SetAlias(std::string(65, 'a'), "ft:ethscan-base:a:ftjob-1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64")));
  EXPECT_THAT(registry_->SetAlias("prod", ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry_->SetAlias("prod", "ft:ethscan-base:a:missing"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->SetAlias(std::string(64, 'a'), "ft:ethscan-base:a:ftjob-1"), IsOk());
  EXPECT_THAT(registry_->SetAlias("canary_2-b", "ft:ethscan-base:a:ftjob-1"), IsOk());
}

TEST_F(ModelRegistryTest, DeleteRemovesModelAliasesAndFiles) {
  ASSERT_OK_AND_ASSIGN(v1::Model meta,
                       registry_->Publish(MakeModel("ft:ethscan-base:a:ftjob-1", 100, 1)));
  ASSERT_THAT(registry_->SetAlias("production", meta.name()), IsOk());
  std::string path = registry_->ModelPath(meta.name());
  ASSERT_TRUE(std::filesystem::exists(path));
  ASSERT_THAT(registry_->Delete(meta.name()), IsOk());
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path).parent_path()));
  EXPECT_THAT(registry_->Resolve("production"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->Resolve(""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->Delete(meta.name()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->Delete(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ModelRegistryTest, ReadVerifiedDetectsCorruptAndMissingFiles) {
  ASSERT_OK_AND_ASSIGN(v1::Model meta,
                       registry_->Publish(MakeModel("ft:ethscan-base:a:ftjob-1", 100, 2)));
  ASSERT_OK_AND_ASSIGN(std::string bytes, registry_->ReadVerified(meta));
  EXPECT_EQ(bytes.size(), meta.size_bytes());
  {
    std::fstream f(registry_->ModelPath(meta.name()),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5);
    f.put('\x7f');
  }
  EXPECT_THAT(registry_->ReadVerified(meta),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("SHA-256")));
  EXPECT_THAT(registry_->Load(meta.name()), StatusIs(absl::StatusCode::kDataLoss));
  std::filesystem::remove(registry_->ModelPath(meta.name()));
  EXPECT_THAT(registry_->ReadVerified(meta),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("missing")));
}

TEST_F(ModelRegistryTest, ListPagesNewestFirst) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(
        registry_->Publish(MakeModel(absl::StrCat("ft:ethscan-base:a:ftjob-", i), 100 + i, 1)),
        IsOk());
  }
  ASSERT_OK_AND_ASSIGN(v1::ListModelsResponse first, registry_->List(2, ""));
  ASSERT_EQ(first.models_size(), 2);
  EXPECT_EQ(first.models(0).name(), "ft:ethscan-base:a:ftjob-2");
  EXPECT_EQ(first.models(1).name(), "ft:ethscan-base:a:ftjob-1");
  EXPECT_EQ(first.next_page_token(), "2");
  ASSERT_OK_AND_ASSIGN(v1::ListModelsResponse second, registry_->List(2, first.next_page_token()));
  ASSERT_EQ(second.models_size(), 1);
  EXPECT_EQ(second.models(0).name(), "ft:ethscan-base:a:ftjob-0");
  EXPECT_THAT(second.next_page_token(), IsEmpty());
  EXPECT_THAT(registry_->List(-1, ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry_->List(0, "abc"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ModelRegistryNamesTest, SanitisesNamesAndValidatesAliases) {
  EXPECT_EQ(SanitiseModelName("ft:ethscan-base:my_suffix:ftjob-0123"),
            "ft_ethscan-base_my_suffix_ftjob-0123");
  EXPECT_EQ(SanitiseModelName("../etc"), ".._etc");
  EXPECT_EQ(SanitiseModelName(".."), "_..");
  EXPECT_THAT(ValidateAlias("production"), IsOk());
  EXPECT_THAT(ValidateAlias("a b"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace ethscan::training

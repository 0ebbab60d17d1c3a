#include "services/training/model_registry.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/eth/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/training/atomic_file.h"
#include "services/training/dataset_client.h"
#include "services/training/job_store.h"
#include "tests/services/training/fakes.h"
#include "tests/testing/model_packages.h"
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

model::v1::ModelPackage MakeModel(const std::string& name, int64_t create_seconds, int entries) {
  model::v1::KnowledgeIndex model;
  for (int i = 0; i < entries; ++i) {
    model::v1::KnowledgeEntry* e = model.add_entries();
    e->mutable_merged()->set_address(absl::StrCat("0x", std::string(38, '0'), 10 + i));
    e->mutable_merged()->set_label("Scam");
    (*e->mutable_field_sources())["label"] = "mew (ds-1)";
    (*e->mutable_field_sources())["name"] = "mew (ds-1)";
  }
  return ::ethscan::testing::KnowledgePackage(name, model, {"ds-1"}, create_seconds);
}

// A child process that starts writing `path` through an AtomicFileWriter, as a worker
// publishing a model does, and then waits forever, as if the write were slow.
class ChildWriter {
 public:
  explicit ChildWriter(const std::string& path) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[0]);
      absl::StatusOr<std::unique_ptr<AtomicFileWriter>> writer = AtomicFileWriter::Open(path);
      if (!writer.ok() || !(*writer)->Append(std::string(4096, 'x')).ok()) _exit(1);
      const std::string& temp = (*writer)->temp_path();
      if (write(fds[1], temp.data(), temp.size()) != static_cast<ssize_t>(temp.size())) _exit(1);
      close(fds[1]);
      while (true) pause();
    }
    close(fds[1]);
    char buffer[4096];
    ssize_t n;
    while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) temp_path_.append(buffer, n);
    close(fds[0]);
  }
  ~ChildWriter() { Kill(); }

  // SIGKILL, as the kernel's OOM killer or a node failure would, and reap.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Empty when the child could not start writing.
  const std::string& temp_path() const { return temp_path_; }

 private:
  pid_t pid_ = -1;
  std::string temp_path_;
};

// Sets a file's modification time `age` into the past.
void Age(const std::string& path, absl::Duration age) {
  struct timespec times[2];
  times[0] = absl::ToTimespec(absl::Now() - age);
  times[1] = times[0];
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path << ": " << errno;
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
  model::v1::ModelPackage model = MakeModel("ft:ethscan-base:custom:ftjob-r", 100, 1);
  model::v1::DatasetRef* gone = model.mutable_manifest()->add_datasets();
  gone->set_id("ds-gone");  // Only a base model named it; it is deleted.
  gone->set_role("training");
  ASSERT_THAT(registry_->Publish(model), IsOk());
  EXPECT_THAT(datasets_.Holders("ds-1"), ElementsAre("model/ft:ethscan-base:custom:ftjob-r"));
  EXPECT_THAT(datasets_.Remove("ds-1"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("model/ft:ethscan-base:custom:ftjob-r")));
  // Publishing the same model again keeps one reference.
  ASSERT_THAT(registry_->Publish(model), IsOk());
  EXPECT_THAT(datasets_.Holders("ds-1"), SizeIs(1));

  ASSERT_THAT(registry_->Delete(model.manifest().name()), IsOk());
  EXPECT_THAT(datasets_.Holders("ds-1"), IsEmpty());
  EXPECT_THAT(datasets_.Remove("ds-1"), IsOk());
}

TEST_F(ModelRegistryTest, PublishFailsWhenAReferenceCannotBeAdded) {
  datasets_.FailAddReferences(grpc::StatusCode::UNAVAILABLE);
  model::v1::ModelPackage model = MakeModel("ft:ethscan-base:custom:ftjob-u", 100, 1);
  EXPECT_THAT(
      registry_->Publish(model),
      StatusIs(absl::StatusCode::kUnavailable, AllOf(HasSubstr("cannot reference dataset \"ds-1\""),
                                                     HasSubstr("dataset service"))));
  EXPECT_THAT(store_.Get(model.manifest().name()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(registry_->ModelPath(model.manifest().name())));
}

TEST_F(ModelRegistryTest, DeleteKeepsTheModelWhenAReferenceCannotBeDropped) {
  model::v1::ModelPackage model = MakeModel("ft:ethscan-base:custom:ftjob-k", 100, 1);
  ASSERT_THAT(registry_->Publish(model), IsOk());
  datasets_.FailRemoveReferences(grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(registry_->Delete(model.manifest().name()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("is kept")));
  EXPECT_THAT(store_.Get(model.manifest().name()), IsOk());
  datasets_.FailRemoveReferences(grpc::StatusCode::OK);
  ASSERT_THAT(registry_->Delete(model.manifest().name()), IsOk());
  EXPECT_THAT(datasets_.Holders("ds-1"), IsEmpty());
}

TEST_F(ModelRegistryTest, PublishWritesBytesAndMetadata) {
  model::v1::ModelPackage model = MakeModel("ft:ethscan-base:custom:ftjob-a", 100, 3);
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
  EXPECT_EQ(bytes, model::SerializeDeterministic(model));
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& f :
       std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    ++files;
  }
  EXPECT_EQ(files, 1);
  ASSERT_OK_AND_ASSIGN(model::v1::ModelPackage loaded, registry_->Load(meta.name()));
  EXPECT_EQ(::ethscan::testing::IndexOf(loaded).entries_size(), 3);
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

TEST_F(ModelRegistryTest, DeleteRefusesWhileAnAliasPointsThenRemovesModelAndFiles) {
  ASSERT_OK_AND_ASSIGN(v1::Model meta,
                       registry_->Publish(MakeModel("ft:ethscan-base:a:ftjob-1", 100, 1)));
  ASSERT_THAT(registry_->SetAlias("production", meta.name()), IsOk());
  std::string path = registry_->ModelPath(meta.name());
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_THAT(registry_->Delete(meta.name()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("alias \"production\" points at it")));
  EXPECT_TRUE(std::filesystem::exists(path));
  ASSERT_THAT(registry_->DeleteAlias("production"), IsOk());
  EXPECT_THAT(registry_->DeleteAlias("production"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(registry_->Delete(meta.name()), IsOk());
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path).parent_path()));
  EXPECT_THAT(registry_->Resolve("production"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->Resolve(""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->Delete(meta.name()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->Delete(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ModelRegistryTest, AnAliasRemembersWhereItPointedAndRollsBack) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_THAT(
        registry_->Publish(MakeModel(absl::StrCat("ft:ethscan-base:a:ftjob-", i), 100 * i, 1)),
        IsOk());
  }
  ASSERT_THAT(registry_->SetAlias("production", "ft:ethscan-base:a:ftjob-1"), IsOk());
  ASSERT_THAT(registry_->SetAlias("production", "ft:ethscan-base:a:ftjob-2"), IsOk());
  ASSERT_THAT(registry_->SetAlias("production", "ft:ethscan-base:a:ftjob-3"), IsOk());
  ASSERT_OK_AND_ASSIGN(auto alias, registry_->Alias("production"));
  EXPECT_EQ(alias.first, std::optional<std::string>("ft:ethscan-base:a:ftjob-3"));
  EXPECT_THAT(alias.second, ElementsAre("ft:ethscan-base:a:ftjob-2", "ft:ethscan-base:a:ftjob-1"));
  ASSERT_OK_AND_ASSIGN(v1::Model back, registry_->RollbackAlias("production"));
  EXPECT_EQ(back.name(), "ft:ethscan-base:a:ftjob-2");
  ASSERT_OK_AND_ASSIGN(v1::Model resolved, registry_->Resolve("production"));
  EXPECT_EQ(resolved.name(), "ft:ethscan-base:a:ftjob-2");
  // A model deleted meanwhile is skipped.
  ASSERT_THAT(registry_->Delete("ft:ethscan-base:a:ftjob-1"), IsOk());
  EXPECT_THAT(registry_->RollbackAlias("production"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(resolved, registry_->Resolve("production"));
  EXPECT_EQ(resolved.name(), "ft:ethscan-base:a:ftjob-2");
}

TEST_F(ModelRegistryTest, PruneKeepsTheNewestPerSuffixAndWhatAnAliasOrJobUses) {
  for (int i = 1; i <= 5; ++i) {
    ASSERT_THAT(
        registry_->Publish(MakeModel(absl::StrCat("ft:ethscan-base:demo:ftjob-", i), 100 * i, 1)),
        IsOk());
  }
  ASSERT_THAT(registry_->Publish(MakeModel("ft:ethscan-base:other:ftjob-9", 50, 1)), IsOk());
  ASSERT_THAT(registry_->SetAlias("production", "ft:ethscan-base:demo:ftjob-1"), IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Model> planned, registry_->Prune(2, /*dry_run=*/true));
  std::vector<std::string> names;
  for (const v1::Model& m : planned) names.push_back(m.name());
  // demo-5 and demo-4 are the newest two; demo-1 has an alias; "other" has one model.
  EXPECT_THAT(names, ElementsAre("ft:ethscan-base:demo:ftjob-3", "ft:ethscan-base:demo:ftjob-2"));
  EXPECT_THAT(registry_->Resolve("ft:ethscan-base:demo:ftjob-3"), IsOk());  // Dry run.
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Model> pruned, registry_->Prune(2, /*dry_run=*/false));
  EXPECT_THAT(pruned, SizeIs(2));
  EXPECT_THAT(registry_->Resolve("ft:ethscan-base:demo:ftjob-3"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(registry_->ModelPath("ft:ethscan-base:demo:ftjob-3")));
  EXPECT_THAT(registry_->Resolve("ft:ethscan-base:demo:ftjob-1"), IsOk());
  EXPECT_THAT(registry_->Prune(0, true), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ModelRegistryTest, AModelAnUnfinishedJobContinuesIsKept) {
  ModelRegistry::Options options;
  options.models_dir = dir_ + "/in-use";
  options.job_using = [](absl::string_view model) -> absl::StatusOr<std::optional<std::string>> {
    if (model == "ft:ethscan-base:a:ftjob-1") return std::optional<std::string>("ftjob-2");
    return std::optional<std::string>();
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ModelRegistry> registry,
                       ModelRegistry::Create(options, &store_, &client_));
  ASSERT_THAT(registry->Publish(MakeModel("ft:ethscan-base:a:ftjob-1", 100, 1)), IsOk());
  EXPECT_THAT(
      registry->Delete("ft:ethscan-base:a:ftjob-1"),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("job \"ftjob-2\" continues it")));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Model> pruned, registry->Prune(1, false));
  EXPECT_THAT(pruned, IsEmpty());
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
  for (const char* bad : {"99999999999999999999", "9223372036854775807", "+1", " 1", "-1"}) {
    EXPECT_THAT(registry_->List(0, bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("page_token \"", bad, "\" is not a token"))))
        << bad;
  }
}

TEST_F(ModelRegistryTest, SweepRemovesTheTemporaryFilesOfDeadWritersOnly) {
  const std::string path = registry_->ModelPath("ft:ethscan-base:a:ftjob-sweep");
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());

  ChildWriter dead(path);
  ASSERT_FALSE(dead.temp_path().empty());
  dead.Kill();  // Killed while publishing: its temporary file stays.
  ChildWriter dead_recently(path);
  ASSERT_FALSE(dead_recently.temp_path().empty());
  dead_recently.Kill();
  ChildWriter alive(path);  // Another process still writing, slowly.
  ASSERT_FALSE(alive.temp_path().empty());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AtomicFileWriter> here, AtomicFileWriter::Open(path));
  ASSERT_THAT(here->Append("model bytes"), IsOk());

  Age(dead.temp_path(), absl::Hours(1));
  Age(alive.temp_path(), absl::Hours(1));  // Old, but its writer lives.
  Age(here->temp_path(), absl::Hours(1));
  EXPECT_EQ(registry_->SweepTemporaryFiles(), 1);
  EXPECT_FALSE(std::filesystem::exists(dead.temp_path()));
  EXPECT_TRUE(std::filesystem::exists(dead_recently.temp_path()));  // Younger than the minimum.
  EXPECT_TRUE(std::filesystem::exists(alive.temp_path()));
  EXPECT_TRUE(std::filesystem::exists(here->temp_path()));
  EXPECT_EQ(registry_->SweepTemporaryFiles(), 0);  // A sweep takes no live writer's lock.

  // The writer in this process finishes normally after the sweeps.
  ASSERT_THAT(here->Commit(), IsOk());
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(here->temp_path()));

  alive.Kill();
  Age(dead_recently.temp_path(), absl::Hours(1));
  EXPECT_EQ(registry_->SweepTemporaryFiles(), 2);
  EXPECT_FALSE(std::filesystem::exists(alive.temp_path()));
  EXPECT_FALSE(std::filesystem::exists(dead_recently.temp_path()));
  EXPECT_TRUE(std::filesystem::exists(path));  // The model itself is never touched.
}

TEST_F(ModelRegistryTest, CreateSweepsAndABackgroundThreadKeepsSweeping) {
  const std::string path = registry_->ModelPath("ft:ethscan-base:a:ftjob-bg");
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ChildWriter before(path);
  ASSERT_FALSE(before.temp_path().empty());
  before.Kill();
  Age(before.temp_path(), absl::Hours(1));

  // Another registry on the same volume, as a worker starting up beside the server.
  std::atomic<int> removed{0};
  absl::Notification swept;
  ModelRegistry::Options options;
  options.models_dir = dir_ + "/models";
  options.sweep_interval = absl::Milliseconds(1);
  options.on_sweep = [&](int n) {
    if (n > 0 && removed.fetch_add(n) == 0) swept.Notify();
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ModelRegistry> other,
                       ModelRegistry::Create(options, &store_, &client_));
  EXPECT_FALSE(std::filesystem::exists(before.temp_path()));  // Swept in Create.
  EXPECT_EQ(removed.load(), 0);

  ChildWriter after(path);
  ASSERT_FALSE(after.temp_path().empty());
  after.Kill();
  Age(after.temp_path(), absl::Hours(1));
  ASSERT_TRUE(swept.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(std::filesystem::exists(after.temp_path()));
  other.reset();  // Stops and joins the background thread.
  EXPECT_EQ(removed.load(), 1);
}

TEST_F(ModelRegistryTest, AliasesCannotShadowModelsOrTheBase) {
  ASSERT_OK_AND_ASSIGN(v1::Model model,
                       registry_->Publish(MakeModel("ft:ethscan-base:a:ftjob-1", 100, 1)));
  EXPECT_THAT(registry_->SetAlias("ethscan-base", model.name()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "alias \"ethscan-base\" is the name of a base model; choose another name"));
  EXPECT_THAT(registry_->SetAlias(model.name(), model.name()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model name")));
  // A model stored under a name without "ft:" (none is published so) is not shadowed either.
  v1::Model legacy = model;
  legacy.set_name("legacy");
  ASSERT_THAT(store_.Put(legacy), IsOk());
  EXPECT_THAT(
      registry_->SetAlias("legacy", model.name()),
      StatusIs(absl::StatusCode::kInvalidArgument, "alias \"legacy\" is the name of a model"));
  ASSERT_OK_AND_ASSIGN(v1::Model resolved, registry_->Resolve("legacy"));
  EXPECT_EQ(resolved.name(), "legacy");

  // Model names start with "ft:", so none can equal an alias.
  EXPECT_THAT(registry_->Publish(MakeModel("production", 100, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "model name \"production\" must start with ft:"));
  EXPECT_THAT(registry_->Publish(MakeModel("ethscan-base", 100, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(datasets_.Holders("ds-1"), ElementsAre(absl::StrCat("model/", model.name())));

  for (const char* bad : {"-prod", "_prod", "prod uction", "prod\n", "prod:1", "PROD"}) {
    EXPECT_THAT(registry_->SetAlias(bad, model.name()),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  absl::StatusOr<v1::Model> huge = registry_->SetAlias(std::string(5 << 20, 'a'), model.name());
  EXPECT_THAT(huge, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(5242880 bytes)")));
  EXPECT_LT(huge.status().message().size(), 250u);
  EXPECT_THAT(registry_->SetAlias("0-canary", model.name()), IsOk());
}

TEST(ModelRegistryNamesTest, SanitisesNamesAndValidatesAliases) {
  EXPECT_EQ(SanitiseModelName("ft:ethscan-base:my_suffix:ftjob-0123"),
            "ft_ethscan-base_my_suffix_ftjob-0123");
  EXPECT_EQ(SanitiseModelName("../etc"), ".._etc");
  EXPECT_EQ(SanitiseModelName(".."), "_..");
  EXPECT_THAT(ValidateAlias("production"), IsOk());
  EXPECT_THAT(ValidateAlias("a b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateAlias("ethscan-base"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(IsBaseModelName("ethscan-base"));
  EXPECT_FALSE(IsBaseModelName("production"));
}

}  // namespace
}  // namespace ethscan::training

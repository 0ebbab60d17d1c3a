// `ethscan datasets validate` against the real dataset service (in-process, over the shared
// CryptoScamDB list): the 21 lines that are dropped as invalid are reported before any of the
// file's warnings, grouped by kind with the service's counts, and --all-issues prints each of
// them. Skipped when the shared data folder is absent.
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/dataset/dataset_service_harness.h"
#include "tests/testing/test_paths.h"
#include "tools/cli/cli.h"
#include "tools/cli/command_util.h"

namespace ethscan::cli {
namespace {

using ::testing::HasSubstr;

constexpr char kCryptoScamDb[] = "cryptoscamdb/cryptoscamdb_eth_addresses.csv";
// Invalid lines of the file (data README, section 5).
constexpr int kInvalidLines = 21;

// Dataset stubs over the harness's in-process channel; the CLI asks for nothing else here.
class HarnessClientFactory final : public ClientFactory {
 public:
  explicit HarnessClientFactory(dataset::DatasetServiceHarness* harness) : harness_(harness) {}

  std::unique_ptr<gateway::v1::ScanService::StubInterface> NewScanStub(
      const std::string& /*target*/) override {
    return nullptr;
  }
  std::unique_ptr<dataset::v1::DatasetService::StubInterface> NewDatasetStub(
      const std::string& /*target*/) override {
    return dataset::v1::DatasetService::NewStub(harness_->NewChannel());
  }
  std::unique_ptr<training::v1::TrainingService::StubInterface> NewTrainingStub(
      const std::string& /*target*/) override {
    return nullptr;
  }
  std::unique_ptr<training::v1::ModelRegistryService::StubInterface> NewModelRegistryStub(
      const std::string& /*target*/) override {
    return nullptr;
  }
  std::unique_ptr<inference::v1::InferenceService::StubInterface> NewInferenceStub(
      const std::string& /*target*/) override {
    return nullptr;
  }
  std::unique_ptr<grpc::health::v1::Health::StubInterface> NewHealthStub(
      const std::string& /*target*/) override {
    return nullptr;
  }

 private:
  dataset::DatasetServiceHarness* const harness_;
};

class ValidationReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string data = ethscan::testing::SharedDataDir();
    if (data.empty()) GTEST_SKIP() << "shared data folder (../shared/data) is absent";
    path_ = data + "/" + kCryptoScamDb;
    dataset::DatasetManagerOptions options;
    // Fewer than the file's issues, so that the service must choose which to keep.
    options.max_issues = 25;
    absl::StatusOr<std::unique_ptr<dataset::DatasetServiceHarness>> harness =
        dataset::DatasetServiceHarness::Start(options);
    ASSERT_TRUE(harness.ok()) << harness.status();
    harness_ = *std::move(harness);
  }

  int Run(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    Cli cli(
        std::make_unique<HarnessClientFactory>(harness_.get()),
        [](absl::string_view) { return std::string(); }, out_, err_);
    return cli.Run(args);
  }

  std::string path_;
  std::unique_ptr<dataset::DatasetServiceHarness> harness_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ValidationReportTest, ErrorsComeFirstGroupedByKind) {
  ASSERT_EQ(Run({"datasets", "validate", path_, "--no-progress"}), kExitOk) << err_.str();
  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr(": valid\n"));
  EXPECT_THAT(out, HasSubstr("Errors (lines skipped):\n  invalid_address: 21\n"));
  const size_t errors = out.find("Errors (lines skipped):");
  const size_t warnings = out.find("Warnings (lines kept):");
  ASSERT_NE(warnings, std::string::npos) << out;
  EXPECT_LT(errors, warnings);
  EXPECT_EQ(out.find("(warning)"), out.find("(warning)", warnings)) << out;
  EXPECT_THAT(out.substr(warnings), HasSubstr("  duplicate_conflict: "));
  EXPECT_THAT(out, HasSubstr("(--all-issues prints every issue the service kept)"));
}

TEST_F(ValidationReportTest, AllIssuesPrintsEveryErrorBeforeAnyWarning) {
  ASSERT_EQ(Run({"datasets", "validate", path_, "--no-progress", "--all-issues"}), kExitOk)
      << err_.str();
  std::vector<std::string> lines = absl::StrSplit(out_.str(), '\n');
  int errors = 0;
  bool warning_seen = false;
  for (const std::string& line : lines) {
    if (absl::EndsWith(line, "(warning)")) warning_seen = true;
    if (!absl::EndsWith(line, "(error)")) continue;
    EXPECT_FALSE(warning_seen) << "an error after a warning: " << line;
    EXPECT_THAT(line, HasSubstr("cryptoscamdb_eth_addresses.csv:"));
    EXPECT_THAT(line, HasSubstr(": address: "));
    ++errors;
  }
  EXPECT_EQ(errors, kInvalidLines) << out_.str();
  EXPECT_TRUE(warning_seen) << out_.str();
}

}  // namespace
}  // namespace ethscan::cli

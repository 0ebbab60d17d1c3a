#include "tools/cli/cli.h"

#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_paths.h"
#include "tests/tools/cli/fake_services.h"

namespace ethscan::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kUni[] = "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984";
constexpr char kOfac[] = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
constexpr char kBadChecksum[] = "0x1F9840a85d5aF5bf1D1762F925BDADdC4201F984";

gateway::v1::AddressReport Report(const std::string& address, const std::string& label,
                                  common::v1::RiskLevel level) {
  gateway::v1::AddressReport r;
  r.set_address(address);
  r.set_label(label);
  r.set_risk_level(level);
  r.set_model("ft:ethscan-base:demo:ftjob-0000000000000001");
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ethscan::testing::MakeTempDir("ethscan-cli-test");
    services_.scan().AddReport(Report(kUni, "Legit", common::v1::RISK_LEVEL_LOW), kUni);
    services_.scan().AddReport(Report(kOfac, "Sanctioned", common::v1::RISK_LEVEL_CRITICAL), kOfac);
    services_.scan().AddError(kBadChecksum,
                              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                           "bad EIP-55 checksum: expected " + std::string(kUni)));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs one command line; stdout and stderr land in out_ and err_.
  int Run(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    Cli cli(
        services_.NewFactory(&targets_),
        [this](absl::string_view name) {
          auto it = env_.find(std::string{name});
          return it == env_.end() ? std::string() : it->second;
        },
        out_, err_);
    return cli.Run(args);
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  std::vector<std::string> OutLines() const {
    return absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  }

  ethscan::cli::testing::InProcessServices services_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> targets_;
  std::ostringstream out_;
  std::ostringstream err_;
  std::string dir_;
};

TEST_F(CliTest, ScanPrintsOneReadableReportPerAddress) {
  EXPECT_EQ(Run({"scan", kUni, kOfac, "--model", "production", "--chain-id", "1"}), kExitOk);
  EXPECT_THAT(err_.str(), IsEmpty());
  EXPECT_THAT(out_.str(), HasSubstr(std::string(kUni) + "\n  Name:          -\n"));
  EXPECT_THAT(out_.str(), HasSubstr("  Risk:          LOW (0.00)\n"));
  EXPECT_THAT(out_.str(), HasSubstr("\n\n" + std::string(kOfac) + "\n"));
  EXPECT_THAT(out_.str(), HasSubstr("  Label:         Sanctioned\n"));
  std::vector<gateway::v1::ScanAddressRequest> requests = services_.scan().requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].address(), kUni);
  EXPECT_EQ(requests[1].address(), kOfac);
  EXPECT_EQ(requests[0].model(), "production");
  EXPECT_EQ(requests[0].chain_id(), 1u);
  EXPECT_THAT(targets_, ElementsAre("scan@localhost:50051"));
}

TEST_F(CliTest, ScanJsonPrintsOneObjectPerLineAndNothingElse) {
  EXPECT_EQ(Run({"--json", "scan", kUni, kOfac}), kExitOk);
  std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 2u);
  gateway::v1::AddressReport first, second;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &first).ok()) << lines[0];
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[1], &second).ok()) << lines[1];
  EXPECT_EQ(first.address(), kUni);
  EXPECT_EQ(second.risk_level(), common::v1::RISK_LEVEL_CRITICAL);
}

TEST_F(CliTest, ScanReportsFailedAddressOnStderrAndGoesOn) {
  EXPECT_EQ(Run({"scan", kBadChecksum, kUni}), kExitFailure);
  EXPECT_EQ(err_.str(), std::string(kBadChecksum) +
                            ": INVALID_ARGUMENT: bad EIP-55 checksum: expected " + kUni + "\n");
  EXPECT_THAT(out_.str(), HasSubstr(std::string(kUni) + "\n"));
  EXPECT_EQ(services_.scan().requests().size(), 2u);
}

TEST_F(CliTest, ScanUnavailableGatewayNamesTargetAndSettings) {
  services_.scan().AddError("0x00000000000000000000000000000000000000aa",
                            grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"));
  EXPECT_EQ(
      Run({"--gateway", "gw.example:7", "scan", "0x00000000000000000000000000000000000000aa"}),
      kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("0x00000000000000000000000000000000000000aa: UNAVAILABLE: "
                                    "connection refused\n"));
  EXPECT_THAT(err_.str(), HasSubstr("is the gateway running at gw.example:7? (set --gateway or "
                                    "ETHSCAN_GATEWAY_ADDR)"));
  EXPECT_THAT(targets_, ElementsAre("scan@gw.example:7"));
}

TEST_F(CliTest, EveryCallCarriesDeadlineAndApiKeyWhenSet) {
  ASSERT_EQ(Run({"scan", kUni}), kExitOk);
  env_["ETHSCAN_API_KEY"] = "key-123";
  ASSERT_EQ(Run({"scan", kUni}), kExitOk);
  std::vector<ethscan::cli::testing::CallInfo> calls = services_.scan().calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].api_key, "");
  EXPECT_TRUE(calls[0].has_deadline);
  EXPECT_EQ(calls[1].api_key, "key-123");
  EXPECT_TRUE(calls[1].has_deadline);
}

TEST_F(CliTest, UploadStreamsMetadataThenOneMebibyteChunks) {
  const std::string header = "address,name,symbol,decimals,chainId\n";
  std::string content = header;
  content.resize((5u << 20) / 2, 'x');  // 2.5 MiB
  const std::string path = WriteFile("uniswap_default_mainnet.csv", content);
  ASSERT_EQ(Run({"--dataset-service", "ds:1", "datasets", "upload", path}), kExitOk) << err_.str();
  std::vector<ethscan::cli::testing::FakeDatasetService::Upload> uploads =
      services_.dataset().uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].metadata.name(), "uniswap_default_mainnet");
  EXPECT_EQ(uploads[0].metadata.filename(), "uniswap_default_mainnet.csv");
  EXPECT_EQ(uploads[0].metadata.format(), dataset::v1::DATASET_FORMAT_UNSPECIFIED);
  EXPECT_LT(uploads[0].metadata.max_invalid_fraction(), 0);  // the service default
  EXPECT_THAT(uploads[0].chunk_sizes, ElementsAre(1u << 20, 1u << 20, 1u << 19));
  EXPECT_EQ(uploads[0].bytes, content);
  EXPECT_THAT(targets_, ElementsAre("dataset@ds:1"));
  EXPECT_THAT(out_.str(), HasSubstr(" (new)\n"));
  EXPECT_THAT(out_.str(), HasSubstr("Format detection: detected from header columns"));
  EXPECT_THAT(out_.str(), HasSubstr("  Format:             uniswap_tokens\n"));

  // The same bytes again: the service reports the existing dataset.
  ASSERT_EQ(Run({"datasets", "upload", path}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("(already stored; nothing new written)"));
}

TEST_F(CliTest, UploadPassesNameFormatAndLimits) {
  const std::string path = WriteFile("list.csv", "address,comment,date\n0xab,x,2018-01-01\n");
  ASSERT_EQ(Run({"datasets", "upload", path, "--name", "mew", "--format", "mew_darklist",
                 "--chain-id", "5", "--max-invalid-fraction", "0.2"}),
            kExitOk)
      << err_.str();
  std::vector<ethscan::cli::testing::FakeDatasetService::Upload> uploads =
      services_.dataset().uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].metadata.name(), "mew");
  EXPECT_EQ(uploads[0].metadata.format(), dataset::v1::DATASET_FORMAT_MEW_DARKLIST);
  EXPECT_EQ(uploads[0].metadata.chain_id(), 5u);
  EXPECT_DOUBLE_EQ(uploads[0].metadata.max_invalid_fraction(), 0.2);
}

TEST_F(CliTest, UploadPrintsAtMostTwentyIssues) {
  std::vector<dataset::v1::ValidationIssue> issues(30);
  for (size_t i = 0; i < issues.size(); ++i) {
    issues[i].set_file("f.csv");
    issues[i].set_line(i + 2);
    issues[i].set_field("address");
    issues[i].set_reason("not an address");
    issues[i].set_severity(dataset::v1::ValidationIssue::SEVERITY_ERROR);
  }
  services_.dataset().SetIssues(issues);
  const std::string path = WriteFile("f.csv", "address\n0x1\n");
  ASSERT_EQ(Run({"datasets", "upload", path}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("Issues (30 reported):\n"));
  EXPECT_THAT(out_.str(), HasSubstr("  f.csv:21: address: not an address (error)\n"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("f.csv:22:")));
  EXPECT_THAT(out_.str(), HasSubstr("… and 10 more\n"));
}

TEST_F(CliTest, UploadJsonPrintsTheResponseOnly) {
  const std::string path = WriteFile("tokens.csv", "address,name,symbol,decimals,chainId\n");
  ASSERT_EQ(Run({"datasets", "upload", path, "--json"}), kExitOk);
  std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 1u);
  dataset::v1::UploadDatasetResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &response).ok());
  EXPECT_EQ(response.dataset().name(), "tokens");
  EXPECT_THAT(response.dataset().id(), ::testing::StartsWith("ds-"));
}

TEST_F(CliTest, UploadRejectsUnknownFormatWithoutCalling) {
  const std::string path = WriteFile("x.csv", "address\n");
  EXPECT_EQ(Run({"datasets", "upload", path, "--format", "excel"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("unknown format \"excel\""));
  EXPECT_THAT(services_.dataset().uploads(), IsEmpty());
}

TEST_F(CliTest, UploadOfMissingFileNamesIt) {
  EXPECT_EQ(Run({"datasets", "upload", dir_ + "/missing.csv"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("cannot read " + dir_ + "/missing.csv: No such file"));
  EXPECT_EQ(Run({"datasets", "upload", dir_}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("is a directory"));
}

TEST_F(CliTest, ValidateExitsOneWhenTheFileWouldBeRejected) {
  EXPECT_EQ(Run({"datasets", "validate", WriteFile("good.csv", "address\n0x1\n")}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("good.csv: valid\n"));
  EXPECT_EQ(Run({"datasets", "validate", WriteFile("bad.csv", "REJECT\n")}), kExitFailure);
  EXPECT_THAT(out_.str(), HasSubstr("bad.csv: rejected: too many invalid lines\n"));
}

TEST_F(CliTest, DatasetsListFollowsEveryPage) {
  for (const char* name : {"a.csv", "b.csv", "c.csv"}) {
    ASSERT_EQ(Run({"datasets", "upload", WriteFile(name, std::string(name) + "\n")}), kExitOk);
  }
  services_.dataset().SetPageSize(2);
  ASSERT_EQ(Run({"datasets", "list"}), kExitOk) << err_.str();
  std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 4u);  // header + 3
  EXPECT_THAT(lines[0], ::testing::StartsWith("ID"));
  EXPECT_THAT(lines[1], HasSubstr(" c "));  // newest first
  EXPECT_THAT(lines[3], HasSubstr(" a "));
  ASSERT_EQ(Run({"datasets", "list", "--json"}), kExitOk);
  EXPECT_EQ(OutLines().size(), 2u);  // one response message per page
}

TEST_F(CliTest, DatasetsShowReportsNotFoundWithCode) {
  EXPECT_EQ(Run({"datasets", "show", "ds-nope"}), kExitFailure);
  EXPECT_EQ(err_.str(), "ethscan datasets show: NOT_FOUND: dataset \"ds-nope\" not found\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(CliTest, JobsCreateWatchPrintsEventsAndSucceeds) {
  ASSERT_EQ(Run({"--training-service", "tr:3", "jobs", "create", "--training-dataset", "ds-1",
                 "--extra-dataset", "ds-2", "--extra-dataset", "ds-3", "--suffix", "demo",
                 "--backend", "local", "--epochs", "20", "--watch"}),
            kExitOk)
      << err_.str();
  std::vector<training::v1::CreateJobRequest> requests = services_.training().create_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].training_dataset(), "ds-1");
  EXPECT_THAT(requests[0].extra_training_datasets(), ElementsAre("ds-2", "ds-3"));
  EXPECT_EQ(requests[0].suffix(), "demo");
  EXPECT_EQ(requests[0].backend(), "local");
  EXPECT_EQ(requests[0].hyperparameters().n_epochs(), 20);
  EXPECT_THAT(targets_, ElementsAre("training@tr:3"));
  EXPECT_THAT(out_.str(), HasSubstr("Created job ftjob-0000000000000001 (queued)\n"));
  EXPECT_THAT(out_.str(), HasSubstr("info     training started [running]\n"));
  EXPECT_THAT(out_.str(), HasSubstr("step 10/10  train_loss=0.125\n"));
  EXPECT_THAT(out_.str(),
              HasSubstr("Fine-tuned model: ft:ethscan-base:demo:ftjob-0000000000000001\n"));
  for (const auto& call : services_.training().calls()) EXPECT_TRUE(call.has_deadline);
}

TEST_F(CliTest, JobsCreateWatchJsonPrintsResponsesOnly) {
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--watch", "--json"}), kExitOk);
  std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 5u);  // CreateJobResponse + 4 WatchJobResponses
  training::v1::WatchJobResponse last;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines.back(), &last).ok());
  EXPECT_EQ(last.job().status(), training::v1::JOB_STATUS_SUCCEEDED);
}

TEST_F(CliTest, JobsCreateWatchExitsOneWhenTheJobFails) {
  services_.training().SetOutcome(training::v1::JOB_STATUS_FAILED, "dataset ds-1 is empty");
  EXPECT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--watch"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("job ftjob-0000000000000001 failed: dataset ds-1 is empty"));
}

TEST_F(CliTest, JobsCreateChecksFlagsBeforeCalling) {
  EXPECT_EQ(Run({"jobs", "create", "--suffix", "x"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--training-dataset ID is required"));
  EXPECT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--backend", "gpu"}), kExitUsage);
  EXPECT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--epochs", "many"}), kExitUsage);
  EXPECT_THAT(services_.training().create_requests(), IsEmpty());
}

TEST_F(CliTest, JobsCancelOfFinishedJobIsFailedPrecondition) {
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--watch"}), kExitOk);
  EXPECT_EQ(Run({"jobs", "cancel", "ftjob-0000000000000001"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("ethscan jobs cancel: FAILED_PRECONDITION: job "));
}

TEST_F(CliTest, ModelsAliasListAndDelete) {
  training::v1::Model model;
  model.set_name("ft:ethscan-base:demo:ftjob-1");
  model.set_kind("knowledge");
  services_.models().AddModel(model);
  ASSERT_EQ(Run({"models", "alias", "production", "ft:ethscan-base:demo:ftjob-1"}), kExitOk);
  EXPECT_EQ(out_.str(), "Alias production -> ft:ethscan-base:demo:ftjob-1\n");
  ASSERT_EQ(Run({"models", "list"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("production"));
  ASSERT_EQ(Run({"models", "delete", "ft:ethscan-base:demo:ftjob-1"}), kExitOk);
  EXPECT_THAT(services_.models().models(), IsEmpty());
  EXPECT_EQ(Run({"models", "delete", "ft:ethscan-base:demo:ftjob-1"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("NOT_FOUND"));
  EXPECT_THAT(targets_, ::testing::Each("models@localhost:50053"));
}

TEST_F(CliTest, PredictIsNotAvailableYet) {
  EXPECT_EQ(Run({"predict", "--model", "m", "--input", "f.csv", "--output", "o.csv"}), kExitUsage);
  EXPECT_EQ(err_.str(), "ethscan predict: batch scoring is not available yet\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(CliTest, UsageErrorsExitTwoOnStderr) {
  EXPECT_EQ(Run({"frobnicate"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("ethscan: unknown command \"frobnicate\""));
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(Run({"scan", kUni, "--bogus"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("unknown flag \"--bogus\""));
  EXPECT_EQ(Run({}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("Usage: ethscan"));
  EXPECT_THAT(services_.scan().requests(), IsEmpty());
}

TEST_F(CliTest, HealthExitsZeroOnlyWhenServing) {
  EXPECT_EQ(Run({"health", "127.0.0.1:50051"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "127.0.0.1:50051: SERVING\n");
  EXPECT_THAT(targets_, ElementsAre("health@127.0.0.1:50051"));
  EXPECT_EQ(Run({"health", "127.0.0.1:50051", "--service", "no.such.Service"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("ethscan health: 127.0.0.1:50051: NOT_FOUND"));
  EXPECT_EQ(Run({"health", "no-port"}), kExitUsage);
}

TEST_F(CliTest, HelpGoesToStdoutAndExitsZero) {
  EXPECT_EQ(Run({"help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("Usage: ethscan [GLOBAL FLAGS] COMMAND"));
  EXPECT_EQ(Run({"scan", "--help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("Usage: ethscan scan ADDRESS..."));
  EXPECT_THAT(err_.str(), IsEmpty());
}

}  // namespace
}  // namespace ethscan::cli

#include "tools/cli/cli.h"

#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/eth/hash.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_paths.h"
#include "tests/tools/cli/fake_services.h"
#include "tools/cli/output.h"

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

// A clock that moves 250 ms every time it is read, so rates in progress lines are fixed.
class SteppingClock final : public common::Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    now_ += absl::Milliseconds(250);
    return now_;
  }

 private:
  mutable absl::Mutex mu_;
  mutable absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1767225600);
};

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
    Cli::Options options;
    options.err_is_terminal = terminal_;
    options.clock = &clock_;
    Cli cli(
        services_.NewFactory(&targets_),
        [this](absl::string_view name) {
          auto it = env_.find(std::string{name});
          return it == env_.end() ? std::string() : it->second;
        },
        out_, err_, options);
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
  SteppingClock clock_;
  // Whether the Cli is told that stderr is a terminal.
  bool terminal_ = false;
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

TEST_F(CliTest, UploadAndValidateDeclareTheFilesSizeAndSha256) {
  std::string content = "address,name,symbol,decimals,chainId\n";
  content.resize((3u << 20) / 2, 'x');  // 1.5 MiB: two chunks.
  const std::string path = WriteFile("tokens.csv", content);
  ASSERT_EQ(Run({"datasets", "upload", path}), kExitOk) << err_.str();
  ASSERT_EQ(Run({"datasets", "validate", path}), kExitOk) << err_.str();
  std::vector<ethscan::cli::testing::FakeDatasetService::Upload> uploads =
      services_.dataset().uploads();
  ASSERT_EQ(uploads.size(), 2u);
  for (const auto& upload : uploads) {
    ASSERT_TRUE(upload.metadata.has_size_bytes());
    EXPECT_EQ(upload.metadata.size_bytes(), content.size());
    EXPECT_EQ(upload.metadata.sha256(), eth::Sha256::HexDigest(content));
    // The file was read whole again after hashing.
    EXPECT_EQ(upload.bytes, content);
  }
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

TEST_F(CliTest, UploadPrintsIssuesByKindAndAllOfThemOnRequest) {
  std::vector<dataset::v1::ValidationIssue> issues(30);
  for (size_t i = 0; i < issues.size(); ++i) {
    issues[i].set_file("f.csv");
    issues[i].set_line(i + 2);
    issues[i].set_field("address");
    issues[i].set_kind("invalid_address");
    issues[i].set_reason("not an address");
    issues[i].set_severity(dataset::v1::ValidationIssue::SEVERITY_ERROR);
  }
  services_.dataset().SetIssues(issues);
  const std::string path = WriteFile("f.csv", "address\n0x1\n");
  ASSERT_EQ(Run({"datasets", "upload", path}), kExitOk);
  EXPECT_THAT(out_.str(),
              HasSubstr("Issues: 30 reported (30 errors: lines skipped, 0 warnings: lines "
                        "kept)\nErrors (lines skipped):\n  invalid_address: 30\n"
                        "    f.csv:2: address: not an address (error)\n"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("f.csv:5:")));
  EXPECT_THAT(out_.str(), HasSubstr("    … and 27 more\n"));

  ASSERT_EQ(Run({"datasets", "upload", path, "--all-issues"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("  f.csv:31: address: not an address (error)\n"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("… and")));
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

TEST_F(CliTest, UploadAcceptsEveryUploadableFormatName) {
  const std::string path = WriteFile("any.csv", "address\n");
  for (const std::string& name : UploadFormatNames()) {
    std::vector<std::string> args = {"datasets", "upload", path, "--format", name};
    if (name == "csv_mapping") {
      args.push_back("--mapping");
      args.push_back(WriteFile("m.json", R"({"address_column": "a", "label": {"value": "Scam"}})"));
    }
    if (name == "address_list") {
      args.push_back("--label");
      args.push_back("Scam");
    }
    ASSERT_EQ(Run(args), kExitOk) << name << ": " << err_.str();
    EXPECT_EQ(DatasetFormatName(services_.dataset().uploads().back().metadata.format()), name);
  }
  EXPECT_EQ(services_.dataset().uploads().size(), UploadFormatNames().size());
  ASSERT_EQ(Run({"datasets", "upload", path, "--format", "auto"}), kExitOk);
  EXPECT_EQ(services_.dataset().uploads().back().metadata.format(),
            dataset::v1::DATASET_FORMAT_UNSPECIFIED);
}

TEST_F(CliTest, UploadWithMappingSendsItAsCsvMapping) {
  const std::string mapping = WriteFile("wallets.json", R"({
    "address_column": "Wallet",
    "name": {"column": "Title"},
    "label": {"column": "Verdict", "values": {"bad": "Scam", "ok": "Legit"}},
    "tags": {"column": "Tags", "separator": "|"},
    "features": [{"column": "Sent tnx", "kind": "KIND_NUMBER"}],
    "missingValues": ["None"]
  })");
  const std::string path = WriteFile("wallets.csv", "Wallet,Title,Verdict,Tags,Sent tnx\n");
  ASSERT_EQ(Run({"datasets", "upload", path, "--mapping", mapping, "--name", "mine"}), kExitOk)
      << err_.str();
  std::vector<ethscan::cli::testing::FakeDatasetService::Upload> uploads =
      services_.dataset().uploads();
  ASSERT_EQ(uploads.size(), 1u);
  const dataset::v1::UploadMetadata& m = uploads[0].metadata;
  EXPECT_EQ(m.name(), "mine");
  EXPECT_EQ(m.format(), dataset::v1::DATASET_FORMAT_CSV_MAPPING);
  EXPECT_EQ(m.column_mapping().address_column(), "Wallet");
  EXPECT_EQ(m.column_mapping().label().column(), "Verdict");
  EXPECT_EQ(m.column_mapping().label().values().at("bad"), "Scam");
  EXPECT_EQ(m.column_mapping().tags().separator(), "|");
  ASSERT_EQ(m.column_mapping().features_size(), 1);
  EXPECT_EQ(m.column_mapping().features(0).kind(), dataset::v1::FeatureColumn::KIND_NUMBER);
  EXPECT_THAT(m.column_mapping().missing_values(), ElementsAre("None"));
  EXPECT_TRUE(m.label().empty());
}

TEST_F(CliTest, UploadWithBadMappingNamesFileAndProblemWithoutCalling) {
  const std::string path = WriteFile("x.csv", "a\n");
  const std::string syntax = WriteFile("syntax.json", "{\n  \"address_column\" \"a\"\n}\n");
  EXPECT_EQ(Run({"datasets", "upload", path, "--mapping", syntax}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr(syntax + ":2:22: not valid JSON: syntax error while parsing "
                                             "object separator - unexpected string literal; "
                                             "expected ':'"));

  const std::string unknown =
      WriteFile("unknown.json", R"({"address_col": "a", "label": {"value": "Scam"}})");
  EXPECT_EQ(Run({"datasets", "upload", path, "--mapping", unknown}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr(unknown + ": not a ColumnMapping: unknown field "
                                              "\"address_col\" in a ColumnMapping (its fields: "
                                              "address_column, name,"));

  const std::string no_label = WriteFile("no_label.json", R"({"address_column": "a"})");
  EXPECT_EQ(Run({"datasets", "upload", path, "--mapping", no_label}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr(no_label + ": \"label\" needs a \"column\" or a constant"));

  EXPECT_EQ(Run({"datasets", "upload", path, "--mapping", dir_ + "/none.json"}), kExitFailure);
  EXPECT_THAT(err_.str(),
              HasSubstr("cannot read mapping file " + dir_ + "/none.json: No such file"));
  EXPECT_THAT(services_.dataset().uploads(), IsEmpty());
}

TEST_F(CliTest, UploadAddressListCarriesLabelAndTags) {
  const std::string path = WriteFile("drainers.txt", std::string(kUni) + "\n");
  ASSERT_EQ(Run({"datasets", "upload", path, "--label", "Phish / Hack", "--tag", "drainer", "--tag",
                 "reported"}),
            kExitOk)
      << err_.str();
  const dataset::v1::UploadMetadata m = services_.dataset().uploads().at(0).metadata;
  EXPECT_EQ(m.format(), dataset::v1::DATASET_FORMAT_ADDRESS_LIST);
  EXPECT_EQ(m.label(), "Phish / Hack");
  EXPECT_THAT(m.tags(), ElementsAre("drainer", "reported"));
  EXPECT_FALSE(m.has_column_mapping());
}

TEST_F(CliTest, UploadRejectsFlagsThatDoNotGoTogether) {
  const std::string path = WriteFile("x.csv", "a\n");
  const std::string mapping =
      WriteFile("m.json", R"({"address_column": "a", "label": {"value": "Scam"}})");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--label", "Scam", "--format", "mew_darklist"}, "--label implies --format address_list"},
      {{"--format", "address_list"}, "--format address_list needs --label L"},
      {{"--tag", "x"}, "--tag goes with --label"},
      {{"--format", "csv_mapping"}, "--format csv_mapping needs --mapping FILE.json"},
      {{"--mapping", mapping, "--format", "ofac_sdn"}, "--mapping implies --format csv_mapping"},
      {{"--mapping", mapping, "--label", "Scam"}, "do not go together"},
      {{"--format", "merged"}, "cannot be uploaded"},
      {{"--label", "phishing"}, "\"phishing\" is not a report label; use one of: Unknown, Legit"},
      {{"--progress", "--no-progress"}, "contradict"},
      {{"--max-invalid-fraction", "2"}, "between 0 and 1"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = {"datasets", "upload", path};
    args.insert(args.end(), flags.begin(), flags.end());
    EXPECT_EQ(Run(args), kExitUsage) << message;
    EXPECT_THAT(err_.str(), HasSubstr(message));
  }
  EXPECT_THAT(services_.dataset().uploads(), IsEmpty());
}

TEST_F(CliTest, UploadDrawsNoProgressWhenStderrIsNotATerminal) {
  const std::string path = WriteFile("tokens.csv", std::string(3u << 20, 'x'));
  ASSERT_EQ(Run({"datasets", "upload", path}), kExitOk);
  EXPECT_THAT(err_.str(), IsEmpty());
  terminal_ = true;
  ASSERT_EQ(Run({"datasets", "upload", path, "--no-progress"}), kExitOk);
  EXPECT_THAT(err_.str(), IsEmpty());
  // Scripts read --json output; the bar stays off unless --progress asks for it.
  ASSERT_EQ(Run({"--json", "datasets", "upload", path}), kExitOk);
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(CliTest, UploadDrawsProgressOnATerminalAndClosesWithRates) {
  terminal_ = true;
  const std::string path = WriteFile("tokens.csv", std::string(3u << 20, 'x') + "\n\n");
  ASSERT_EQ(Run({"datasets", "upload", path}), kExitOk) << err_.str();
  const std::string err = err_.str();
  // Every state of the bar starts with a carriage return; the clock moves 250 ms a reading.
  EXPECT_THAT(err, HasSubstr("\r[######..............]  33%  1.0 MB / 3.1 MB"));
  EXPECT_THAT(err, HasSubstr("\r[####################] 100%  3.1 MB / 3.1 MB"));
  EXPECT_THAT(err, HasSubstr("sent; the service is validating"));
  EXPECT_THAT(err, ::testing::MatchesRegex(
                       "(.|\n|\r)*\rSent 3.1 MB in [0-9.]+ s \\([0-9.]+ MB/s\\); 1 record in "
                       "[0-9.]+ s \\([0-9]+ records/s\\) *\n"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("\r")));
  EXPECT_THAT(out_.str(), HasSubstr("Uploaded " + path + " as dataset ds-"));
}

TEST_F(CliTest, UploadProgressCanBeForcedAndNeverReachesJsonStdout) {
  const std::string path = WriteFile("tokens.csv", "address\n0x1\n");
  ASSERT_EQ(Run({"--json", "datasets", "upload", path, "--progress"}), kExitOk);
  EXPECT_THAT(err_.str(), HasSubstr("\rSent 12 B in "));
  ASSERT_EQ(OutLines().size(), 1u);
  dataset::v1::UploadDatasetResponse response;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(OutLines()[0], &response).ok());
}

TEST_F(CliTest, RejectedUploadErasesTheBarAndPrintsTheServiceReason) {
  services_.dataset().SetError(
      "UploadDataset",
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                   "list.csv:7: address: invalid address: 39 hex digits, need 40"));
  terminal_ = true;
  const std::string path = WriteFile("list.csv", std::string(2u << 20, 'x'));
  EXPECT_EQ(Run({"datasets", "upload", path}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("ethscan datasets upload: INVALID_ARGUMENT: list.csv:7: "
                                    "address: invalid address: 39 hex digits, need 40\n"));
  EXPECT_THAT(err_.str(), Not(HasSubstr("Sent ")));
  EXPECT_THAT(out_.str(), IsEmpty());
}

dataset::v1::MergeDatasetsResponse MergeResponse() {
  dataset::v1::MergeDatasetsResponse r;
  dataset::v1::Dataset* d = r.mutable_dataset();
  d->set_id("ds-00000000000000mm");
  d->set_name("all-labels");
  d->set_format(dataset::v1::DATASET_FORMAT_MERGED);
  d->set_record_count(3);
  d->set_address_count(2);
  d->mutable_merge_origin()->add_parent_ids("ds-00000000000000aa");
  d->mutable_merge_origin()->add_parent_ids("ds-00000000000000bb");
  d->mutable_merge_origin()->set_conflict_count(2);
  r.set_conflict_count(2);
  dataset::v1::MergeConflict* c = r.add_conflicts();
  c->set_address(kOfac);
  c->set_field("label");
  c->mutable_chosen()->set_value("Sanctioned");
  c->mutable_chosen()->set_source("ofac_sdn");
  dataset::v1::SourcedValue* over = c->add_overruled();
  over->set_value("Heist");
  over->set_source("etherscan_labels");
  c->set_rule("OFAC decides sanctions");
  c = r.add_conflicts();
  c->set_address(kUni);
  c->set_field("name");
  c->mutable_chosen()->set_value("Uniswap (UNI)");
  c->mutable_chosen()->set_source("uniswap_tokens");
  over = c->add_overruled();
  over->set_value("UNI token");
  over->set_source("etherscan_labels");
  over = c->add_overruled();
  over->set_value("Uniswap");
  over->set_source("cryptoscamdb");
  c->set_rule("dataset priority");
  return r;
}

TEST_F(CliTest, MergePrintsTheMergedDatasetAndEveryConflict) {
  services_.dataset().SetMergeResponse(MergeResponse());
  ASSERT_EQ(Run({"datasets", "merge", "ds-00000000000000aa", "ds-00000000000000bb", "--name",
                 "all-labels"}),
            kExitOk)
      << err_.str();
  std::vector<dataset::v1::MergeDatasetsRequest> requests = services_.dataset().merge_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0].ids(), ElementsAre("ds-00000000000000aa", "ds-00000000000000bb"));
  EXPECT_EQ(requests[0].name(), "all-labels");
  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("Merged 2 datasets into ds-00000000000000mm (new)\n"));
  EXPECT_THAT(out, HasSubstr("  Format:             merged\n"));
  EXPECT_THAT(out, HasSubstr("  Merged from:        ds-00000000000000aa, ds-00000000000000bb "
                             "(highest priority first; 2 conflicts resolved)\n"));
  EXPECT_THAT(out, HasSubstr("Conflicts resolved: 2\n"));
  EXPECT_THAT(out, ::testing::ContainsRegex(std::string(kOfac) +
                                            " +label +Sanctioned \\(ofac_sdn\\) +Heist "
                                            "\\(etherscan_labels\\) +OFAC decides sanctions\n"));
  EXPECT_THAT(out, HasSubstr("UNI token (etherscan_labels); Uniswap (cryptoscamdb)"));

  ASSERT_EQ(Run({"datasets", "merge", "ds-a", "ds-b", "--name", "x", "--show-conflicts", "1"}),
            kExitOk);
  EXPECT_THAT(out_.str(), Not(HasSubstr(kUni)));
  EXPECT_THAT(out_.str(), HasSubstr("… and 1 more (--show-conflicts 0 prints them all"));
}

TEST_F(CliTest, MergeJsonPrintsTheFullResponse) {
  services_.dataset().SetMergeResponse(MergeResponse());
  ASSERT_EQ(
      Run({"--json", "datasets", "merge", "ds-a", "ds-b", "--name", "x", "--show-conflicts", "1"}),
      kExitOk);
  ASSERT_EQ(OutLines().size(), 1u);
  dataset::v1::MergeDatasetsResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(OutLines()[0], &response).ok());
  EXPECT_EQ(response.conflicts_size(), 2);
}

TEST_F(CliTest, MergeNeedsANameAndTwoIds) {
  EXPECT_EQ(Run({"datasets", "merge", "ds-a", "ds-b"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--name N is required"));
  EXPECT_EQ(Run({"datasets", "merge", "ds-a", "--name", "x"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("missing argument ID ID..."));
  EXPECT_THAT(services_.dataset().merge_requests(), IsEmpty());
}

TEST_F(CliTest, DeleteSaysWhatItDeleted) {
  dataset::v1::Dataset d;
  d.set_id("ds-00000000000000aa");
  services_.dataset().AddDataset(d);
  ASSERT_EQ(Run({"datasets", "delete", "ds-00000000000000aa"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "Deleted dataset ds-00000000000000aa and its records.\n");
  EXPECT_THAT(services_.dataset().stored_ids(), IsEmpty());
  EXPECT_EQ(Run({"datasets", "delete", "ds-00000000000000aa"}), kExitFailure);
  EXPECT_EQ(err_.str(),
            "ethscan datasets delete: NOT_FOUND: dataset \"ds-00000000000000aa\" not found\n");
}

TEST_F(CliTest, DeleteOfAReferencedDatasetListsTheHolders) {
  dataset::v1::Dataset d;
  d.set_id("ds-00000000000000aa");
  d.add_referenced_by("job/ftjob-0000000000000001");
  d.add_referenced_by("model/ft:ethscan-base:demo:ftjob-0000000000000001");
  services_.dataset().AddDataset(d);
  EXPECT_EQ(Run({"datasets", "delete", "ds-00000000000000aa"}), kExitFailure);
  EXPECT_EQ(err_.str(),
            "ethscan datasets delete: FAILED_PRECONDITION: dataset ds-00000000000000aa is still "
            "referenced by:\n"
            "  job/ftjob-0000000000000001\n"
            "  model/ft:ethscan-base:demo:ftjob-0000000000000001\n"
            "It can be deleted once no job or model references it and the datasets split or "
            "merged from it (dataset/ID) are deleted.\n");
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_THAT(services_.dataset().stored_ids(), ElementsAre("ds-00000000000000aa"));
}

TEST_F(CliTest, ShowPrintsMergeOriginAndReferences) {
  dataset::v1::Dataset d = MergeResponse().dataset();
  d.add_referenced_by("job/ftjob-1");
  services_.dataset().AddDataset(d);
  ASSERT_EQ(Run({"datasets", "show", d.id()}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("  Merged from:        ds-00000000000000aa"));
  EXPECT_THAT(out_.str(), HasSubstr("  Referenced by:      job/ftjob-1\n"));
}

TEST_F(CliTest, StatsSendsPriceAndLimitAndPrintsTokensAndCost) {
  dataset::v1::GetDatasetStatsResponse stats;
  stats.set_record_count(12);
  stats.set_address_count(10);
  (*stats.mutable_source_counts())["ofac_sdn"] = 7;
  (*stats.mutable_source_counts())["uniswap_tokens"] = 5;
  stats.set_multi_source_address_count(2);
  dataset::v1::FeatureCoverage* f = stats.add_feature_coverage();
  f->set_name("Sent tnx");
  f->set_record_count(9);
  f->set_share(0.75);
  dataset::v1::ChatExportStats* chat = stats.mutable_chat_export();
  chat->set_example_count(10);
  chat->set_total_tokens(1500);
  chat->set_min_example_tokens(120);
  chat->set_max_example_tokens(180);
  chat->set_mean_example_tokens(150);
  chat->set_example_token_limit(4096);
  chat->set_price_per_million_tokens(25);
  chat->set_estimated_cost_per_epoch(0.0375);
  chat->set_token_counting("bytes / 4, rounded up, plus 3 tokens per message");
  services_.dataset().SetStatsResponse(stats);
  ASSERT_EQ(Run({"datasets", "stats", "ds-1", "--price-per-million-tokens", "25",
                 "--max-example-tokens", "4096"}),
            kExitOk)
      << err_.str();
  std::vector<dataset::v1::GetDatasetStatsRequest> requests = services_.dataset().stats_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].id(), "ds-1");
  EXPECT_DOUBLE_EQ(requests[0].price_per_million_tokens(), 25);
  EXPECT_EQ(requests[0].max_example_tokens(), 4096u);
  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("  Sources:            ofac_sdn 7, uniswap_tokens 5\n"));
  EXPECT_THAT(out, HasSubstr("  Overlap:            2 addresses in more than one source\n"));
  EXPECT_THAT(out, HasSubstr("  Feature coverage:   Sent tnx: 9 records (75.0%)\n"));
  EXPECT_THAT(out, HasSubstr("  Chat export:        10 examples, 1500 tokens (per example min "
                             "120, mean 150.0, max 180)\n"));
  EXPECT_THAT(out, HasSubstr("  Token limit:        4096 per example, 0 over it\n"));
  EXPECT_THAT(out, HasSubstr("  Cost per epoch:     0.04 (at 25 per million tokens)\n"));
}

TEST_F(CliTest, StatsRejectsANegativePriceWithoutCalling) {
  EXPECT_EQ(Run({"datasets", "stats", "ds-1", "--price-per-million-tokens", "-1"}), kExitUsage);
  EXPECT_EQ(Run({"datasets", "stats", "ds-1", "--max-example-tokens", "99999999999"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("too large"));
  EXPECT_THAT(services_.dataset().stats_requests(), IsEmpty());
}

TEST_F(CliTest, ExportWritesTheChunksToTheOutputFile) {
  services_.dataset().SetExport({"address,chain_id\n", "0xab,1\n"});
  const std::string output = dir_ + "/records.csv";
  ASSERT_EQ(Run({"datasets", "export", "ds-1", "--format", "csv", "--max-example-tokens", "512",
                 "-o", output}),
            kExitOk)
      << err_.str();
  std::vector<dataset::v1::ExportDatasetRequest> requests = services_.dataset().export_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].format(), dataset::v1::EXPORT_FORMAT_CSV);
  EXPECT_EQ(requests[0].max_example_tokens(), 512u);
  std::ifstream in(output, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), "address,chain_id\n0xab,1\n");
  EXPECT_FALSE(std::filesystem::exists(output + ".partial"));
  EXPECT_EQ(err_.str(), "Wrote 24 B to " + output + "\n");
  EXPECT_THAT(out_.str(), IsEmpty());

  ASSERT_EQ(Run({"datasets", "export", "ds-1"}), kExitOk);  // chat to stdout by default
  EXPECT_EQ(services_.dataset().export_requests().back().format(),
            dataset::v1::EXPORT_FORMAT_CHAT_JSONL);
  EXPECT_EQ(out_.str(), "address,chain_id\n0xab,1\n");
}

TEST_F(CliTest, FailedExportLeavesNoFile) {
  services_.dataset().SetExport(
      {"{\"messages\":[]}\n"},
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                   "example for 0xab has 70000 tokens, over the limit of 65536"));
  const std::string output = dir_ + "/chat.jsonl";
  EXPECT_EQ(Run({"datasets", "export", "ds-1", "--output", output}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("FAILED_PRECONDITION: example for 0xab has 70000 tokens"));
  EXPECT_FALSE(std::filesystem::exists(output));
  EXPECT_FALSE(std::filesystem::exists(output + ".partial"));
  EXPECT_EQ(Run({"datasets", "export", "ds-1", "--format", "parquet"}), kExitUsage);
}

TEST_F(CliTest, SplitPrintsOnlyTheSidesItMade) {
  ASSERT_EQ(Run({"datasets", "split", "ds-1", "--train", "0.9", "--validation", "0", "--test",
                 "0.1", "--seed", "7"}),
            kExitOk)
      << err_.str();
  std::vector<dataset::v1::SplitDatasetRequest> requests = services_.dataset().split_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].seed(), 7u);
  EXPECT_THAT(OutLines(),
              ElementsAre(::testing::StartsWith("PART"), ::testing::StartsWith("train "),
                          ::testing::StartsWith("test ")));
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

TEST_F(CliTest, JobsCreateSendsMetadataSeedAndIdempotencyKey) {
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--metadata", "team=risk",
                 "--metadata", "note=a=b", "--seed", "7", "--idempotency-key", "retry-1"}),
            kExitOk)
      << err_.str();
  std::vector<training::v1::CreateJobRequest> requests = services_.training().create_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].metadata().at("team"), "risk");
  EXPECT_EQ(requests[0].metadata().at("note"), "a=b");
  EXPECT_EQ(requests[0].hyperparameters().seed(), 7u);
  EXPECT_EQ(requests[0].idempotency_key(), "retry-1");
  EXPECT_THAT(out_.str(), HasSubstr("Metadata"));
  EXPECT_THAT(out_.str(), HasSubstr("note=a=b, team=risk"));

  EXPECT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--metadata", "novalue"}),
            kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--metadata \"novalue\" must be KEY=VALUE"));
  EXPECT_EQ(services_.training().create_requests().size(), 1u);
}

TEST_F(CliTest, JobsListFiltersAndPagesByJobId) {
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1"}), kExitOk);
  ASSERT_EQ(Run({"jobs", "list", "--status", "queued", "--metadata", "team=risk", "--limit", "2"}),
            kExitOk)
      << err_.str();
  std::vector<training::v1::ListJobsRequest> requests = services_.training().list_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].status(), training::v1::JOB_STATUS_QUEUED);
  EXPECT_EQ(requests[0].metadata().at("team"), "risk");
  EXPECT_EQ(requests[0].limit(), 2);
  EXPECT_THAT(out_.str(), HasSubstr("ftjob-0000000000000003"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("ftjob-0000000000000001")));

  EXPECT_EQ(Run({"jobs", "list", "--after", "ftjob-0000000000000003"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("ftjob-0000000000000001"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("ftjob-0000000000000003")));

  EXPECT_EQ(Run({"jobs", "list", "--status", "paused"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--status \"paused\" must be"));
  EXPECT_EQ(Run({"jobs", "list", "--limit", "0"}), kExitUsage);
}

TEST_F(CliTest, JobsDeadLettersListsJobsThatFailedForGood) {
  EXPECT_EQ(Run({"jobs", "dead-letters"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("(no job failed for good)"));
  services_.training().SetOutcome(training::v1::JOB_STATUS_FAILED, "dataset service: unavailable");
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--watch"}), kExitFailure);
  ASSERT_EQ(Run({"jobs", "dead-letters", "--limit", "5"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("FAILED"));
  EXPECT_THAT(out_.str(), HasSubstr("ftjob-0000000000000001"));
  EXPECT_THAT(out_.str(), HasSubstr("dataset service: unavailable"));
  EXPECT_EQ(Run({"jobs", "dead-letters", "--limit", "x"}), kExitUsage);
}

TEST_F(CliTest, ModelsAliasTakesAModelOrExactlyOneOfItsModes) {
  EXPECT_EQ(Run({"models", "alias", "production"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--rollback, --delete, --history"));
  EXPECT_EQ(Run({"models", "alias", "production", "ft:a:b:c", "--rollback"}), kExitUsage);
  EXPECT_EQ(Run({"models", "alias", "production", "--rollback", "--delete"}), kExitUsage);
  EXPECT_EQ(Run({"models", "prune", "--keep", "0"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--keep \"0\" must be a number of at least 1"));
}

TEST_F(CliTest, JobsWatchResumesAfterAnEvent) {
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1"}), kExitOk);
  Run({"jobs", "watch", "ftjob-0000000000000001", "--after", "1700000000000-3"});
  std::vector<training::v1::WatchJobRequest> requests = services_.training().watch_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].after(), "1700000000000-3");
}

TEST_F(CliTest, JobsWatchDrawsATrainingBarOnATerminalOnly) {
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--watch"}), kExitOk);
  EXPECT_THAT(err_.str(), IsEmpty());
  terminal_ = true;
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--watch"}), kExitOk);
  EXPECT_THAT(err_.str(), HasSubstr("]  10/10"));
  EXPECT_THAT(err_.str(), HasSubstr("\r\x1b[K"));  // Erased before the lines that follow.
  EXPECT_THAT(out_.str(), Not(HasSubstr("]  10/10")));
  ASSERT_EQ(Run({"--json", "jobs", "create", "--training-dataset", "ds-1", "--watch"}), kExitOk);
  EXPECT_THAT(err_.str(), IsEmpty());
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

TEST_F(CliTest, JobsCreateSetsOnlyTheHyperparametersGiven) {
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1"}), kExitOk) << err_.str();
  ASSERT_EQ(Run({"jobs",
                 "create",
                 "--training-dataset",
                 "ds-1",
                 "--test-dataset",
                 "ds-t",
                 "--validation-dataset",
                 "ds-v",
                 "--epochs",
                 "0",
                 "--learning-rate",
                 "0.05",
                 "--batch-size",
                 "512",
                 "--max-depth",
                 "4",
                 "--min-child-weight",
                 "0",
                 "--colsample",
                 "0.8",
                 "--scale-pos-weight",
                 "3.5",
                 "--early-stopping-patience",
                 "20",
                 "--feature-set",
                 "transaction",
                 "--seed",
                 "7",
                 "--evaluate-other-feature-set"}),
            kExitOk)
      << err_.str();
  std::vector<training::v1::CreateJobRequest> requests = services_.training().create_requests();
  ASSERT_EQ(requests.size(), 2u);
  const training::v1::Hyperparameters& none = requests[0].hyperparameters();
  EXPECT_FALSE(none.has_n_epochs());
  EXPECT_FALSE(none.has_learning_rate_multiplier());
  EXPECT_FALSE(none.has_seed());
  EXPECT_FALSE(none.has_learning_rate());
  EXPECT_FALSE(none.has_batch_size());
  EXPECT_FALSE(none.has_early_stopping_patience());
  EXPECT_EQ(none.feature_set(), "");
  EXPECT_EQ(requests[1].test_dataset(), "ds-t");
  EXPECT_EQ(requests[1].validation_dataset(), "ds-v");
  const training::v1::Hyperparameters& h = requests[1].hyperparameters();
  ASSERT_TRUE(h.has_n_epochs());  // Given as 0 (auto), still sent as given.
  EXPECT_EQ(h.n_epochs(), 0);
  EXPECT_FALSE(h.has_learning_rate_multiplier());
  EXPECT_DOUBLE_EQ(h.learning_rate(), 0.05);
  EXPECT_EQ(h.batch_size(), 512);
  EXPECT_EQ(h.max_depth(), 4);
  ASSERT_TRUE(h.has_min_child_weight());
  EXPECT_DOUBLE_EQ(h.min_child_weight(), 0);
  EXPECT_DOUBLE_EQ(h.colsample(), 0.8);
  EXPECT_DOUBLE_EQ(h.scale_pos_weight(), 3.5);
  EXPECT_EQ(h.early_stopping_patience(), 20);
  EXPECT_EQ(h.feature_set(), "transaction");
  EXPECT_EQ(h.seed(), 7u);
  EXPECT_TRUE(h.evaluate_other_feature_set());
  EXPECT_FALSE(none.evaluate_other_feature_set());
  EXPECT_THAT(out_.str(), HasSubstr("  Test dataset:       ds-t\n"));
  EXPECT_THAT(out_.str(), HasSubstr("learning_rate 0.05, batch_size 512, max_depth 4"));
}

TEST_F(CliTest, JobsCreateRejectsBadHyperparametersWithoutCalling) {
  EXPECT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--feature-set", "erc20"}),
            kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--feature-set \"erc20\" must be all or transaction"));
  EXPECT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--max-depth", "3000000000"}),
            kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--max-depth 3000000000 is too large"));
  EXPECT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--colsample", "most"}),
            kExitUsage);
  EXPECT_THAT(services_.training().create_requests(), IsEmpty());
}

TEST_F(CliTest, JobsShowPrintsStepAndTheHyperparametersUsed) {
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--watch"}), kExitOk);
  ASSERT_EQ(Run({"jobs", "show", "ftjob-0000000000000001"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("  Hyperparameters:    auto\n"));
  EXPECT_THAT(out_.str(), HasSubstr("  Step:               10/10\n"));
  EXPECT_THAT(out_.str(), HasSubstr("  Used:               learning_rate  0.1\n"
                                    "                      n_epochs       4\n"));
}

// A training's events as the worker reports them: a step line per boosting round.
std::vector<training::v1::JobEvent> StepEvents(int last, int total) {
  std::vector<training::v1::JobEvent> events;
  for (int step = 1; step <= last; ++step) {
    training::v1::JobEvent e;
    e.set_level("info");
    e.set_type("metrics");
    e.set_message(absl::StrCat("Step ", step, "/", total, ": training loss=0.1"));
    (*e.mutable_metrics())["step"] = step;
    (*e.mutable_metrics())["total_steps"] = total;
    (*e.mutable_metrics())["train_loss"] = 0.1;
    events.push_back(e);
  }
  return events;
}

TEST_F(CliTest, JobsWatchPrintsAStepLinePerEpochAndTheLastOne) {
  std::vector<training::v1::JobEvent> events = StepEvents(130, 300);
  training::v1::JobEvent stopped;
  stopped.set_level("info");
  stopped.set_type("message");
  stopped.set_message("early stopping at step 130: best round 110");
  events.push_back(stopped);
  services_.training().SetTrainingEvents(events);
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1", "--watch"}), kExitOk);
  std::vector<std::string> steps;
  for (const std::string& line : OutLines()) {
    if (line.find("Step ") != std::string::npos) steps.push_back(line.substr(line.find("Step ")));
  }
  EXPECT_THAT(steps,
              ElementsAre("Step 50/300: training loss=0.1", "Step 100/300: training loss=0.1",
                          "Step 130/300: training loss=0.1"));
  EXPECT_THAT(out_.str(), HasSubstr("Step 130/300: training loss=0.1\n"
                                    "-  info     early stopping at step 130: best round 110\n"));
  EXPECT_EQ(OutLines().back(), "Fine-tuned model: ft:ethscan-base:custom:ftjob-0000000000000001");
  // --json prints every event.
  ASSERT_EQ(Run({"jobs", "watch", "ftjob-0000000000000001", "--json"}), kExitOk);
  EXPECT_EQ(OutLines().size(), 2u + 130u + 1u + 1u);
}

TEST_F(CliTest, JobsCheckpointsListsStepModelAndLosses) {
  ASSERT_EQ(Run({"jobs", "create", "--training-dataset", "ds-1"}), kExitOk);
  training::v1::Checkpoint c;
  c.set_id("ft:ethscan-base:custom:ftjob-0000000000000001:ckpt-step-50");
  c.set_model(c.id());
  c.set_step(50);
  (*c.mutable_metrics())["train_loss"] = 0.08125;
  (*c.mutable_metrics())["valid_loss"] = 0.094;
  (*c.mutable_metrics())["epoch"] = 1;
  services_.training().SetCheckpoints({c});
  ASSERT_EQ(Run({"jobs", "checkpoints", "ftjob-0000000000000001"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(),
              ElementsAre(::testing::StartsWith("STEP  MODEL"),
                          "50    ft:ethscan-base:custom:ftjob-0000000000000001:ckpt-step-50  "
                          "0.0813      0.0940      -"));
  EXPECT_EQ(Run({"jobs", "checkpoints", "ftjob-0000000000000009"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("NOT_FOUND"));
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

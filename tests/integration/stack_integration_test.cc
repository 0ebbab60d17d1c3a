// The whole system, for real: a redis-server and all five services as processes on free
// loopback ports. Real label files from the shared data are uploaded, a fine-tuning job runs
// on a worker, and scans through the gateway are checked field by field against the files.
#include <google/protobuf/descriptor.pb.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/eth/address.h"
#include "common/features/schema.h"
#include "common/grpc/channel.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "ethscan/gateway/v1/scan_service.grpc.pb.h"
#include "ethscan/inference/v1/inference_service.grpc.pb.h"
#include "ethscan/training/v1/model_registry_service.grpc.pb.h"
#include "ethscan/training/v1/training_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/reflection_client.h"
#include "tests/testing/child_process.h"
#include "tests/testing/free_port.h"
#include "tests/testing/python_fake.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

// One CSV row as column name → value. A deliberately small RFC-4180 reader, independent of
// the dataset service's own, so the test checks the service against the file.
using Row = std::map<std::string, std::string>;

std::vector<Row> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < content.size(); ++i) {
    char c = content[i];
    if (quoted) {
      if (c == '"' && i + 1 < content.size() && content[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field);
      field.clear();
    } else if (c == '\n') {
      rows.back().push_back(field);
      field.clear();
      rows.emplace_back();
    } else if (c != '\r') {
      field += c;
    }
  }
  if (!field.empty() || !rows.back().empty()) rows.back().push_back(field);
  if (rows.back().empty()) rows.pop_back();
  std::vector<Row> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    Row row;
    for (size_t c = 0; c < rows[0].size() && c < rows[r].size(); ++c) {
      row[std::string(absl::StripAsciiWhitespace(rows[0][c]))] = rows[r][c];
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::string Lower(const std::string& s) { return absl::AsciiStrToLower(s); }

constexpr char kRedisPassword[] = "stack-it-Redis-Secret-91c2";
constexpr char kEtherscanKey[] = "stack-it-Etherscan-Key-5e0a";

// Everything the suite starts, shared by its tests.
struct Stack {
  std::string dir;
  std::unique_ptr<RedisServer> redis;
  std::map<std::string, int> ports;
  std::map<std::string, std::unique_ptr<ChildProcess>> processes;
  std::map<std::string, std::string> dataset_ids;  // file key → dataset id
  std::string model;
  // The model with a classifier that ClassifierScoresAnAddressNoListNames trains.
  std::string behaviour_model;
  // The fake chain (Etherscan V2 and JSON-RPC) of LiveChainData…; its fixture's roles.
  PythonFake chain;
  nlohmann::json chain_roles;
  std::string failure;

  std::string Target(const std::string& service) const {
    return absl::StrCat("127.0.0.1:", ports.at(service));
  }
};

Stack* stack = nullptr;

// The label files the suite trains on: key → path under the shared data folder.
const std::map<std::string, std::string>& Files() {
  static const auto* files = new std::map<std::string, std::string>{
      {"uniswap_tokens", "uniswap_tokens/uniswap_default_mainnet.csv"},
      {"ofac_sdn", "ofac/ofac_sdn_eth_addresses.csv"},
      {"etherscan_malicious_2022", "etherscan_labels/etherscan_malicious_2022.csv"},
  };
  return *files;
}

absl::Status StartService(Stack& s, const std::string& name, std::vector<std::string> args,
                          const std::map<std::string, std::string>& extra_env = {}) {
  std::string binary = args.front();
  args.front() = absl::StrCat(BinaryDir(), "/", binary);
  std::map<std::string, std::string> env = {
      {"REDIS_URL", s.redis->url()}, {"ETHERSCAN_API_KEY", ""}, {"ETH_RPC_URL", ""}};
  for (const auto& [k, v] : extra_env) env[k] = v;
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(args, env, absl::StrCat(s.dir, "/", name, ".log"));
  if (!process.ok()) return process.status();
  s.processes[name] = *std::move(process);
  absl::Status healthy = WaitForHealthy(s.Target(name), absl::Seconds(20));
  if (!healthy.ok()) {
    return absl::Status(healthy.code(), absl::StrCat(healthy.message(), "\n--- ", name,
                                                     " log ---\n", s.processes[name]->LogTail()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Upload(Stack& s, const std::string& name, const std::string& path) {
  auto stub = dataset::v1::DatasetService::NewStub(common::CreateChannel(s.Target("dataset")));
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(60));
  dataset::v1::UploadDatasetResponse response;
  auto writer = stub->UploadDataset(&context, &response);
  dataset::v1::UploadDatasetRequest request;
  request.mutable_metadata()->set_name(name);
  request.mutable_metadata()->set_filename(path);
  if (!writer->Write(request)) return absl::UnavailableError("upload stream closed");
  std::ifstream in(path, std::ios::binary);
  std::string chunk(64 * 1024, '\0');
  while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
    request.set_chunk(chunk.data(), in.gcount());
    if (!writer->Write(request)) break;
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("upload ", path, ": ", status.error_message()));
  }
  return response.dataset().id();
}

// Waits for job `id` to succeed and returns its model's name.
absl::StatusOr<std::string> WaitForModel(Stack& s, const std::string& id) {
  auto training =
      training::v1::TrainingService::NewStub(common::CreateChannel(s.Target("training")));
  absl::Time give_up = absl::Now() + absl::Minutes(3);
  while (absl::Now() < give_up) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    training::v1::GetJobRequest get;
    get.set_id(id);
    training::v1::GetJobResponse job;
    grpc::Status status = training->GetJob(&context, get, &job);
    if (status.ok() && job.job().status() == training::v1::JOB_STATUS_SUCCEEDED) {
      return job.job().fine_tuned_model();
    }
    if (status.ok() && job.job().status() == training::v1::JOB_STATUS_FAILED) {
      return absl::InternalError(
          absl::StrCat("job failed: ", job.job().error(), "\n", s.processes["worker"]->LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("job did not finish in 3 minutes\n", s.processes["worker"]->LogTail()));
}

absl::Status Bring(Stack& s) {
  s.dir = MakeTempDir("ethscan-it");
  // Redis with a password, as production runs it: the last test checks that no log shows it.
  RedisServer::Options redis_options;
  redis_options.password = kRedisPassword;
  absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(redis_options);
  if (!redis.ok()) return redis.status();
  s.redis = *std::move(redis);
  for (const char* name : {"dataset", "training", "worker", "inference", "enrichment", "gateway"}) {
    s.ports[name] = PickFreePort();
  }
  auto listen = [&](const std::string& name) { return absl::StrCat("--listen=", s.Target(name)); };
  std::string dataset_addr = absl::StrCat("--dataset_addr=", s.Target("dataset"));
  std::string models_dir = absl::StrCat("--models_dir=", s.dir, "/models");
  std::vector<std::pair<std::string, std::vector<std::string>>> services = {
      {"dataset",
       {"ethscan_dataset", listen("dataset"), absl::StrCat("--data_dir=", s.dir, "/dataset")}},
      {"training",
       {"ethscan_training", "--role=server", listen("training"), models_dir, dataset_addr}},
      {"worker", {"ethscan_training", "--role=worker", listen("worker"), models_dir, dataset_addr}},
      {"inference",
       {"ethscan_inference", listen("inference"),
        absl::StrCat("--training_addr=", s.Target("training"))}},
      {"enrichment", {"ethscan_enrichment", listen("enrichment")}},
      {"gateway",
       {"ethscan_gateway", listen("gateway"),
        absl::StrCat("--inference_addr=", s.Target("inference")),
        absl::StrCat("--enrichment_addr=", s.Target("enrichment")), "--enrichment_deadline=1s",
        // Asked on every scan, so that the scans after enrichment is killed see it gone.
        "--enrichment_recheck=0s"}},
  };
  for (auto& [name, args] : services) {
    absl::Status started = StartService(s, name, args);
    if (!started.ok()) return started;
  }
  std::string data = SharedDataDir();
  for (const auto& [key, relative] : Files()) {
    absl::StatusOr<std::string> id = Upload(s, key, absl::StrCat(data, "/", relative));
    if (!id.ok()) return id.status();
    s.dataset_ids[key] = *id;
  }

  auto training =
      training::v1::TrainingService::NewStub(common::CreateChannel(s.Target("training")));
  training::v1::CreateJobRequest create;
  create.set_training_dataset(s.dataset_ids["uniswap_tokens"]);
  create.add_extra_training_datasets(s.dataset_ids["ofac_sdn"]);
  create.add_extra_training_datasets(s.dataset_ids["etherscan_malicious_2022"]);
  create.set_suffix("it");
  training::v1::CreateJobResponse created;
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    grpc::Status status = training->CreateJob(&context, create, &created);
    if (!status.ok())
      return absl::InternalError(absl::StrCat("CreateJob: ", status.error_message()));
  }
  absl::StatusOr<std::string> model = WaitForModel(s, created.job().id());
  if (!model.ok()) return model.status();
  s.model = *model;
  return absl::OkStatus();
}

class StackIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (SharedDataDir().empty()) return;
    stack = new Stack();
    absl::Status status = Bring(*stack);
    if (!status.ok()) stack->failure = status.ToString();
  }

  static void TearDownTestSuite() {
    delete stack;
    stack = nullptr;
  }

  void SetUp() override {
    if (SharedDataDir().empty()) {
      GTEST_SKIP() << "../shared/data not found beside the checkout (set ETHSCAN_SHARED_DATA)";
    }
    ASSERT_TRUE(stack->failure.empty()) << stack->failure;
  }

  static absl::StatusOr<gateway::v1::AddressReport> Scan(const std::string& address,
                                                         const std::string& model = "") {
    auto stub = gateway::v1::ScanService::NewStub(common::CreateChannel(stack->Target("gateway")));
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    gateway::v1::ScanAddressRequest request;
    request.set_address(address);
    request.set_chain_id(1);
    request.set_model(model);
    gateway::v1::AddressReport report;
    grpc::Status status = stub->ScanAddress(&context, request, &report);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return report;
  }

  // Rows of `key`'s file whose address appears in no other trained file, so every field of
  // the report must come from that file alone.
  static std::vector<Row> RowsOnlyIn(const std::string& key) {
    std::string data = SharedDataDir();
    absl::flat_hash_map<std::string, int> seen;
    std::map<std::string, std::vector<Row>> rows;
    for (const auto& [k, relative] : Files()) {
      rows[k] = ReadCsv(absl::StrCat(data, "/", relative));
      absl::flat_hash_map<std::string, bool> in_file;
      for (const Row& r : rows[k]) in_file[Lower(r.at("address"))] = true;
      for (const auto& [a, unused] : in_file) ++seen[a];
    }
    std::vector<Row> out;
    absl::flat_hash_map<std::string, int> in_this;
    for (const Row& r : rows[key]) ++in_this[Lower(r.at("address"))];
    for (const Row& r : rows[key]) {
      std::string a = Lower(r.at("address"));
      if (seen[a] == 1 && in_this[a] == 1) out.push_back(r);
    }
    return out;
  }

  static void ExpectEvidenceFrom(const gateway::v1::AddressReport& report, const std::string& key) {
    bool found = false;
    for (const common::v1::Evidence& e : report.evidence()) {
      if (e.source().find(key) != std::string::npos) found = true;
      EXPECT_FALSE(e.source().empty());
    }
    EXPECT_TRUE(found) << key << " not among the evidence of " << report.DebugString();
  }
};

TEST_F(StackIntegrationTest, EveryServiceIsHealthyAndReflectsItsApi) {
  for (const auto& [name, port] : stack->ports) {
    auto health = grpc::health::v1::Health::NewStub(common::CreateChannel(stack->Target(name)));
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, request, &response).ok()) << name;
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << name;
  }
  absl::StatusOr<std::vector<std::string>> services = ListServices(stack->Target("gateway"));
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, IsSupersetOf({"ethscan.gateway.v1.ScanService", "grpc.health.v1.Health",
                                       "grpc.reflection.v1alpha.ServerReflection"}));
  for (const char* symbol : {"ethscan.gateway.v1.ScanService", "grpc.health.v1.Health"}) {
    absl::StatusOr<std::vector<std::string>> files =
        FileContainingSymbol(stack->Target("gateway"), symbol);
    ASSERT_TRUE(files.ok()) << symbol << ": " << files.status();
    ASSERT_FALSE(files->empty()) << symbol;
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(files->front()));
    std::vector<std::string> names;
    for (const auto& service : file.service()) {
      names.push_back(absl::StrCat(file.package(), ".", service.name()));
    }
    EXPECT_THAT(names, Contains(symbol));
  }
  services = ListServices(stack->Target("dataset"));
  ASSERT_TRUE(services.ok());
  EXPECT_THAT(*services, Contains("ethscan.dataset.v1.DatasetService"));
}

TEST_F(StackIntegrationTest, UniswapTokensAreLegitTokenContracts) {
  std::vector<Row> rows = RowsOnlyIn("uniswap_tokens");
  ASSERT_GE(rows.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Row& row = rows[i * rows.size() / 3];
    absl::StatusOr<gateway::v1::AddressReport> report = Scan(Lower(row.at("address")));
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->address(), row.at("address"));  // the file is EIP-55
    EXPECT_EQ(report->name(), absl::StrCat(row.at("name"), " (", row.at("symbol"), ")"));
    EXPECT_EQ(report->account_type(), "Smart Contract");
    EXPECT_EQ(report->contract_type(), "Token");
    EXPECT_EQ(report->label(), "Legit");
    EXPECT_EQ(report->risk_level(), common::v1::RISK_LEVEL_LOW);
    EXPECT_LT(report->risk_score(), 0.2);
    EXPECT_TRUE(report->known());
    EXPECT_FALSE(report->description().empty());
    EXPECT_FALSE(report->next_steps().empty());
    EXPECT_EQ(report->model(), stack->model);
    EXPECT_THAT(report->model(), ::testing::StartsWith("ft:ethscan-base:it:ftjob-"));
    ExpectEvidenceFrom(*report, "uniswap_tokens");
    EXPECT_EQ(report->chain_data_status(), gateway::v1::CHAIN_DATA_STATUS_NOT_CONFIGURED);
  }
}

TEST_F(StackIntegrationTest, OfacAddressesAreSanctionedOrDelisted) {
  int listed = 0;
  int delisted = 0;
  for (const Row& row : RowsOnlyIn("ofac_sdn")) {
    bool is_listed = row.at("status") == "listed";
    if ((is_listed && listed >= 2) || (!is_listed && delisted >= 2)) continue;
    (is_listed ? listed : delisted)++;
    absl::StatusOr<gateway::v1::AddressReport> report = Scan(row.at("address"));
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(Lower(report->address()), Lower(row.at("address")));
    EXPECT_EQ(report->name(), row.at("name"));
    EXPECT_EQ(Lower(report->entity()), Lower(row.at("name")));
    ExpectEvidenceFrom(*report, "ofac_sdn");
    if (is_listed) {
      EXPECT_EQ(report->label(), "Sanctioned");
      EXPECT_EQ(report->risk_level(), common::v1::RISK_LEVEL_CRITICAL);
      EXPECT_GE(report->risk_score(), 0.9);
    } else {
      EXPECT_EQ(report->label(), "Unknown");
      EXPECT_THAT(report->tags(), Contains("OFAC delisted"));
      EXPECT_EQ(report->risk_level(), common::v1::RISK_LEVEL_MEDIUM);
    }
  }
  EXPECT_EQ(listed, 2);
  EXPECT_EQ(delisted, 2);
}

TEST_F(StackIntegrationTest, EtherscanMaliciousAddressesKeepNameTagAndLabel) {
  int phish = 0;
  int heist = 0;
  for (const Row& row : RowsOnlyIn("etherscan_malicious_2022")) {
    bool is_heist = row.at("label") == "heist";
    if ((is_heist && heist >= 2) || (!is_heist && phish >= 2)) continue;
    (is_heist ? heist : phish)++;
    absl::StatusOr<gateway::v1::AddressReport> report = Scan(Lower(row.at("address")));
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->name(), row.at("name_tag"));
    EXPECT_EQ(report->label(), is_heist ? "Heist" : "Phish / Hack");
    EXPECT_EQ(report->risk_level(),
              is_heist ? common::v1::RISK_LEVEL_CRITICAL : common::v1::RISK_LEVEL_HIGH);
    EXPECT_THAT(report->next_steps(0), HasSubstr("Do not"));
    ExpectEvidenceFrom(*report, "etherscan_malicious_2022");
  }
  EXPECT_EQ(phish, 2);
  EXPECT_EQ(heist, 2);
}

TEST_F(StackIntegrationTest, UnknownAddressIsReportedAsUnknown) {
  absl::StatusOr<gateway::v1::AddressReport> report =
      Scan("0x000000000000000000000000000000000000dead");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->label(), "Unknown");
  EXPECT_FALSE(report->known());
  EXPECT_THAT(report->description(), HasSubstr("Unknown address"));
  EXPECT_EQ(report->model(), stack->model);
}

TEST_F(StackIntegrationTest, WrongChecksumIsInvalidArgument) {
  absl::StatusOr<gateway::v1::AddressReport> report =
      Scan("0x098b716B8Aaf21512996dC57EB0615e2383E2f96");
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("checksum"));
}

TEST_F(StackIntegrationTest, UnknownModelIsNotFound) {
  absl::StatusOr<gateway::v1::AddressReport> report =
      Scan("0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "ft:ethscan-base:nope:ftjob-0");
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
}

// Runs last among the scan tests (gtest keeps declaration order): it stops enrichment.
TEST_F(StackIntegrationTest, ScansKeepWorkingWhenEnrichmentIsKilled) {
  stack->processes["enrichment"]->Kill();
  absl::StatusOr<gateway::v1::AddressReport> report =
      Scan("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->label(), "Sanctioned");
  EXPECT_EQ(report->chain_data_status(), gateway::v1::CHAIN_DATA_STATUS_UNAVAILABLE);
  EXPECT_THAT(report->chain_data_error(), HasSubstr("enrichment service"));
}

// A model trained on the Kaggle feature file scores addresses no list names from their
// behavioural features alone, through the real inference service.
TEST_F(StackIntegrationTest, ClassifierScoresAnAddressNoListNames) {
  const std::string kaggle = absl::StrCat(SharedDataDir(), "/kaggle_fraud/transaction_dataset.csv");
  ASSERT_OK_AND_ASSIGN(std::string dataset, Upload(*stack, "kaggle", kaggle));
  auto training =
      training::v1::TrainingService::NewStub(common::CreateChannel(stack->Target("training")));
  training::v1::CreateJobRequest create;
  create.set_training_dataset(dataset);
  create.set_suffix("behaviour");
  create.mutable_hyperparameters()->set_n_epochs(4);
  training::v1::CreateJobResponse created;
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    ASSERT_TRUE(training->CreateJob(&context, create, &created).ok());
  }
  ASSERT_OK_AND_ASSIGN(std::string model, WaitForModel(*stack, created.job().id()));
  stack->behaviour_model = model;

  auto registry =
      training::v1::ModelRegistryService::NewStub(common::CreateChannel(stack->Target("training")));
  training::v1::GetModelResponse card;
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    training::v1::GetModelRequest get;
    get.set_name(model);
    ASSERT_TRUE(registry->GetModel(&context, get, &card).ok());
  }
  EXPECT_EQ(card.model().kind(), "knowledge+classifier");
  EXPECT_GT(card.model().manifest().test().rows(), 500u);
  EXPECT_GT(card.model().manifest().test().roc_auc(), 0.99);

  // Features of flagged and not-flagged rows, under addresses no dataset has.
  auto inference =
      inference::v1::InferenceService::NewStub(common::CreateChannel(stack->Target("inference")));
  int flagged_of_positive = 0, flagged_of_negative = 0, positives = 0, negatives = 0;
  int n = 0;
  for (const Row& row : ReadCsv(kaggle)) {
    const bool positive = row.at("FLAG") == "1";
    if ((positive ? positives : negatives) >= 20) continue;
    inference::v1::PredictRequest request;
    request.set_address(absl::StrFormat("0x%040x", 0xe0000 + n++));
    request.set_model(model);
    for (const auto& [column, cell] : row) {
      double value = 0;
      std::optional<size_t> feature = features::SchemaIndexOfColumn(column);
      if (!feature.has_value() || features::Schema()[*feature].kind != features::Kind::kNumber ||
          cell.empty() || !absl::SimpleAtod(cell, &value)) {
        continue;
      }
      (*request.mutable_features())[column] = value;
    }
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    inference::v1::PredictResponse response;
    grpc::Status status = inference->Predict(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.known());
    ASSERT_TRUE(response.has_behaviour()) << response.DebugString();
    EXPECT_THAT(response.answered_by(), Contains("classifier"));
    EXPECT_EQ(response.behaviour().flagged(),
              response.behaviour().score() >= response.behaviour().threshold());
    EXPECT_EQ(response.label(), response.behaviour().flagged() ? "Scam" : "Unknown");
    EXPECT_NE(response.label(), "Legit");
    EXPECT_THAT(response.description(), HasSubstr("behavioural estimate"));
    EXPECT_GT(response.behaviour().top_contributions_size(), 0);
    (positive ? positives : negatives)++;
    if (response.behaviour().flagged()) (positive ? flagged_of_positive : flagged_of_negative)++;
    if (positives >= 20 && negatives >= 20) break;
  }
  EXPECT_EQ(positives, 20);
  EXPECT_EQ(negatives, 20);
  EXPECT_GE(flagged_of_positive, 16);
  EXPECT_LE(flagged_of_negative, 4);
}

// With live chain data (a fake Etherscan V2 and JSON-RPC node behind a second enrichment
// service and gateway), a scan of an address no dataset knows shows its on-chain facts, each
// with its source, and the classifier's score of its live features with the features that
// weighed most.
TEST_F(StackIntegrationTest, LiveChainDataGivesAnUnknownAddressFactsAndABehaviouralScore) {
  ASSERT_FALSE(stack->behaviour_model.empty()) << "needs the classifier model of the test above";
  const std::string fixture = absl::StrCat(stack->dir, "/chain.json");
  ASSERT_OK(RunPythonScript("fake_chain.py", {"--make-fixture", fixture}));
  stack->chain_roles = nlohmann::json::parse(ReadWholeFile(fixture))["roles"];
  ASSERT_OK_AND_ASSIGN(stack->chain,
                       StartPythonFake("fake_chain.py",
                                       {"--fixture", fixture, "--api-key", kEtherscanKey,
                                        "--rate-limit-per-second", "20"},
                                       stack->dir, "chain"));
  for (const char* name : {"enrichment-live", "gateway-live"}) stack->ports[name] = PickFreePort();
  const std::string chain = absl::StrCat("http://127.0.0.1:", stack->chain.port);
  ASSERT_OK(StartService(
      *stack, "enrichment-live",
      {"ethscan_enrichment", absl::StrCat("--listen=", stack->Target("enrichment-live"))},
      {{"ETHERSCAN_API_KEY", kEtherscanKey},
       {"ETHERSCAN_BASE_URL", absl::StrCat(chain, "/v2/api")},
       {"ETH_RPC_URL", absl::StrCat(chain, "/rpc")},
       {"ETHSCAN_ETHERSCAN_RATE", "10"}}));
  ASSERT_OK(
      StartService(*stack, "gateway-live",
                   {"ethscan_gateway", absl::StrCat("--listen=", stack->Target("gateway-live")),
                    absl::StrCat("--inference_addr=", stack->Target("inference")),
                    absl::StrCat("--enrichment_addr=", stack->Target("enrichment-live")),
                    "--enrichment_deadline=20s"}));

  auto stub =
      gateway::v1::ScanService::NewStub(common::CreateChannel(stack->Target("gateway-live")));
  auto scan = [&](const std::string& address) -> absl::StatusOr<gateway::v1::AddressReport> {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(60));
    gateway::v1::ScanAddressRequest request;
    request.set_address(address);
    request.set_model(stack->behaviour_model);
    gateway::v1::AddressReport report;
    grpc::Status status = stub->ScanAddress(&context, request, &report);
    if (!status.ok()) return absl::UnknownError(status.error_message());
    return report;
  };
  const std::string eoa = stack->chain_roles["eoas"][0].get<std::string>();
  ASSERT_OK_AND_ASSIGN(gateway::v1::AddressReport report, scan(eoa));
  ASSERT_EQ(report.chain_data_status(), gateway::v1::CHAIN_DATA_STATUS_OK)
      << report.chain_data_error() << "\n"
      << stack->processes["enrichment-live"]->LogTail();
  EXPECT_FALSE(report.known());
  EXPECT_EQ(report.chain_data().source(), "rpc+etherscan");
  EXPECT_FALSE(report.chain_data().is_contract());
  EXPECT_GT(report.chain_data().transaction_count(), 0u);
  EXPECT_GT(report.chain_data().token_transfer_count(), 0u);
  EXPECT_EQ(report.chain_data().fact_sources().at("is_contract"), "rpc eth_getCode");
  EXPECT_GT(report.chain_data().features_size(), 40);
  ASSERT_TRUE(report.has_behaviour()) << report.DebugString();
  EXPECT_GT(report.behaviour().features_present(), 20);
  EXPECT_GT(report.behaviour().top_contributions_size(), 0);
  EXPECT_NE(report.label(), "Legit");
  EXPECT_THAT(report.description(), HasSubstr("behavioural estimate"));
  bool chain_evidence = false;
  for (const common::v1::Evidence& e : report.evidence()) {
    chain_evidence |= e.source() == "chain data (rpc+etherscan)";
  }
  EXPECT_TRUE(chain_evidence);

  // The contract: its facts from the verified source and the creation record; a second scan
  // comes from the cache, with its age.
  const std::string contract = stack->chain_roles["contract"].get<std::string>();
  ASSERT_OK_AND_ASSIGN(gateway::v1::AddressReport c, scan(contract));
  EXPECT_TRUE(c.chain_data().is_contract());
  EXPECT_TRUE(c.chain_data().source_verified());
  EXPECT_EQ(c.chain_data().contract_name(), "FakeToken");
  ASSERT_OK_AND_ASSIGN(nlohmann::json before, FakeState(stack->chain.port));
  ASSERT_OK_AND_ASSIGN(gateway::v1::AddressReport again, scan(contract));
  ASSERT_OK_AND_ASSIGN(nlohmann::json after, FakeState(stack->chain.port));
  EXPECT_EQ(after["etherscan_calls"], before["etherscan_calls"]);
  EXPECT_EQ(again.chain_data().contract_name(), "FakeToken");
  // The budget held: the fake never had to refuse a call.
  EXPECT_EQ(after["rate_limited"], 0);
}

// Runs last: stops every service, then reads every log of the run.
TEST_F(StackIntegrationTest, NoLogShowsTheRedisPassword) {  // Stops the stack: keep it last.
  for (auto& [name, process] : stack->processes) process->Stop();
  for (const auto& [name, process] : stack->processes) {
    std::ifstream in(process->log_path());
    std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_FALSE(log.empty()) << name;
    EXPECT_EQ(log.find(kRedisPassword), std::string::npos) << name << " log:\n" << log;
    EXPECT_EQ(log.find(kEtherscanKey), std::string::npos) << name << " log:\n" << log;
  }
}

}  // namespace
}  // namespace ethscan::testing

#include "services/gateway/scanner.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/gateway/scan_service.h"
#include "services/inference/inference_service.h"
#include "services/inference/model_manager.h"
#include "tests/services/inference/fake_model_source.h"
#include "tests/services/inference/knowledge_fixture.h"
#include "tests/testing/free_port.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::gateway {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kUni[] = "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984";

// Answers every known address as a Legit token; NOT_FOUND for model "missing".
class FakeInference final : public inference::v1::InferenceService::Service {
 public:
  grpc::Status Predict(grpc::ServerContext*, const inference::v1::PredictRequest* request,
                       inference::v1::PredictResponse* response) override {
    if (request->model() == "missing") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "model \"missing\" not found");
    }
    response->set_address(request->address());
    response->set_label("Legit");
    response->set_name("Uniswap (UNI)");
    response->set_account_type("Smart Contract");
    response->set_contract_type("Token");
    response->add_tags("Token Contract");
    response->set_risk_level(common::v1::RISK_LEVEL_LOW);
    response->set_risk_score(0.05);
    response->set_description("d");
    response->add_next_steps("none");
    response->add_evidence()->set_source("uniswap_tokens");
    response->set_model("ft:ethscan-base:t:ftjob-1");
    response->set_known(true);
    if (!request->features().empty()) {
      // As a model with a classifier answers a feature vector.
      ++scored;
      inference::v1::BehaviouralScore* b = response->mutable_behaviour();
      b->set_score(0.93);
      b->set_threshold(0.5);
      b->set_label("Phish / Hack");
      b->set_flagged(true);
      b->set_features_present(request->features_size());
    }
    return grpc::Status::OK;
  }
  std::atomic<int> scored{0};
};

// Behaves like an enrichment service in one of three modes.
class FakeEnrichment final : public enrichment::v1::EnrichmentService::Service {
 public:
  enum class Mode { kNotConfigured, kProfile, kHang };
  explicit FakeEnrichment(Mode mode) : mode_(mode) {}
  std::atomic<int> calls{0};
  ~FakeEnrichment() override { release_.Notify(); }

  grpc::Status GetProfile(grpc::ServerContext* context,
                          const enrichment::v1::GetProfileRequest* request,
                          enrichment::v1::GetProfileResponse* response) override {
    ++calls;
    switch (mode_) {
      case Mode::kNotConfigured:
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "no chain data source configured");
      case Mode::kProfile:
        response->mutable_profile()->set_address(request->address());
        response->mutable_profile()->set_balance_wei("42");
        response->mutable_profile()->set_source("etherscan");
        response->mutable_profile()->set_transaction_count(7);
        response->mutable_profile()->set_history_truncated(true);
        (*response->mutable_profile()->mutable_features())["sent_tnx"] = 5;
        (*response->mutable_profile()->mutable_features())["received_tnx"] = 2;
        return grpc::Status::OK;
      case Mode::kHang:
        // Blocks until the caller gives up (its deadline cancels the call) or the test ends.
        while (!context->IsCancelled() &&
               !release_.WaitForNotificationWithTimeout(absl::Milliseconds(5))) {
        }
        return grpc::Status(grpc::StatusCode::CANCELLED, "gave up");
    }
    return grpc::Status::OK;
  }

 private:
  const Mode mode_;
  absl::Notification release_;
};

class ScannerTest : public ::testing::Test {
 protected:
  std::unique_ptr<common::Server> Serve(grpc::Service* service) {
    common::ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.shutdown_deadline = absl::Milliseconds(100);
    auto server = common::Server::Start(options, {service});
    EXPECT_THAT(server, IsOk());
    return *std::move(server);
  }

  std::unique_ptr<Scanner> MakeScanner(int inference_port, int enrichment_port) {
    Scanner::Options options;
    options.enrichment_timeout = absl::Milliseconds(300);
    options.predict_timeout = absl::Seconds(10);
    return std::make_unique<Scanner>(
        inference::v1::InferenceService::NewStub(
            common::CreateChannel(absl::StrCat("127.0.0.1:", inference_port))),
        enrichment::v1::EnrichmentService::NewStub(
            common::CreateChannel(absl::StrCat("127.0.0.1:", enrichment_port))),
        options);
  }

  static v1::ScanAddressRequest Request(const std::string& address) {
    v1::ScanAddressRequest request;
    request.set_address(address);
    return request;
  }

  FakeInference inference_;
};

TEST_F(ScannerTest, ReportsEveryFieldAndChainDataWhenEnrichmentAnswers) {
  FakeEnrichment enrichment(FakeEnrichment::Mode::kProfile);
  auto inference_server = Serve(&inference_);
  auto enrichment_server = Serve(&enrichment);
  auto scanner = MakeScanner(inference_server->port(), enrichment_server->port());
  auto report = scanner->Scan(Request("  0x1f9840a85d5af5bf1d1762f925bdaddc4201f984 "));
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->address(), kUni);
  EXPECT_EQ(report->label(), "Legit");
  EXPECT_EQ(report->contract_type(), "Token");
  EXPECT_EQ(report->chain_id(), 1u);
  EXPECT_EQ(report->model(), "ft:ethscan-base:t:ftjob-1");
  EXPECT_EQ(report->chain_data_status(), v1::CHAIN_DATA_STATUS_OK);
  EXPECT_EQ(report->chain_data().balance_wei(), "42");
  ASSERT_EQ(report->evidence_size(), 2);
  EXPECT_EQ(report->evidence(1).source(), "chain data (etherscan)");
}

TEST_F(ScannerTest, ScoresTheLiveFeaturesOfTheProfile) {
  FakeEnrichment enrichment(FakeEnrichment::Mode::kProfile);
  auto inference_server = Serve(&inference_);
  auto enrichment_server = Serve(&enrichment);
  auto report =
      MakeScanner(inference_server->port(), enrichment_server->port())->Scan(Request(kUni));
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(inference_.scored, 1);
  ASSERT_TRUE(report->has_behaviour());
  EXPECT_EQ(report->behaviour().label(), "Phish / Hack");
  EXPECT_EQ(report->behaviour().features_present(), 2);
  EXPECT_THAT(report->evidence(1).claim(),
              HasSubstr("balance 42 wei, 7 transactions; the history was cut at the configured "
                        "ceiling"));
}

TEST_F(ScannerTest, StopsAskingAnEnrichmentServiceWithoutASourceForAWhile) {
  FakeEnrichment enrichment(FakeEnrichment::Mode::kNotConfigured);
  auto inference_server = Serve(&inference_);
  auto enrichment_server = Serve(&enrichment);
  auto scanner = MakeScanner(inference_server->port(), enrichment_server->port());
  for (int i = 0; i < 3; ++i) {
    auto report = scanner->Scan(Request(kUni));
    ASSERT_THAT(report, IsOk());
    EXPECT_EQ(report->chain_data_status(), v1::CHAIN_DATA_STATUS_NOT_CONFIGURED);
    EXPECT_THAT(report->chain_data_error(), HasSubstr("no chain data source configured"));
  }
  EXPECT_EQ(enrichment.calls, 1);
  EXPECT_FALSE(scanner->Scan(Request(kUni))->has_behaviour());
}

TEST_F(ScannerTest, SaysWhenNoChainDataSourceIsConfigured) {
  FakeEnrichment enrichment(FakeEnrichment::Mode::kNotConfigured);
  auto inference_server = Serve(&inference_);
  auto enrichment_server = Serve(&enrichment);
  auto report =
      MakeScanner(inference_server->port(), enrichment_server->port())->Scan(Request(kUni));
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->chain_data_status(), v1::CHAIN_DATA_STATUS_NOT_CONFIGURED);
  EXPECT_THAT(report->chain_data_error(), HasSubstr("no chain data source configured"));
}

TEST_F(ScannerTest, ScansWhenEnrichmentIsDown) {
  auto inference_server = Serve(&inference_);
  auto report = MakeScanner(inference_server->port(), testing::PickFreePort())->Scan(Request(kUni));
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->label(), "Legit");
  EXPECT_EQ(report->chain_data_status(), v1::CHAIN_DATA_STATUS_UNAVAILABLE);
  EXPECT_THAT(report->chain_data_error(), HasSubstr("enrichment service"));
}

TEST_F(ScannerTest, EnrichmentDeadlineBoundsTheScan) {
  FakeEnrichment enrichment(FakeEnrichment::Mode::kHang);
  auto inference_server = Serve(&inference_);
  auto enrichment_server = Serve(&enrichment);
  auto report =
      MakeScanner(inference_server->port(), enrichment_server->port())->Scan(Request(kUni));
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->chain_data_status(), v1::CHAIN_DATA_STATUS_UNAVAILABLE);
  EXPECT_THAT(report->chain_data_error(), HasSubstr("DEADLINE_EXCEEDED"));
}

TEST_F(ScannerTest, RejectsMixedCaseWithWrongChecksum) {
  auto scanner = MakeScanner(testing::PickFreePort(), testing::PickFreePort());
  EXPECT_THAT(scanner->Scan(Request("0x1F9840a85d5aF5bf1D1762F925BDADdC4201F984")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad EIP-55 checksum")));
  EXPECT_THAT(scanner->Scan(Request("uniswap")), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ScannerTest, PassesInferenceErrorsThrough) {
  FakeEnrichment enrichment(FakeEnrichment::Mode::kNotConfigured);
  auto inference_server = Serve(&inference_);
  auto enrichment_server = Serve(&enrichment);
  v1::ScanAddressRequest request = Request(kUni);
  request.set_model("missing");
  EXPECT_THAT(MakeScanner(inference_server->port(), enrichment_server->port())->Scan(request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("inference service: model")));
}

TEST_F(ScannerTest, BatchScanNamesThePositionOfABadAddress) {
  FakeEnrichment enrichment(FakeEnrichment::Mode::kNotConfigured);
  auto inference_server = Serve(&inference_);
  auto enrichment_server = Serve(&enrichment);
  auto scanner = MakeScanner(inference_server->port(), enrichment_server->port());
  ScanServiceImpl service(scanner.get());
  auto gateway = Serve(&service);
  auto stub =
      v1::ScanService::NewStub(common::CreateChannel(absl::StrCat("127.0.0.1:", gateway->port())));
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(10));
  auto stream = stub->BatchScan(&context);
  ASSERT_TRUE(stream->Write(Request(kUni)));
  ASSERT_TRUE(stream->Write(Request("0xnope")));
  stream->WritesDone();
  v1::AddressReport report;
  ASSERT_TRUE(stream->Read(&report));
  EXPECT_EQ(report.label(), "Legit");
  EXPECT_FALSE(stream->Read(&report));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("address 1: "));
}

// A 5 MiB address or model name through the real gateway and inference services on loopback:
// the error names the field and quotes only the start of the value, so the status fits in
// gRPC's metadata and the client sees the real error.
TEST_F(ScannerTest, HugeAddressOrModelNameGetsAShortErrorOverGrpc) {
  auto source = std::make_unique<inference::testing::FakeModelSource>();
  source->Add(inference::testing::ModelWith("ft:ethscan-base:t:ftjob-1",
                                            {inference::testing::UniswapEntry()}));
  common::FakeClock clock;
  inference::ModelManager models(std::move(source), &clock, inference::ModelManager::Options());
  inference::InferenceServiceImpl real_inference(&models);
  FakeEnrichment enrichment(FakeEnrichment::Mode::kNotConfigured);
  auto inference_server = Serve(&real_inference);
  auto enrichment_server = Serve(&enrichment);
  auto scanner = MakeScanner(inference_server->port(), enrichment_server->port());
  ScanServiceImpl service(scanner.get());
  auto gateway = Serve(&service);
  auto stub =
      v1::ScanService::NewStub(common::CreateChannel(absl::StrCat("127.0.0.1:", gateway->port())));
  const std::string huge(size_t{5} << 20, 'a');
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    v1::AddressReport report;
    grpc::Status status = stub->ScanAddress(&context, Request(absl::StrCat("0x", huge)), &report);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_LT(status.error_message().size(), 200u) << status.error_message().substr(0, 300);
    EXPECT_THAT(status.error_message(), HasSubstr("invalid address \"0xaaaa"));
    EXPECT_THAT(status.error_message(), HasSubstr("…\" (5242882 bytes)"));
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    v1::ScanAddressRequest request = Request(kUni);
    request.set_model(huge);
    v1::AddressReport report;
    grpc::Status status = stub->ScanAddress(&context, request, &report);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    EXPECT_LT(status.error_message().size(), 200u) << status.error_message().substr(0, 300);
    EXPECT_THAT(status.error_message(), HasSubstr("inference service: model or alias \"aaaa"));
    EXPECT_THAT(status.error_message(), HasSubstr("…\" (5242880 bytes) not found"));
  }
  {
    // The same through the stream: the position, then the short message.
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    auto stream = stub->BatchScan(&context);
    ASSERT_TRUE(stream->Write(Request(huge)));
    stream->WritesDone();
    v1::AddressReport report;
    EXPECT_FALSE(stream->Read(&report));
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_LT(status.error_message().size(), 200u) << status.error_message().substr(0, 300);
    EXPECT_THAT(status.error_message(), HasSubstr("address 0: invalid address \"aaaa"));
  }
}

}  // namespace
}  // namespace ethscan::gateway

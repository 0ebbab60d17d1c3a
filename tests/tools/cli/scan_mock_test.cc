// Checks the scan command's calls themselves with the generated mock stub: one ScanAddress per
// address, in order, with the flags mapped onto the request.
#include <grpcpp/test/client_context_test_peer.h>

#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "ethscan/gateway/v1/scan_service_mock.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/cli/cli.h"

namespace ethscan::cli {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::InSequence;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::StrictMock;

// Hands out the one mock scan stub; the test keeps a raw pointer to it.
class MockStubFactory final : public ClientFactory {
 public:
  explicit MockStubFactory(std::unique_ptr<gateway::v1::MockScanServiceStub> scan)
      : scan_(std::move(scan)) {}

  std::unique_ptr<gateway::v1::ScanService::StubInterface> NewScanStub(
      const std::string& target) override {
    return std::move(scan_);
  }
  std::unique_ptr<dataset::v1::DatasetService::StubInterface> NewDatasetStub(
      const std::string& target) override {
    ADD_FAILURE() << "unexpected dataset stub";
    return nullptr;
  }
  std::unique_ptr<training::v1::TrainingService::StubInterface> NewTrainingStub(
      const std::string& target) override {
    ADD_FAILURE() << "unexpected training stub";
    return nullptr;
  }
  std::unique_ptr<training::v1::ModelRegistryService::StubInterface> NewModelRegistryStub(
      const std::string& target) override {
    ADD_FAILURE() << "unexpected model registry stub";
    return nullptr;
  }
  std::unique_ptr<inference::v1::InferenceService::StubInterface> NewInferenceStub(
      const std::string& target) override {
    ADD_FAILURE() << "unexpected inference stub";
    return nullptr;
  }
  std::unique_ptr<grpc::health::v1::Health::StubInterface> NewHealthStub(
      const std::string& target) override {
    ADD_FAILURE() << "unexpected health stub";
    return nullptr;
  }

 private:
  std::unique_ptr<gateway::v1::MockScanServiceStub> scan_;
};

MATCHER_P3(ScanRequestIs, address, chain_id, model, "") {
  return arg.address() == address && arg.chain_id() == chain_id && arg.model() == model;
}

TEST(ScanMockTest, CallsScanAddressOncePerAddressInOrder) {
  auto stub = std::make_unique<StrictMock<gateway::v1::MockScanServiceStub>>();
  auto* mock = stub.get();
  {
    InSequence in_order;
    EXPECT_CALL(*mock, ScanAddress(_, ScanRequestIs("0xa", 10u, "m1"), _))
        .WillOnce(Invoke([](grpc::ClientContext* context, const auto&, auto* report) {
          grpc::testing::ClientContextTestPeer peer(context);
          auto metadata = peer.GetSendInitialMetadata();
          auto key = metadata.find("x-api-key");
          EXPECT_TRUE(key != metadata.end() && key->second == "k");
          EXPECT_LT(context->deadline(), std::chrono::system_clock::time_point::max());
          report->set_address("0xA");
          return grpc::Status::OK;
        }));
    EXPECT_CALL(*mock, ScanAddress(_, ScanRequestIs("0xb", 10u, "m1"), _))
        .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "no model published yet")));
  }
  std::ostringstream out, err;
  Cli cli(
      std::make_unique<MockStubFactory>(std::move(stub)),
      [](absl::string_view name) { return name == "ETHSCAN_API_KEY" ? "k" : ""; }, out, err);
  EXPECT_EQ(cli.Run({"scan", "0xa", "0xb", "--chain-id", "10", "--model", "m1", "--json"}),
            kExitFailure);
  EXPECT_EQ(out.str(), "{\"address\":\"0xA\"}\n");
  EXPECT_EQ(err.str(), "0xb: NOT_FOUND: no model published yet\n");
}

}  // namespace
}  // namespace ethscan::cli

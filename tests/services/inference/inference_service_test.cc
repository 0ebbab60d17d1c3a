#include "services/inference/inference_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/inference/fake_model_source.h"
#include "tests/services/inference/knowledge_fixture.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::inference {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::HasSubstr;

class InferenceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto source = std::make_unique<testing::FakeModelSource>();
    source->Add(testing::ModelWith("ft:ethscan-base:t:ftjob-1",
                                   {testing::UniswapEntry(), testing::SanctionedEntry()}));
    manager_ = std::make_unique<ModelManager>(std::move(source), &clock_, ModelManager::Options());
    service_ = std::make_unique<InferenceServiceImpl>(manager_.get());
  }

  common::FakeClock clock_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<InferenceServiceImpl> service_;
};

TEST_F(InferenceServiceTest, PredictsKnownAddressGivenInLowercase) {
  v1::PredictRequest request;
  request.set_address("0x1f9840a85d5af5bf1d1762f925bdaddc4201f984");
  auto p = service_->PredictOne(request);
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->address(), "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984");
  EXPECT_EQ(p->label(), "Legit");
  EXPECT_EQ(p->model(), "ft:ethscan-base:t:ftjob-1");
}

TEST_F(InferenceServiceTest, RejectsWrongChecksum) {
  v1::PredictRequest request;
  request.set_address("0x1F9840a85d5aF5bf1D1762F925BDADdC4201F984");
  EXPECT_THAT(service_->PredictOne(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("checksum")));
}

TEST_F(InferenceServiceTest, RejectsChainsWithoutModels) {
  v1::PredictRequest request;
  request.set_address("0x1f9840a85d5af5bf1d1762f925bdaddc4201f984");
  request.set_chain_id(10);
  EXPECT_THAT(service_->PredictOne(request), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(InferenceServiceTest, ServesOverGrpcIncludingBatchAndModelAdmin) {
  common::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  auto server = common::Server::Start(options, {service_.get()});
  ASSERT_THAT(server, IsOk());
  auto stub = v1::InferenceService::NewStub(
      common::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port())));
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    v1::ModelReadyRequest request;
    v1::ModelReadyResponse response;
    ASSERT_TRUE(stub->ModelReady(&context, request, &response).ok());
    EXPECT_FALSE(response.ready());
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    auto stream = stub->BatchPredict(&context);
    for (const char* a : {"0x098b716b8aaf21512996dc57eb0615e2383e2f96",
                          "0x0000000000000000000000000000000000000001"}) {
      v1::PredictRequest request;
      request.set_address(a);
      ASSERT_TRUE(stream->Write(request));
    }
    stream->WritesDone();
    v1::PredictResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.label(), "Sanctioned");
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.label(), "Unknown");
    EXPECT_FALSE(stream->Read(&response));
    EXPECT_TRUE(stream->Finish().ok());
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    v1::ListLoadedModelsRequest request;
    v1::ListLoadedModelsResponse response;
    ASSERT_TRUE(stub->ListLoadedModels(&context, request, &response).ok());
    ASSERT_EQ(response.models_size(), 1);
    EXPECT_EQ(response.models(0).address_count(), 2u);
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    v1::PredictRequest request;
    request.set_address("0x1234");
    v1::PredictResponse response;
    grpc::Status status = stub->Predict(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("4 hex digits, need 40"));
  }
}

TEST_F(InferenceServiceTest, HugeAddressOrModelNameGetsAShortErrorOverGrpc) {
  common::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  auto server = common::Server::Start(options, {service_.get()});
  ASSERT_THAT(server, IsOk());
  auto stub = v1::InferenceService::NewStub(
      common::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port())));
  const std::string huge(size_t{5} << 20, 'a');
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    v1::PredictRequest request;
    request.set_address(absl::StrCat("0x", huge));
    v1::PredictResponse response;
    grpc::Status status = stub->Predict(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_LT(status.error_message().size(), 200u) << status.error_message().substr(0, 300);
    EXPECT_THAT(status.error_message(), HasSubstr("invalid address \"0xaaaa"));
    EXPECT_THAT(status.error_message(), HasSubstr("…\" (5242882 bytes)"));
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    v1::PredictRequest request;
    request.set_address("0x1f9840a85d5af5bf1d1762f925bdaddc4201f984");
    request.set_model(huge);
    v1::PredictResponse response;
    grpc::Status status = stub->Predict(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    EXPECT_LT(status.error_message().size(), 200u) << status.error_message().substr(0, 300);
    EXPECT_THAT(status.error_message(), HasSubstr("model or alias \"aaaa"));
    EXPECT_THAT(status.error_message(), HasSubstr("…\" (5242880 bytes) not found"));
  }
}

}  // namespace
}  // namespace ethscan::inference

#include "services/enrichment/enrichment_service.h"

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::enrichment {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kAddress[] = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

// Answers from a fixed table; counts calls.
class FakeSource : public ChainDataSource {
 public:
  absl::StatusOr<v1::ChainProfile> GetProfile(const eth::Address& address, uint64_t chain_id,
                                              absl::Time deadline) override {
    ++calls;
    v1::ChainProfile profile;
    profile.set_address(address.ToChecksumHex());
    profile.set_chain_id(chain_id);
    profile.set_balance_wei("1000000000000000000");
    profile.set_source("fake");
    return profile;
  }
  int calls = 0;
};

TEST(EnrichmentServiceTest, WithoutSourceSaysNoChainDataSourceConfigured) {
  EnrichmentServiceImpl service(nullptr);
  v1::GetProfileRequest request;
  request.set_address(kAddress);
  EXPECT_THAT(service.Profile(request, absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no chain data source configured")));
}

TEST(EnrichmentServiceTest, RejectsBadAddressBeforeAskingTheSource) {
  auto source = std::make_unique<FakeSource>();
  FakeSource* raw = source.get();
  EnrichmentServiceImpl service(std::move(source));
  v1::GetProfileRequest request;
  request.set_address("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  EXPECT_THAT(service.Profile(request, absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("checksum")));
  EXPECT_EQ(raw->calls, 0);
}

TEST(EnrichmentServiceTest, AsksSourceWithDefaultChain) {
  EnrichmentServiceImpl service(std::make_unique<FakeSource>());
  v1::GetProfileRequest request;
  request.set_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
  absl::StatusOr<v1::GetProfileResponse> response =
      service.Profile(request, absl::Now() + absl::Seconds(5));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->profile().address(), kAddress);
  EXPECT_EQ(response->profile().chain_id(), 1u);
}

TEST(ChainDataSourceTest, NothingConfiguredMeansNoSource) {
  absl::StatusOr<std::unique_ptr<ChainDataSource>> source = CreateChainDataSource({});
  ASSERT_THAT(source, IsOk());
  EXPECT_EQ(*source, nullptr);
}

TEST(ChainDataSourceTest, AConfiguredSourceIsLive) {
  SourceConfig config;
  config.etherscan_api_key = "key";
  config.etherscan_base_url = "https://api.etherscan.io/v2/api";
  absl::StatusOr<std::unique_ptr<ChainDataSource>> source = CreateChainDataSource(config);
  ASSERT_THAT(source, IsOk());
  EXPECT_NE(*source, nullptr);
  EXPECT_EQ(config.Describe(), "etherscan at https://api.etherscan.io");
}

TEST(EnrichmentServiceTest, BatchAnswersInOrderOverGrpc) {
  EnrichmentServiceImpl service(std::make_unique<FakeSource>());
  common::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<common::Server>> server =
      common::Server::Start(options, {&service});
  ASSERT_THAT(server, IsOk());
  auto stub = v1::EnrichmentService::NewStub(
      common::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port())));
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(10));
  auto stream = stub->BatchGetProfiles(&context);
  const char* addresses[] = {"0x52908400098527886e0f7030069857d2e4169ee7", kAddress};
  for (const char* a : addresses) {
    v1::GetProfileRequest request;
    request.set_address(a);
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  v1::GetProfileResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.profile().address(), "0x52908400098527886E0F7030069857D2E4169EE7");
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.profile().address(), kAddress);
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

// A request body that is not the method's message (random bytes from a raw HTTP/2 client)
// is the client's error: INVALID_ARGUMENT naming the message, not an empty INTERNAL.
TEST(EnrichmentServiceTest, ARequestBodyThatDoesNotParseIsInvalidArgumentNamingTheMessage) {
  EnrichmentServiceImpl service(std::make_unique<FakeSource>());
  common::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<common::Server>> server =
      common::Server::Start(options, {&service});
  ASSERT_THAT(server, IsOk());
  grpc::GenericStub stub(common::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port())));
  // Field 1 as a length-delimited string of 100 bytes, but only 3 follow: not a message.
  const char garbage[] =
      "\x0a"
      "\x64"
      "abc";
  for (absl::string_view body :
       {absl::string_view(garbage, 5), absl::string_view("\xff\xff\xff")}) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    grpc::Slice slice(body.data(), body.size());
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(&context, "/ethscan.enrichment.v1.EnrichmentService/GetProfile",
                   grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("ethscan.enrichment.v1.GetProfileRequest"));
  }
}

}  // namespace
}  // namespace ethscan::enrichment

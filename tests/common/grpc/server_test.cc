#include "common/grpc/server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace ethscan::common {
namespace {

TEST(ServerTest, ServesHealthOnPickedPortAndStopsServingOnShutdown) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.shutdown_deadline = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, {});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  // The in-process channel exercises the same server without a socket.
  std::shared_ptr<grpc::Channel> channel =
      (*server)->grpc_server()->InProcessChannel(grpc::ChannelArguments());
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status =
      grpc::health::v1::Health::NewStub(channel)->Check(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  (*server)->Shutdown();
  (*server)->Wait();
}

TEST(ServerTest, ReportsAddressThatCannotBeBound) {
  ServerOptions options;
  options.listen_address = "192.0.2.1:1";  // TEST-NET-1: never a local address.
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, {});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ethscan::common

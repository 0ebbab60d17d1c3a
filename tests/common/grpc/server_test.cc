#include "common/grpc/server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>

#include <atomic>

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

grpc::health::v1::HealthCheckResponse::ServingStatus Health(Server& server,
                                                            const std::string& service) {
  std::shared_ptr<grpc::Channel> channel =
      server.grpc_server()->InProcessChannel(grpc::ChannelArguments());
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status =
      grpc::health::v1::Health::NewStub(channel)->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << service << ": " << status.error_message();
  return response.status();
}

TEST(ServerTest, ReadinessFollowsItsCheckWhileLivenessStaysServing) {
  std::atomic<bool> redis_up{false};
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.readiness_services = {"ethscan.dataset.v1.DatasetService"};
  options.readiness_check = [&redis_up] {
    return redis_up.load() ? absl::OkStatus() : absl::UnavailableError("redis: down");
  };
  options.readiness_interval = absl::Hours(1);  // The test runs the checks itself.
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, {});
  ASSERT_TRUE(server.ok()) << server.status();
  using Status = grpc::health::v1::HealthCheckResponse;
  EXPECT_EQ(Health(**server, ""), Status::SERVING);
  EXPECT_EQ(Health(**server, "ethscan.dataset.v1.DatasetService"), Status::NOT_SERVING);
  EXPECT_FALSE((*server)->ready());
  redis_up = true;
  (*server)->CheckReadiness();
  EXPECT_EQ(Health(**server, "ethscan.dataset.v1.DatasetService"), Status::SERVING);
  redis_up = false;
  (*server)->CheckReadiness();
  EXPECT_EQ(Health(**server, "ethscan.dataset.v1.DatasetService"), Status::NOT_SERVING);
  EXPECT_EQ(Health(**server, ""), Status::SERVING);
}

TEST(ServerTest, RefusesAPortThatIsAlreadyInUse) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Server>> first = Server::Start(options, {});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string port = absl::StrCat((*first)->port());
  options.listen_address = absl::StrCat("127.0.0.1:", port);
  absl::StatusOr<std::unique_ptr<Server>> second = Server::Start(options, {});
  ASSERT_FALSE(second.ok()) << "a second server started on port " << port;
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(absl::StrCat("port ", port, " is in use")),
            std::string::npos)
      << second.status();
}

TEST(ServerTest, BlockingTerminationSignalsIgnoresSigpipe) {
  BlockTerminationSignals();
  struct sigaction action {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &action), 0);
  EXPECT_EQ(action.sa_handler, SIG_IGN);
  // Delivered for real: the process survives.
  raise(SIGPIPE);
  SUCCEED();
}

}  // namespace
}  // namespace ethscan::common

#include "common/grpc/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/log/log.h"
#include "grpc/health/v1/health.pb.h"

namespace ethscan::common {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      const std::vector<grpc::Service*>& services) {
  // Linking and touching the generated health descriptors lets reflection describe
  // grpc.health.v1.Health, which gRPC's built-in health service does not register.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address,
                                               " (address in use, or not a local address?)"));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(true);
  return std::unique_ptr<Server>(new Server(std::move(server), port, options.shutdown_deadline));
}

Server::~Server() {
  Shutdown();
  Wait();
}

void Server::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    if (health != nullptr) health->Shutdown();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + shutdown_deadline_));
  });
}

void Server::Wait() { server_->Wait(); }

absl::StatusOr<ServerOptions> ServerOptionsFromFlags(const std::string& listen_flag,
                                                     const char* listen_env, int default_port,
                                                     const std::string& shutdown_deadline_flag) {
  ServerOptions options;
  options.listen_address =
      config::FlagOrEnv(listen_flag, listen_env, absl::StrCat("0.0.0.0:", default_port));
  absl::Status valid = config::ValidateHostPort(options.listen_address, "--listen");
  if (!valid.ok()) return valid;
  absl::StatusOr<absl::Duration> deadline =
      config::ParseDurationFlag(shutdown_deadline_flag, "--shutdown_deadline");
  if (!deadline.ok()) return deadline.status();
  options.shutdown_deadline = *deadline;
  return options;
}

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

absl::Status RunServer(const ServerOptions& options, const std::vector<grpc::Service*>& services,
                       const std::function<void()>& before_shutdown) {
  BlockTerminationSignals();
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, services);
  if (!server.ok()) return server.status();
  log::Info("listening on ", options.listen_address, " (port ", (*server)->port(), ")");
  int signal = WaitForTerminationSignal();
  log::Info("received signal ", signal, "; shutting down within ",
            absl::FormatDuration(options.shutdown_deadline));
  if (before_shutdown) before_shutdown();
  (*server)->Shutdown();
  (*server)->Wait();
  log::Info("stopped");
  return absl::OkStatus();
}

}  // namespace ethscan::common

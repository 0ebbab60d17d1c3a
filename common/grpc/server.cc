#include "common/grpc/server.h"

#include <google/protobuf/descriptor.h>
#include <grpc/grpc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_interceptor.h>
#include <signal.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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

void IgnoreBrokenPipes() { ::signal(SIGPIPE, SIG_IGN); }

// The full name of the request message of `method` ("/pkg.Service/Method"), or "" when the
// method is not in the generated descriptor pool.
std::string RequestMessageName(absl::string_view method) {
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          absl::StrReplaceAll(method, {{"/", "."}}));
  return descriptor == nullptr ? std::string() : descriptor->input_type()->full_name();
}

// gRPC answers a request body that does not parse as the method's request message with
// INTERNAL and an empty message (or "No payload" when there is none), which reads as a bug in
// the server. This interceptor turns that status into INVALID_ARGUMENT naming the message.
// A handler of ours never returns INTERNAL without a message.
class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ParseErrorInterceptor(grpc::experimental::ServerRpcInfo* info) : info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::INTERNAL &&
          (status.error_message().empty() || status.error_message() == "No payload")) {
        std::string name = RequestMessageName(info_->method());
        if (name.empty()) name = "request message";
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            status.error_message().empty()
                ? absl::StrCat("the request body is not a valid ", name, " (", info_->method(), ")")
                : absl::StrCat("the request carries no ", name, " (", info_->method(), ")")));
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
};

class ParseErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ParseErrorInterceptor(info);
  }
};

// The port part of "host:port", for messages.
absl::string_view PortOf(absl::string_view address) {
  const size_t colon = address.rfind(':');
  return colon == absl::string_view::npos ? absl::string_view() : address.substr(colon + 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      const std::vector<grpc::Service*>& services) {
  IgnoreBrokenPipes();
  // Linking and touching the generated health descriptors lets reflection describe
  // grpc.health.v1.Health, which gRPC's built-in health service does not register.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  // gRPC sets SO_REUSEPORT by default, which lets a second process bind a port that is in use
  // and take half of its calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<ParseErrorInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(creators));
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address,
                                               ": port ", PortOf(options.listen_address),
                                               " is in use, or the address is not local"));
  }
  std::unique_ptr<Server> result(new Server(std::move(server), port, options));
  grpc::HealthCheckServiceInterface* health = result->server_->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(true);
  result->CheckReadiness();
  if (options.readiness_check) {
    result->readiness_thread_ = std::thread([raw = result.get()] { raw->ReadinessLoop(); });
  }
  return result;
}

Server::~Server() {
  Shutdown();
  Wait();
}

bool Server::ready() const {
  absl::MutexLock lock(&mu_);
  return ready_;
}

void Server::CheckReadiness() {
  absl::Status status = options_.readiness_check ? options_.readiness_check() : absl::OkStatus();
  if (stopping_.HasBeenNotified()) return;
  const bool ready = status.ok();
  {
    absl::MutexLock lock(&mu_);
    std::string failure = ready ? std::string() : status.ToString();
    if (ready != ready_ || failure != last_failure_) {
      if (ready) {
        log::Info("ready: dependencies reachable again; readiness SERVING");
      } else {
        log::Warning("not ready: ", failure, "; readiness NOT_SERVING until it recovers");
      }
    }
    ready_ = ready;
    last_failure_ = std::move(failure);
  }
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  for (const std::string& name : options_.readiness_services) {
    health->SetServingStatus(name, ready);
  }
}

void Server::ReadinessLoop() {
  while (!stopping_.WaitForNotificationWithTimeout(options_.readiness_interval)) {
    CheckReadiness();
  }
}

void Server::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    stopping_.Notify();
    if (readiness_thread_.joinable()) readiness_thread_.join();
    grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    if (health != nullptr) health->Shutdown();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_deadline));
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
  IgnoreBrokenPipes();
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

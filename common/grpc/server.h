// The server bootstrap every ethscan service uses: gRPC health checking, server reflection
// (which can also describe grpc.health.v1.Health), and graceful shutdown on SIGTERM or
// SIGINT with a deadline.
#ifndef ETHSCAN_COMMON_GRPC_SERVER_H_
#define ETHSCAN_COMMON_GRPC_SERVER_H_

#include <grpcpp/server.h>
#include <grpcpp/support/config.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ethscan::common {

// How to run a server.
struct ServerOptions {
  // "host:port" to listen on; port 0 picks a free port (see Server::port()).
  std::string listen_address = "0.0.0.0:0";
  // How long in-flight calls may run after shutdown begins before they are cancelled.
  absl::Duration shutdown_deadline = absl::Seconds(10);
  // Largest request message accepted, in bytes.
  int max_receive_message_bytes = 64 * 1024 * 1024;
};

// A started gRPC server. Thread-safe. Destroying it shuts it down.
class Server {
 public:
  // Builds and starts a server with `services` (not owned; they must outlive the server),
  // the health service (every service name SERVING) and reflection. Returns UNAVAILABLE when
  // the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       const std::vector<grpc::Service*>& services);
  ~Server();

  // The port actually bound.
  int port() const { return port_; }
  // Marks every service NOT_SERVING, then stops accepting calls and waits up to the
  // shutdown deadline for in-flight calls. Idempotent.
  void Shutdown();
  // Blocks until the server has shut down.
  void Wait();
  grpc::Server* grpc_server() { return server_.get(); }

 private:
  Server(std::unique_ptr<grpc::Server> server, int port, absl::Duration deadline)
      : server_(std::move(server)), port_(port), shutdown_deadline_(deadline) {}

  std::unique_ptr<grpc::Server> server_;
  int port_;
  absl::Duration shutdown_deadline_;
  std::once_flag shutdown_once_;
};

// Server options from the usual flags: `listen_flag` (falling back to environment variable
// `listen_env`, then "0.0.0.0:<default_port>") and `shutdown_deadline_flag` ("10s").
// INVALID_ARGUMENT names the bad flag.
absl::StatusOr<ServerOptions> ServerOptionsFromFlags(const std::string& listen_flag,
                                                     const char* listen_env, int default_port,
                                                     const std::string& shutdown_deadline_flag);

// Blocks SIGTERM and SIGINT in the calling thread and the threads it starts later, so that
// WaitForTerminationSignal can receive them. Call first thing in main.
void BlockTerminationSignals();

// Waits until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForTerminationSignal();

// Starts a server, logs its address, runs until SIGTERM/SIGINT, then shuts it down
// gracefully. `before_shutdown` (optional) runs after the signal and before the server stops,
// for example to stop background workers. Returns the startup error, if any.
absl::Status RunServer(const ServerOptions& options, const std::vector<grpc::Service*>& services,
                       const std::function<void()>& before_shutdown = nullptr);

}  // namespace ethscan::common

#endif  // ETHSCAN_COMMON_GRPC_SERVER_H_

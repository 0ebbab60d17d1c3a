// The server bootstrap every ethscan service uses: gRPC health checking (liveness and
// readiness), server reflection (which can also describe grpc.health.v1.Health), request
// bodies that fail to parse answered INVALID_ARGUMENT, exclusive ports, SIGPIPE ignored, and
// graceful shutdown on SIGTERM or SIGINT with a deadline.
//
// Health: the service name "" is liveness and stays SERVING while the process runs; each
// name in ServerOptions::readiness_services is readiness and is SERVING only while
// ServerOptions::readiness_check passes (for example while Redis answers PING), so a
// Kubernetes readiness probe asks for that name and a liveness probe for "".
#ifndef ETHSCAN_COMMON_GRPC_SERVER_H_
#define ETHSCAN_COMMON_GRPC_SERVER_H_

#include <grpcpp/server.h>
#include <grpcpp/support/config.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
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
  // Health service names that report readiness, usually the full names of the services the
  // process serves ("ethscan.dataset.v1.DatasetService"). Without a readiness check they are
  // SERVING from the start.
  std::vector<std::string> readiness_services;
  // What readiness depends on: OK while every required dependency is reachable. Run before
  // the server starts and then every `readiness_interval` on a thread of the server's own;
  // each change is logged once. Must be thread-safe and return within a few seconds.
  std::function<absl::Status()> readiness_check;
  absl::Duration readiness_interval = absl::Seconds(2);
};

// A started gRPC server. Thread-safe. Destroying it shuts it down.
class Server {
 public:
  // Builds and starts a server with `services` (not owned; they must outlive the server),
  // the health service and reflection. The port is exclusive (no SO_REUSEPORT): a second
  // server on a port already in use fails. Returns UNAVAILABLE naming the port when the
  // address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       const std::vector<grpc::Service*>& services);
  ~Server();

  // The port actually bound.
  int port() const { return port_; }
  // Whether the last readiness check passed (true when there is none).
  bool ready() const;
  // Runs the readiness check now and publishes its result (the readiness thread does this
  // every readiness_interval).
  void CheckReadiness();
  // Marks every service NOT_SERVING, then stops accepting calls and waits up to the
  // shutdown deadline for in-flight calls. Idempotent.
  void Shutdown();
  // Blocks until the server has shut down.
  void Wait();
  grpc::Server* grpc_server() { return server_.get(); }

 private:
  Server(std::unique_ptr<grpc::Server> server, int port, const ServerOptions& options)
      : server_(std::move(server)), port_(port), options_(options) {}

  // The readiness thread: checks every readiness_interval until shutdown.
  void ReadinessLoop();

  std::unique_ptr<grpc::Server> server_;
  int port_;
  const ServerOptions options_;
  std::once_flag shutdown_once_;
  absl::Notification stopping_;
  mutable absl::Mutex mu_;
  bool ready_ ABSL_GUARDED_BY(mu_) = true;
  // The failure last logged, so a lasting failure is logged once.
  std::string last_failure_ ABSL_GUARDED_BY(mu_);
  std::thread readiness_thread_;
};

// Server options from the usual flags: `listen_flag` (falling back to environment variable
// `listen_env`, then "0.0.0.0:<default_port>") and `shutdown_deadline_flag` ("10s").
// INVALID_ARGUMENT names the bad flag.
absl::StatusOr<ServerOptions> ServerOptionsFromFlags(const std::string& listen_flag,
                                                     const char* listen_env, int default_port,
                                                     const std::string& shutdown_deadline_flag);

// Blocks SIGTERM and SIGINT in the calling thread and the threads it starts later, so that
// WaitForTerminationSignal can receive them, and ignores SIGPIPE process-wide, so that a write
// on a connection the peer has closed (a Redis that restarted, a client that went away) fails
// with EPIPE instead of killing the process. Call first thing in main.
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

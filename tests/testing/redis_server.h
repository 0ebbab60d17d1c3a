// A real redis-server started on a free loopback port for one test, stopped on destruction
// (its data folder removed with it).
#ifndef ETHSCAN_TESTS_TESTING_REDIS_SERVER_H_
#define ETHSCAN_TESTS_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace ethscan::testing {

class RedisServer {
 public:
  struct Options {
    // requirepass, when not empty: clients must AUTH (url() carries it).
    std::string password;
    // Append-only persistence (appendonly yes, appendfsync always): every write a client saw
    // acknowledged is on disk before the reply, so Restart() after Kill() (SIGKILL) loads
    // it all back from the AOF file in the server's data folder, which lives as long as this
    // object. When false (the default) the server persists nothing and starts empty.
    bool append_only = false;
  };

  // Starts redis-server (from PATH), persisting nothing unless `options.append_only`, and
  // waits until it answers PING.
  // UNAVAILABLE when redis-server is missing or does not come up.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start();
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(const Options& options);
  ~RedisServer();

  // Stops the server (SIGKILL, as a crash would) and starts it again on the same port, with
  // the same data folder (so an append-only server comes back with its data).
  absl::Status Restart();
  // Stops the server (SIGKILL, as a crash would); Launch starts it again on the same port.
  void Kill();
  // Starts the server (again) and waits until it answers PING.
  absl::Status Launch();

  int port() const { return port_; }
  // "redis://127.0.0.1:<port>", or "redis://:<password>@127.0.0.1:<port>".
  std::string url() const;

 private:
  RedisServer(int port, std::string dir, Options options)
      : port_(port), dir_(std::move(dir)), options_(std::move(options)) {}

  int port_;
  std::string dir_;
  Options options_;
  pid_t pid_ = -1;
};

}  // namespace ethscan::testing

#endif  // ETHSCAN_TESTS_TESTING_REDIS_SERVER_H_

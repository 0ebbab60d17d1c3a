// A small Redis client interface and its hiredis implementation. The implementation holds
// one connection, serialises commands on it, and reconnects after Redis restarts.
#ifndef ETHSCAN_COMMON_REDIS_REDIS_CLIENT_H_
#define ETHSCAN_COMMON_REDIS_REDIS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct redisContext;

namespace ethscan::redis {

// One reply, converted from hiredis's redisReply.
struct Reply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus };
  Type type = Type::kNil;
  // kString and kStatus.
  std::string str;
  // kInteger.
  int64_t integer = 0;
  // kArray.
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::kNil; }
};

// Issues Redis commands. Implementations are thread-safe.
class Client {
 public:
  virtual ~Client() = default;
  // Runs one command given as separate arguments (binary-safe). A Redis error reply is
  // returned as FAILED_PRECONDITION with Redis's message (for example "BUSYGROUP …"), except
  // LOADING and MASTERDOWN, which are UNAVAILABLE; a lost connection is UNAVAILABLE. A call
  // on a connection that broke since the last one (Redis restarted) reconnects and runs again
  // once before it fails.
  virtual absl::StatusOr<Reply> Command(const std::vector<std::string>& args) = 0;
  // Runs commands in one round trip, in order. Fails whole when any reply is an error.
  virtual absl::StatusOr<std::vector<Reply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands) = 0;
};

// Where and how to connect.
struct Options {
  // redis://[:password@]host[:port][/db]; default redis://127.0.0.1:6379.
  std::string url = "redis://127.0.0.1:6379";
  // Timeout for connecting.
  absl::Duration connect_timeout = absl::Seconds(2);
  // Timeout for one command's reply; must exceed any BLOCK time used on the connection.
  absl::Duration command_timeout = absl::Seconds(10);

  // Options with the URL from REDIS_URL when it is set.
  static Options FromEnv();
};

// Parsed form of a redis:// URL.
struct Endpoint {
  std::string host;
  int port = 6379;
  std::string password;
  int db = 0;
};

// Parses a redis:// URL. INVALID_ARGUMENT names what is wrong (quoting the URL with its
// password redacted).
absl::StatusOr<Endpoint> ParseUrl(const std::string& url);

// PING: OK while Redis answers; UNAVAILABLE when it cannot be reached or is still loading.
// For readiness checks.
absl::Status Ping(Client& client);

// hiredis-backed Client.
class HiredisClient final : public Client {
 public:
  // Checks the URL and connects once; returns UNAVAILABLE if Redis cannot be reached.
  static absl::StatusOr<std::unique_ptr<HiredisClient>> Create(const Options& options);
  // Checks the URL only; the first command connects. For services that must start (and
  // report themselves not ready) while Redis is still down. INVALID_ARGUMENT for a bad URL.
  static absl::StatusOr<std::unique_ptr<HiredisClient>> CreateLazy(const Options& options);
  ~HiredisClient() override;

  absl::StatusOr<Reply> Command(const std::vector<std::string>& args) override;
  absl::StatusOr<std::vector<Reply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands) override;

 private:
  HiredisClient(Options options, Endpoint endpoint)
      : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

  absl::Status ConnectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropConnectionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<Reply>> RunLocked(
      const std::vector<std::vector<std::string>>& commands) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const Endpoint endpoint_;
  absl::Mutex mu_;
  redisContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace ethscan::redis

#endif  // ETHSCAN_COMMON_REDIS_REDIS_CLIENT_H_

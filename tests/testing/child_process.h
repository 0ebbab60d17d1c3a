// A program started as a child process for integration tests, with its output in a log file.
// Destroying it sends SIGTERM, then SIGKILL if it has not exited within a few seconds.
#ifndef ETHSCAN_TESTS_TESTING_CHILD_PROCESS_H_
#define ETHSCAN_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ethscan::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`, the current environment plus `env`, and stdout and stderr
  // appended to `log_path`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
      const std::string& log_path);
  ~ChildProcess();

  // Sends SIGTERM and waits up to `grace` for the exit; then SIGKILL. Returns the exit status
  // as waitpid reports it, or -1 if it was already reaped.
  int Stop(absl::Duration grace = absl::Seconds(5));
  // SIGKILL, as a crash would.
  void Kill();
  bool Running();
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // The last `max_bytes` of the log, for failure messages.
  std::string LogTail(size_t max_bytes = 4000) const;

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
};

// Polls grpc.health.v1.Health/Check on `target` until it answers SERVING or `timeout` passes.
absl::Status WaitForHealthy(const std::string& target, absl::Duration timeout);

// Polls grpc.health.v1.Health/Check for `service` on `target` until it answers SERVING
// (`serving`) or anything else (NOT_SERVING), or `timeout` passes.
absl::Status WaitForHealth(const std::string& target, const std::string& service, bool serving,
                           absl::Duration timeout);

}  // namespace ethscan::testing

#endif  // ETHSCAN_TESTS_TESTING_CHILD_PROCESS_H_

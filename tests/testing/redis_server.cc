#include "tests/testing/redis_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis/redis_client.h"
#include "tests/testing/free_port.h"
#include "tests/testing/test_paths.h"

namespace ethscan::testing {

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start() { return Start(Options()); }

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(const Options& options) {
  std::unique_ptr<RedisServer> server(
      new RedisServer(PickFreePort(), MakeTempDir("redis"), options));
  absl::Status status = server->Launch();
  if (!status.ok()) return status;
  return server;
}

RedisServer::~RedisServer() {
  Kill();
  std::string cmd = absl::StrCat("rm -rf '", dir_, "'");
  if (std::system(cmd.c_str()) != 0) {
  }
}

std::string RedisServer::url() const {
  if (options_.password.empty()) return absl::StrCat("redis://127.0.0.1:", port_);
  return absl::StrCat("redis://:", options_.password, "@127.0.0.1:", port_);
}

absl::Status RedisServer::Launch() {
  std::string port = absl::StrCat(port_);
  pid_ = fork();
  if (pid_ < 0) return absl::UnavailableError("fork failed");
  if (pid_ == 0) {
    const char* append_only = options_.append_only ? "yes" : "no";
    std::vector<const char*> argv = {
        "redis-server", "--port",    port.c_str(), "--bind",     "127.0.0.1",  "--save", "",
        "--appendonly", append_only, "--dir",      dir_.c_str(), "--loglevel", "warning"};
    if (options_.append_only) {
      argv.push_back("--appendfsync");
      argv.push_back("always");
    }
    if (!options_.password.empty()) {
      argv.push_back("--requirepass");
      argv.push_back(options_.password.c_str());
    }
    argv.push_back(nullptr);
    execvp("redis-server", const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  redis::Options options;
  options.url = url();
  options.connect_timeout = absl::Milliseconds(200);
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          "redis-server exited at once (is it installed? run tools/dev setup)");
    }
    auto client = redis::HiredisClient::Create(options);
    if (client.ok() && (*client)->Command({"PING"}).ok()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::UnavailableError("redis-server did not answer PING within 10s");
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

absl::Status RedisServer::Restart() {
  Kill();
  return Launch();
}

}  // namespace ethscan::testing

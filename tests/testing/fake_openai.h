// The fake OpenAI fine-tuning API (tests/fakes/fake_openai.py) started as a child process on
// a free loopback port, for tests of the "openai" backend. Destroying it stops it.
#ifndef ETHSCAN_TESTS_TESTING_FAKE_OPENAI_H_
#define ETHSCAN_TESTS_TESTING_FAKE_OPENAI_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"

namespace ethscan::testing {

class FakeOpenAi {
 public:
  struct Options {
    // The key the fake accepts.
    std::string api_key = "sk-proj-fakeKEY0123456789abcdefSECRET";
    int steps = 12;
    double step_seconds = 0.05;
    // The first `rate_limit` requests get a 429 with retry-after(-ms), the next
    // `server_errors` alternately a 500 and an HTML 502.
    int rate_limit = 0;
    int server_errors = 0;
    // Every job creation gets a 429 insufficient_quota.
    bool insufficient_quota = false;
    // A running job fails when it reaches this step (0: never).
    int fail_at_step = 0;
  };

  // Starts the fake with its files in `dir` (its log, its request log).
  static absl::StatusOr<std::unique_ptr<FakeOpenAi>> Start(const Options& options,
                                                           const std::string& dir);

  // "http://127.0.0.1:<port>/v1": what OPENAI_BASE_URL is set to.
  const std::string& base_url() const { return base_url_; }
  const std::string& api_key() const { return api_key_; }
  // GET /_fake/state: every job, file and request count.
  absl::StatusOr<nlohmann::json> State() const;
  // Every request the fake answered, one JSON object per line.
  std::string RequestLog() const;
  ChildProcess* process() { return process_.get(); }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string base_url_;
  std::string api_key_;
  std::string request_log_;
  int port_ = 0;
};

}  // namespace ethscan::testing

#endif  // ETHSCAN_TESTS_TESTING_FAKE_OPENAI_H_

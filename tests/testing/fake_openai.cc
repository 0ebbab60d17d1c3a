#include "tests/testing/fake_openai.h"

#include "absl/strings/str_cat.h"
#include "tests/testing/python_fake.h"

namespace ethscan::testing {

absl::StatusOr<std::unique_ptr<FakeOpenAi>> FakeOpenAi::Start(const Options& options,
                                                              const std::string& dir) {
  auto fake = std::unique_ptr<FakeOpenAi>(new FakeOpenAi());
  fake->request_log_ = absl::StrCat(dir, "/fake_openai.requests.jsonl");
  fake->api_key_ = options.api_key;
  std::vector<std::string> args = {"--api-key",       options.api_key,
                                   "--log",           fake->request_log_,
                                   "--steps",         absl::StrCat(options.steps),
                                   "--step-seconds",  absl::StrCat(options.step_seconds),
                                   "--rate-limit",    absl::StrCat(options.rate_limit),
                                   "--server-errors", absl::StrCat(options.server_errors),
                                   "--fail-at-step",  absl::StrCat(options.fail_at_step)};
  if (options.insufficient_quota) args.push_back("--insufficient-quota");
  absl::StatusOr<PythonFake> started = StartPythonFake("fake_openai.py", args, dir, "fake_openai");
  if (!started.ok()) return started.status();
  fake->process_ = std::move(started->process);
  fake->port_ = started->port;
  fake->base_url_ = absl::StrCat("http://127.0.0.1:", started->port, "/v1");
  return fake;
}

absl::StatusOr<nlohmann::json> FakeOpenAi::State() const { return FakeState(port_); }

std::string FakeOpenAi::RequestLog() const { return ReadWholeFile(request_log_); }

}  // namespace ethscan::testing

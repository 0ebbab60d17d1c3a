#include "tests/testing/fake_openai.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "tests/testing/test_paths.h"

namespace ethscan::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The python3 on PATH.
std::string Python() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "/usr/bin" : path, ':')) {
    std::string candidate = absl::StrCat(dir, "/python3");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "/usr/bin/python3";
}

}  // namespace

absl::StatusOr<std::unique_ptr<FakeOpenAi>> FakeOpenAi::Start(const Options& options,
                                                              const std::string& dir) {
  auto fake = std::unique_ptr<FakeOpenAi>(new FakeOpenAi());
  const std::string port_file = absl::StrCat(dir, "/fake_openai.port");
  fake->request_log_ = absl::StrCat(dir, "/fake_openai.requests.jsonl");
  fake->api_key_ = options.api_key;
  std::vector<std::string> argv = {
      Python(),          absl::StrCat(SourceDir(), "/tests/fakes/fake_openai.py"),
      "--port-file",     port_file,
      "--api-key",       options.api_key,
      "--log",           fake->request_log_,
      "--steps",         absl::StrCat(options.steps),
      "--step-seconds",  absl::StrCat(options.step_seconds),
      "--rate-limit",    absl::StrCat(options.rate_limit),
      "--server-errors", absl::StrCat(options.server_errors),
      "--fail-at-step",  absl::StrCat(options.fail_at_step)};
  if (options.insufficient_quota) argv.push_back("--insufficient-quota");
  std::remove(port_file.c_str());  // A port file of an earlier fake in `dir`.
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(argv, {}, absl::StrCat(dir, "/fake_openai.log"));
  if (!process.ok()) return process.status();
  fake->process_ = *std::move(process);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  int port = 0;
  while (absl::Now() < deadline) {
    std::string text(absl::StripAsciiWhitespace(ReadFile(port_file)));
    if (!text.empty() && absl::SimpleAtoi(text, &port) && port > 0) break;
    if (!fake->process_->Running()) {
      return absl::InternalError(
          absl::StrCat("the fake OpenAI API exited: ", fake->process_->LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (port <= 0) return absl::DeadlineExceededError("the fake OpenAI API did not start in 20 s");
  fake->base_url_ = absl::StrCat("http://127.0.0.1:", port, "/v1");
  return fake;
}

absl::StatusOr<nlohmann::json> FakeOpenAi::State() const {
  http::CurlClient client;
  http::Request request;
  request.url = absl::StrCat(absl::StripSuffix(base_url_, "/v1"), "/_fake/state");
  absl::StatusOr<http::Response> response = client.Send(request);
  if (!response.ok()) return response.status();
  nlohmann::json state = nlohmann::json::parse(response->body, nullptr, false);
  if (!state.is_object()) return absl::InternalError("the fake's state is not JSON");
  return state;
}

std::string FakeOpenAi::RequestLog() const { return ReadFile(request_log_); }

}  // namespace ethscan::testing

#include "tests/testing/python_fake.h"

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

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<PythonFake> StartPythonFake(const std::string& script,
                                           const std::vector<std::string>& args,
                                           const std::string& dir, const std::string& name) {
  const std::string port_file = absl::StrCat(dir, "/", name, ".port");
  std::remove(port_file.c_str());  // A port file of an earlier fake in `dir`.
  std::vector<std::string> argv = {Python(), absl::StrCat(SourceDir(), "/tests/fakes/", script),
                                   "--port-file", port_file};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(argv, {}, absl::StrCat(dir, "/", name, ".log"));
  if (!process.ok()) return process.status();
  PythonFake fake;
  fake.process = *std::move(process);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    std::string text(absl::StripAsciiWhitespace(ReadWholeFile(port_file)));
    if (!text.empty() && absl::SimpleAtoi(text, &fake.port) && fake.port > 0) return fake;
    if (!fake.process->Running()) {
      return absl::InternalError(
          absl::StrCat("the fake ", script, " exited: ", fake.process->LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("the fake ", script, " did not start in 20 s"));
}

absl::Status RunPythonScript(const std::string& script, const std::vector<std::string>& args) {
  std::string command =
      absl::StrCat("'", Python(), "' '", SourceDir(), "/tests/fakes/", script, "'");
  for (const std::string& a : args) absl::StrAppend(&command, " '", a, "'");
  const int status = std::system(command.c_str());
  if (status != 0) {
    return absl::InternalError(absl::StrCat(command, " exited with status ", status));
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> FakeState(int port) {
  http::CurlClient client;
  http::Request request;
  request.url = absl::StrCat("http://127.0.0.1:", port, "/_fake/state");
  absl::StatusOr<http::Response> response = client.Send(request);
  if (!response.ok()) return response.status();
  nlohmann::json state = nlohmann::json::parse(response->body, nullptr, false);
  if (!state.is_object()) return absl::InternalError("the fake's state is not JSON");
  return state;
}

}  // namespace ethscan::testing

// Starts one of the fake outside APIs of tests/fakes/ (a python3 script that binds a free
// loopback port and writes it to --port-file) as a child process and waits for its port.
#ifndef ETHSCAN_TESTS_TESTING_PYTHON_FAKE_H_
#define ETHSCAN_TESTS_TESTING_PYTHON_FAKE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"

namespace ethscan::testing {

struct PythonFake {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
};

// Runs tests/fakes/<script> with `args` plus --port-file, its output in <dir>/<name>.log.
absl::StatusOr<PythonFake> StartPythonFake(const std::string& script,
                                           const std::vector<std::string>& args,
                                           const std::string& dir, const std::string& name);

// Runs tests/fakes/<script> with `args` to its end (a fake's offline modes, such as writing a
// fixture); OK when it exits 0.
absl::Status RunPythonScript(const std::string& script, const std::vector<std::string>& args);

// GET http://127.0.0.1:<port>/_fake/state as JSON.
absl::StatusOr<nlohmann::json> FakeState(int port);

// A whole file ("" when it cannot be read).
std::string ReadWholeFile(const std::string& path);

}  // namespace ethscan::testing

#endif  // ETHSCAN_TESTS_TESTING_PYTHON_FAKE_H_

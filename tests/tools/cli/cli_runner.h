// Runs `ethscan` command lines in-process against InProcessServices, with a fixed environment
// and captured stdout and stderr, for tests of whole commands. Not thread-safe.
#ifndef ETHSCAN_TESTS_TOOLS_CLI_CLI_RUNNER_H_
#define ETHSCAN_TESTS_TOOLS_CLI_CLI_RUNNER_H_

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cli/fake_services.h"

namespace ethscan::cli::testing {

class CliRunner {
 public:
  // Runs one command line (without the program name); returns the exit status. stdout and
  // stderr of the run are in out() and err() afterwards.
  int Run(const std::vector<std::string>& args);

  std::string out() const { return out_.str(); }
  std::string err() const { return err_.str(); }
  // stdout split into lines, empty ones dropped.
  std::vector<std::string> OutLines() const;
  // stderr split into lines, empty ones dropped.
  std::vector<std::string> ErrLines() const;

  InProcessServices& services() { return services_; }
  // Environment variables the CLI sees.
  std::map<std::string, std::string>& env() { return env_; }
  // "inference@TARGET", … for every stub made so far.
  const std::vector<std::string>& targets() const { return targets_; }

 private:
  InProcessServices services_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> targets_;
  std::ostringstream out_;
  std::ostringstream err_;
};

}  // namespace ethscan::cli::testing

#endif  // ETHSCAN_TESTS_TOOLS_CLI_CLI_RUNNER_H_

// The `ethscan` command-line client as a library: parses the command line, prints help and
// usage errors, and runs the command over stubs from an injected ClientFactory. main.cc only
// wires in the real factory, the environment and the standard streams. Not thread-safe.
#ifndef ETHSCAN_TOOLS_CLI_CLI_H_
#define ETHSCAN_TOOLS_CLI_CLI_H_

#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "common/time/clock.h"
#include "tools/cli/arg_parser.h"
#include "tools/cli/client_factory.h"

namespace ethscan::cli {

class Cli {
 public:
  struct Options {
    // True when `err` is a terminal (main.cc asks isatty): upload progress bars are drawn.
    bool err_is_terminal = false;
    // Time for progress rates; nullptr means the system clock. Must outlive the Cli.
    const common::Clock* clock = nullptr;
  };

  // `env` looks up environment variables (ETHSCAN_GATEWAY_ADDR, ETHSCAN_API_KEY, …). `out`
  // and `err` must outlive the Cli.
  Cli(std::unique_ptr<ClientFactory> factory, EnvLookup env, std::ostream& out, std::ostream& err,
      Options options);
  Cli(std::unique_ptr<ClientFactory> factory, EnvLookup env, std::ostream& out, std::ostream& err)
      : Cli(std::move(factory), std::move(env), out, err, Options()) {}

  // Runs one command line (without the program name) and returns the exit status: 0 on
  // success, 1 when a call or job failed, 2 for usage errors and unavailable commands.
  int Run(const std::vector<std::string>& args);

 private:
  std::unique_ptr<ClientFactory> factory_;
  EnvLookup env_;
  std::ostream& out_;
  std::ostream& err_;
  Options options_;
};

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_CLI_H_

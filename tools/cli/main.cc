// The `ethscan` command-line client. See `ethscan help`.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "tools/cli/cli.h"
#include "tools/cli/client_factory.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  ethscan::cli::Cli::Options options;
  options.err_is_terminal = isatty(STDERR_FILENO) == 1;
  ethscan::cli::Cli cli(
      std::make_unique<ethscan::cli::GrpcClientFactory>(),
      [](absl::string_view name) { return ethscan::config::GetEnv(name); }, std::cout, std::cerr,
      options);
  return cli.Run(args);
}

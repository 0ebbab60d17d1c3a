#include "tests/tools/cli/cli_runner.h"

#include "absl/strings/str_split.h"
#include "tools/cli/cli.h"

namespace ethscan::cli::testing {

int CliRunner::Run(const std::vector<std::string>& args) {
  out_.str("");
  err_.str("");
  Cli cli(
      services_.NewFactory(&targets_),
      [this](absl::string_view name) {
        auto it = env_.find(std::string(name));
        return it == env_.end() ? std::string() : it->second;
      },
      out_, err_);
  return cli.Run(args);
}

std::vector<std::string> CliRunner::OutLines() const {
  return absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
}

std::vector<std::string> CliRunner::ErrLines() const {
  return absl::StrSplit(err_.str(), '\n', absl::SkipEmpty());
}

}  // namespace ethscan::cli::testing

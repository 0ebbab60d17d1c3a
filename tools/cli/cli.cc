#include "tools/cli/cli.h"

#include <utility>

#include "absl/status/statusor.h"
#include "tools/cli/commands.h"

namespace ethscan::cli {

Cli::Cli(std::unique_ptr<ClientFactory> factory, EnvLookup env, std::ostream& out,
         std::ostream& err, Options options)
    : factory_(std::move(factory)), env_(std::move(env)), out_(out), err_(err), options_(options) {}

int Cli::Run(const std::vector<std::string>& args) {
  absl::StatusOr<Invocation> invocation = ParseCommandLine(args, env_);
  if (!invocation.ok()) {
    err_ << "ethscan: " << invocation.status().message() << "\n";
    return kExitUsage;
  }
  if (invocation->help) {
    out_ << invocation->help_text;
    return kExitOk;
  }
  const common::Clock& clock =
      options_.clock != nullptr ? *options_.clock : common::SystemClock::Get();
  CommandContext context{*invocation, *factory_, out_, err_, clock, options_.err_is_terminal};
  int exit_code = RunCommand(context);
  out_.flush();
  err_.flush();
  return exit_code;
}

}  // namespace ethscan::cli

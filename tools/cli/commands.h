// The `ethscan` commands: each turns a parsed Invocation into RPCs over the stubs a
// ClientFactory makes and prints the results (readable text, or one protobuf JSON object per
// line with --json). Every call carries a deadline and, when configured, the "x-api-key"
// metadata. Not thread-safe: one command runs at a time on the calling thread.
#ifndef ETHSCAN_TOOLS_CLI_COMMANDS_H_
#define ETHSCAN_TOOLS_CLI_COMMANDS_H_

#include <grpcpp/client_context.h>

#include <ostream>

#include "absl/time/time.h"
#include "common/time/clock.h"
#include "tools/cli/arg_parser.h"
#include "tools/cli/client_factory.h"

namespace ethscan::cli {

// What a command needs; nothing is owned.
struct CommandContext {
  const Invocation& invocation;
  ClientFactory& factory;
  // Results go to `out`; errors, progress for humans and hints go to `err`.
  std::ostream& out;
  std::ostream& err;
  // Time for progress rates.
  const common::Clock& clock;
  // True when `err` is a terminal: progress bars are drawn unless --no-progress.
  bool err_is_terminal = false;
};

// Sets the deadline (`timeout` from now) and the API key metadata on a call's context.
void PrepareContext(grpc::ClientContext* context, const GlobalOptions& globals,
                    absl::Duration timeout);

// Runs `context.invocation.command`. Returns the process exit status (kExitOk, kExitFailure,
// kExitUsage).
int RunCommand(const CommandContext& context);

// The commands, by group. Each expects an invocation of its own group.
int RunScan(const CommandContext& context);
int RunDatasets(const CommandContext& context);
int RunJobs(const CommandContext& context);
int RunModels(const CommandContext& context);
int RunHealth(const CommandContext& context);
int RunPredict(const CommandContext& context);

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_COMMANDS_H_

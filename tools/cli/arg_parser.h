// Command-line grammar of the `ethscan` client: the command table, global options and a
// hand-written parser for `ethscan [GLOBAL FLAGS] COMMAND [SUBCOMMAND] [ARGS] [FLAGS]`.
//
// Global flags may appear anywhere on the line; command flags after the command. Flags take
// their value as `--flag value` or `--flag=value` (a one-letter alias as `-o value`); boolean
// flags take none (or `=true`, `=false`); `--` ends flag parsing. Everything here is pure (no I/O)
// and thread-compatible: the command table is immutable after first use.
#ifndef ETHSCAN_TOOLS_CLI_ARG_PARSER_H_
#define ETHSCAN_TOOLS_CLI_ARG_PARSER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ethscan::cli {

// Process exit statuses.
inline constexpr int kExitOk = 0;
// A call failed, a job did not succeed, or a file could not be read.
inline constexpr int kExitFailure = 1;
// The command line was wrong (unknown command or flag, missing argument, bad value), or the
// command is not available yet.
inline constexpr int kExitUsage = 2;

// One flag a command accepts.
struct FlagSpec {
  // Name without the leading "--".
  std::string name;
  // Placeholder shown in usage ("ID", "N"); empty for a boolean flag.
  std::string value_name;
  // One-line description.
  std::string help;
  // True when the flag may be given more than once.
  bool repeated = false;
  // One-letter alias used with a single dash ("o" for `-o FILE`); empty for none.
  std::string short_name = "";
};

// One command of the table.
struct CommandSpec {
  // First word: "scan", "datasets", "jobs", "models", "predict", "health".
  std::string group;
  // Second word for grouped commands ("upload", "list", …); empty for single-word commands.
  std::string name;
  // Positional arguments as shown in usage ("FILE", "ADDRESS...").
  std::string args_usage;
  // One-line description.
  std::string summary;
  // Further help text printed by `--help` (may be empty).
  std::string details;
  // Number of positional arguments accepted; max_args < 0 means no upper bound.
  int min_args = 0;
  int max_args = 0;
  std::vector<FlagSpec> flags;
  // Hidden commands work but are not listed in the top-level usage.
  bool hidden = false;

  // "datasets upload", "scan".
  std::string FullName() const;
};

// Every command, in usage order.
const std::vector<CommandSpec>& Commands();

// Returns the command `group name` (name empty for single-word commands), or nullptr.
const CommandSpec* FindCommand(absl::string_view group, absl::string_view name);

// Options that apply to every command.
struct GlobalOptions {
  // Gateway target: --gateway, else ETHSCAN_GATEWAY_ADDR, else localhost:50051.
  std::string gateway;
  // Dataset service target: --dataset-service, else ETHSCAN_DATASET_ADDR, else localhost:50052.
  std::string dataset_service;
  // Training service (and model registry) target: --training-service, else
  // ETHSCAN_TRAINING_ADDR, else localhost:50053.
  std::string training_service;
  // Inference service target: --inference, else ETHSCAN_INFERENCE_ADDR, else localhost:50054.
  std::string inference;
  // --json: print response messages as protobuf JSON, one per line, and nothing else.
  bool json = false;
  // --timeout: deadline of each unary call and of each upload stream.
  absl::Duration timeout = absl::Seconds(30);
  // ETHSCAN_API_KEY, sent as metadata "x-api-key" when not empty.
  std::string api_key;
};

// Looks up an environment variable; returns "" when unset.
using EnvLookup = std::function<std::string(absl::string_view)>;

// A parsed command line.
struct Invocation {
  // True when help was asked for (`help`, `--help`, `-h`) instead of running a command.
  bool help = false;
  // The help text to print when `help` is true.
  std::string help_text;
  // The command to run (nullptr when `help` is true).
  const CommandSpec* command = nullptr;
  std::vector<std::string> args;
  // Command flags by name; boolean flags hold "true" or "false".
  std::map<std::string, std::vector<std::string>> flags;
  GlobalOptions globals;

  // True when the flag was given (a boolean flag given as `=false` counts as not given).
  bool Has(absl::string_view flag) const;
  // The last value of a flag, or `default_value`.
  std::string Get(absl::string_view flag, absl::string_view default_value = "") const;
  // Every value of a repeated flag, in order.
  std::vector<std::string> GetAll(absl::string_view flag) const;
};

// Parses `args` (without the program name). Environment variables fill the global options
// the flags leave unset. A usage error is INVALID_ARGUMENT whose message says what is wrong
// and how to get help.
absl::StatusOr<Invocation> ParseCommandLine(const std::vector<std::string>& args,
                                            const EnvLookup& env);

// Usage texts.
std::string TopLevelUsage();
std::string GroupUsage(absl::string_view group);
std::string CommandUsage(const CommandSpec& command);

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_ARG_PARSER_H_

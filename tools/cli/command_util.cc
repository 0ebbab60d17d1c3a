#include "tools/cli/command_util.h"

#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tools/cli/output.h"

namespace ethscan::cli {

Endpoint GatewayEndpoint(const GlobalOptions& g) {
  return {"gateway", "--gateway", "ETHSCAN_GATEWAY_ADDR", g.gateway};
}
Endpoint DatasetEndpoint(const GlobalOptions& g) {
  return {"dataset service", "--dataset-service", "ETHSCAN_DATASET_ADDR", g.dataset_service};
}
Endpoint TrainingEndpoint(const GlobalOptions& g) {
  return {"training service", "--training-service", "ETHSCAN_TRAINING_ADDR", g.training_service};
}
Endpoint InferenceEndpoint(const GlobalOptions& g) {
  return {"inference service", "--inference", "ETHSCAN_INFERENCE_ADDR", g.inference};
}

std::string CodeName(const grpc::Status& status) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
}

void PrintReachabilityHint(const CommandContext& c, const Endpoint& endpoint) {
  c.err << "ethscan: is the " << endpoint.what << " running at " << endpoint.target << "? (set "
        << endpoint.flag << " or " << endpoint.env << ")\n";
}

namespace {

// Prints the failure; `deadline` is the stream's scaled deadline, or nullopt for a call with
// --timeout itself.
int PrintRpcFailure(const CommandContext& c, const grpc::Status& status, const Endpoint& endpoint,
                    std::optional<absl::Duration> deadline) {
  c.err << "ethscan " << c.invocation.command->FullName() << ": " << CodeName(status) << ": "
        << status.error_message() << "\n";
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) PrintReachabilityHint(c, endpoint);
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    const std::string timeout = absl::FormatDuration(c.invocation.globals.timeout);
    if (deadline.has_value()) {
      c.err << "ethscan: the stream did not finish within " << absl::FormatDuration(*deadline)
            << " (scaled from --timeout " << timeout << " by its size); a longer --timeout "
            << "scales it up\n";
    } else {
      c.err << "ethscan: the call did not finish within --timeout " << timeout
            << "; a large file or dataset may need a longer one\n";
    }
  }
  return kExitFailure;
}

}  // namespace

int RpcFailure(const CommandContext& c, const grpc::Status& status, const Endpoint& endpoint) {
  return PrintRpcFailure(c, status, endpoint, std::nullopt);
}

int RpcFailure(const CommandContext& c, const grpc::Status& status, const Endpoint& endpoint,
               absl::Duration deadline) {
  return PrintRpcFailure(c, status, endpoint, deadline);
}

int UsageFailure(const CommandContext& c, absl::string_view message) {
  const std::string name = c.invocation.command->FullName();
  c.err << "ethscan " << name << ": " << message << "\nRun 'ethscan " << name
        << " --help' for usage.\n";
  return kExitUsage;
}

int Failure(const CommandContext& c, absl::string_view message) {
  c.err << "ethscan " << c.invocation.command->FullName() << ": " << message << "\n";
  return kExitFailure;
}

int RunSubcommand(const CommandContext& c, std::initializer_list<Subcommand> table) {
  const std::string& name = c.invocation.command->name;
  for (const Subcommand& subcommand : table) {
    if (name == subcommand.name) return subcommand.run(c);
  }
  return UsageFailure(c, absl::StrCat("unknown ", c.invocation.command->group, " command"));
}

void PrintJson(const CommandContext& c, const google::protobuf::Message& message) {
  c.out << ToJsonLine(message) << "\n";
}

bool ParseUint64Flag(const CommandContext& c, absl::string_view flag, uint64_t default_value,
                     uint64_t* out, int* exit_code) {
  *out = default_value;
  if (!c.invocation.Has(flag)) return true;
  const std::string text = c.invocation.Get(flag);
  if (!absl::SimpleAtoi(text, out)) {
    *exit_code =
        UsageFailure(c, absl::StrCat("--", flag, " \"", text, "\" is not a non-negative integer"));
    return false;
  }
  return true;
}

bool ParseUint32Flag(const CommandContext& c, absl::string_view flag, uint32_t default_value,
                     uint32_t* out, int* exit_code) {
  uint64_t value = 0;
  if (!ParseUint64Flag(c, flag, default_value, &value, exit_code)) return false;
  if (value > std::numeric_limits<uint32_t>::max()) {
    *exit_code = UsageFailure(c, absl::StrCat("--", flag, " ", value, " is too large"));
    return false;
  }
  *out = static_cast<uint32_t>(value);
  return true;
}

bool ParseDoubleFlag(const CommandContext& c, absl::string_view flag, double default_value,
                     double* out, int* exit_code) {
  *out = default_value;
  if (!c.invocation.Has(flag)) return true;
  const std::string text = c.invocation.Get(flag);
  if (!absl::SimpleAtod(text, out) || !std::isfinite(*out)) {
    *exit_code = UsageFailure(c, absl::StrCat("--", flag, " \"", text, "\" is not a number"));
    return false;
  }
  return true;
}

}  // namespace ethscan::cli

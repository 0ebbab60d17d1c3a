// Helpers shared by the `ethscan` commands (commands.cc, dataset_commands.cc): error printing
// with the conventions of the CLI, flag value parsing, and the two call shapes most commands
// are made of, a unary call whose response is printed and a paged listing. Internal to the CLI
// library. Not thread-safe, like the commands.
#ifndef ETHSCAN_TOOLS_CLI_COMMAND_UTIL_H_
#define ETHSCAN_TOOLS_CLI_COMMAND_UTIL_H_

#include <google/protobuf/message.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/cli/arg_parser.h"
#include "tools/cli/commands.h"

namespace ethscan::cli {

// The service a command talks to, for error hints.
struct Endpoint {
  const char* what;  // "gateway", "dataset service", …
  const char* flag;  // "--gateway"
  const char* env;   // "ETHSCAN_GATEWAY_ADDR"
  std::string target;
};

Endpoint GatewayEndpoint(const GlobalOptions& g);
Endpoint DatasetEndpoint(const GlobalOptions& g);
Endpoint TrainingEndpoint(const GlobalOptions& g);
Endpoint InferenceEndpoint(const GlobalOptions& g);

// "NOT_FOUND", "FAILED_PRECONDITION", …
std::string CodeName(const grpc::Status& status);

// "ethscan: is the <service> running at <target>? (set <flag> or <env>)" on stderr.
void PrintReachabilityHint(const CommandContext& c, const Endpoint& endpoint);
// Prints a failed call as "ethscan <command>: CODE: message" (then the reachability hint for
// UNAVAILABLE, the --timeout hint for DEADLINE_EXCEEDED) and returns kExitFailure.
int RpcFailure(const CommandContext& c, const grpc::Status& status, const Endpoint& endpoint);
// The same for a stream whose deadline, `deadline`, was scaled from --timeout by the work it
// carries: the DEADLINE_EXCEEDED hint names it.
int RpcFailure(const CommandContext& c, const grpc::Status& status, const Endpoint& endpoint,
               absl::Duration deadline);
// Prints "ethscan <command>: message" and how to get help; returns kExitUsage.
int UsageFailure(const CommandContext& c, absl::string_view message);
// Prints "ethscan <command>: message"; returns kExitFailure.
int Failure(const CommandContext& c, absl::string_view message);
// Prints `message` as one protobuf JSON line on stdout.
void PrintJson(const CommandContext& c, const google::protobuf::Message& message);

// Flag value parsers: store the flag's value (or `default_value` when it is absent) and return
// true; on a bad value print a usage error, set `*exit_code` and return false.
bool ParseUint64Flag(const CommandContext& c, absl::string_view flag, uint64_t default_value,
                     uint64_t* out, int* exit_code);
// Also rejects values that do not fit 32 bits.
bool ParseUint32Flag(const CommandContext& c, absl::string_view flag, uint32_t default_value,
                     uint32_t* out, int* exit_code);
bool ParseDoubleFlag(const CommandContext& c, absl::string_view flag, double default_value,
                     double* out, int* exit_code);

// One subcommand of a group and the function that runs it.
struct Subcommand {
  const char* name;
  int (*run)(const CommandContext&);
};

// Runs the entry of `table` named like the invocation's command; a usage error when none is.
int RunSubcommand(const CommandContext& c, std::initializer_list<Subcommand> table);

// A synchronous unary method of a generated StubInterface, e.g.
// &dataset::v1::DatasetService::StubInterface::GetDataset.
template <typename Stub, typename Request, typename Response>
using UnaryMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

// Makes one unary call with the command's deadline and API key.
template <typename Stub, typename Request, typename Response>
grpc::Status CallUnary(const CommandContext& c, Stub& stub,
                       UnaryMethod<Stub, Request, Response> method, const Request& request,
                       Response* response) {
  grpc::ClientContext context;
  PrepareContext(&context, c.invocation.globals, c.invocation.globals.timeout);
  return (stub.*method)(&context, request, response);
}

// Makes one unary call; on success prints the response as a JSON line with --json, else
// calls `print_text(response)`, and returns kExitOk; on failure prints it (RpcFailure) and
// returns kExitFailure.
template <typename Stub, typename Request, typename Response, typename PrintText>
int CallAndPrint(const CommandContext& c, const Endpoint& endpoint, Stub& stub,
                 UnaryMethod<Stub, Request, Response> method, const Request& request,
                 PrintText print_text) {
  Response response;
  grpc::Status status = CallUnary(c, stub, method, request, &response);
  if (!status.ok()) return RpcFailure(c, status, endpoint);
  if (c.invocation.globals.json) {
    PrintJson(c, response);
  } else {
    print_text(response);
  }
  return kExitOk;
}

// Safety stop for paging loops against a misbehaving server.
inline constexpr int kMaxPages = 10000;

// Lists every page of a List* method: sends `request` with each page token until the response
// has no `next_page_token`. With --json prints each response as a JSON line, otherwise prints
// `format(all items)`, where `items(response)` returns a response's repeated items.
template <typename Stub, typename Request, typename Response, typename Items, typename Format>
int ListAndPrint(const CommandContext& c, const Endpoint& endpoint, Stub& stub,
                 UnaryMethod<Stub, Request, Response> method, Request request, Items items,
                 Format format) {
  using Item = typename std::decay_t<decltype(items(std::declval<const Response&>()))>::value_type;
  std::vector<Item> all;
  std::string token;
  for (int page = 0; page < kMaxPages; ++page) {
    request.set_page_token(token);
    Response response;
    grpc::Status status = CallUnary(c, stub, method, request, &response);
    if (!status.ok()) return RpcFailure(c, status, endpoint);
    if (c.invocation.globals.json) PrintJson(c, response);
    all.insert(all.end(), items(response).begin(), items(response).end());
    if (response.next_page_token().empty() || response.next_page_token() == token) break;
    token = response.next_page_token();
  }
  if (!c.invocation.globals.json) c.out << format(all);
  return kExitOk;
}

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_COMMAND_UTIL_H_

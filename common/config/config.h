// Configuration from flags and the environment. A flag that was set wins over the
// environment variable, which wins over the built-in default.
#ifndef ETHSCAN_COMMON_CONFIG_CONFIG_H_
#define ETHSCAN_COMMON_CONFIG_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ethscan::config {

// Default ports of the fixed public contract.
inline constexpr int kGatewayPort = 50051;
inline constexpr int kDatasetPort = 50052;
inline constexpr int kTrainingPort = 50053;
inline constexpr int kInferencePort = 50054;
inline constexpr int kEnrichmentPort = 50055;
inline constexpr int kTrainingWorkerPort = 50056;

// The value of environment variable `name`, or `default_value` when unset or empty.
std::string GetEnv(absl::string_view name, absl::string_view default_value = "");

// `flag_value` when not empty, else environment variable `env`, else `default_value`.
std::string FlagOrEnv(absl::string_view flag_value, absl::string_view env,
                      absl::string_view default_value);

// Checks a "host:port" listen or target address (IPv6 hosts in brackets; an empty host means
// every interface). Returns INVALID_ARGUMENT naming `what` on failure.
absl::Status ValidateHostPort(absl::string_view address, absl::string_view what);

// Parses a duration such as "5s", "250ms", "2m". INVALID_ARGUMENT naming `what` on failure.
absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text, absl::string_view what);

// Where the services listen and where clients find them. Each target comes from
// ETHSCAN_<SERVICE>_ADDR, defaulting to localhost and the contract's port.
struct ServiceTargets {
  std::string gateway;
  std::string dataset;
  std::string training;
  std::string inference;
  std::string enrichment;

  static ServiceTargets FromEnv();
};

}  // namespace ethscan::config

#endif  // ETHSCAN_COMMON_CONFIG_CONFIG_H_

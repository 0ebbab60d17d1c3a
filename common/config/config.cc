#include "common/config/config.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ethscan::config {

std::string GetEnv(absl::string_view name, absl::string_view default_value) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr || *value == '\0') return std::string(default_value);
  return value;
}

std::string FlagOrEnv(absl::string_view flag_value, absl::string_view env,
                      absl::string_view default_value) {
  if (!flag_value.empty()) return std::string(flag_value);
  return GetEnv(env, default_value);
}

absl::Status ValidateHostPort(absl::string_view address, absl::string_view what) {
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, " \"", address, "\" must be HOST:PORT"));
  }
  absl::string_view host = address.substr(0, colon);
  if (!host.empty() && host.front() == '[' && host.back() != ']') {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", address, "\": unterminated IPv6 host"));
  }
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", address, "\": port must be a number from 0 to 65535"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text, absl::string_view what) {
  absl::Duration d;
  if (!absl::ParseDuration(std::string(text), &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", text, "\" is not a duration (use for example 500ms, 5s, 2m)"));
  }
  return d;
}

ServiceTargets ServiceTargets::FromEnv() {
  auto local = [](int port) { return absl::StrCat("localhost:", port); };
  ServiceTargets t;
  t.gateway = GetEnv("ETHSCAN_GATEWAY_ADDR", local(kGatewayPort));
  t.dataset = GetEnv("ETHSCAN_DATASET_ADDR", local(kDatasetPort));
  t.training = GetEnv("ETHSCAN_TRAINING_ADDR", local(kTrainingPort));
  t.inference = GetEnv("ETHSCAN_INFERENCE_ADDR", local(kInferencePort));
  t.enrichment = GetEnv("ETHSCAN_ENRICHMENT_ADDR", local(kEnrichmentPort));
  return t;
}

}  // namespace ethscan::config

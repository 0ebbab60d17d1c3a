// A minimal gRPC server-reflection (v1alpha) client, like `grpcurl list` and `describe`, built
// on the generic stub with hand-encoded messages so it needs no reflection protos.
#ifndef ETHSCAN_TESTS_INTEGRATION_REFLECTION_CLIENT_H_
#define ETHSCAN_TESTS_INTEGRATION_REFLECTION_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ethscan::testing {

// Names of the services `target` exposes.
absl::StatusOr<std::vector<std::string>> ListServices(const std::string& target);

// Serialized FileDescriptorProtos of the file defining `symbol` and its dependencies.
absl::StatusOr<std::vector<std::string>> FileContainingSymbol(const std::string& target,
                                                              const std::string& symbol);

}  // namespace ethscan::testing

#endif  // ETHSCAN_TESTS_INTEGRATION_REFLECTION_CLIENT_H_

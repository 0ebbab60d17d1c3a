// Client channels and per-call deadlines.
#ifndef ETHSCAN_COMMON_GRPC_CHANNEL_H_
#define ETHSCAN_COMMON_GRPC_CHANNEL_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "absl/time/time.h"

namespace ethscan::common {

// An insecure channel to `target` ("host:port" or "dns:///name:port") with client-side
// round-robin over every address the name resolves to, so headless Kubernetes services
// spread load across replicas.
std::shared_ptr<grpc::Channel> CreateChannel(const std::string& target);

// Sets a deadline `timeout` from now on `context`.
void SetDeadline(grpc::ClientContext* context, absl::Duration timeout);

}  // namespace ethscan::common

#endif  // ETHSCAN_COMMON_GRPC_CHANNEL_H_

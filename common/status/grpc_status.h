// The one translation point between absl::Status and grpc::Status. The two share code
// numbers, so the mapping keeps the code and the message.
#ifndef ETHSCAN_COMMON_STATUS_GRPC_STATUS_H_
#define ETHSCAN_COMMON_STATUS_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <cstddef>

#include "absl/status/status.h"

namespace ethscan::common {

// The longest status message a handler sends, in characters: the message travels in a
// header, and gRPC refuses headers over its metadata limit, so a longer one would hide the
// real error behind "received initial metadata size exceeds limit".
inline constexpr size_t kMaxGrpcMessageChars = 1024;

// Converts a library status into the status a gRPC handler returns. The message is made one
// line (control characters and bytes that are not UTF-8 escaped) and capped at
// kMaxGrpcMessageChars.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Converts the status of a gRPC client call into a library status. The message is prefixed
// with `what` ("dataset service: …") when `what` is not empty.
absl::Status FromGrpcStatus(const grpc::Status& status, const char* what = "");

}  // namespace ethscan::common

#endif  // ETHSCAN_COMMON_STATUS_GRPC_STATUS_H_

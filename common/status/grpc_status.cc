#include "common/status/grpc_status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/text/quote.h"

namespace ethscan::common {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      text::SingleLine(status.message(), kMaxGrpcMessageChars));
}

absl::Status FromGrpcStatus(const grpc::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  std::string message = status.error_message();
  if (what != nullptr && *what != '\0') message = absl::StrCat(what, ": ", message);
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), message);
}

}  // namespace ethscan::common

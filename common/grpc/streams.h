// Helpers for the streaming shapes the services share.
#ifndef ETHSCAN_COMMON_GRPC_STREAMS_H_
#define ETHSCAN_COMMON_GRPC_STREAMS_H_

#include <grpcpp/support/status.h>
#include <grpcpp/support/sync_stream.h>

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status/grpc_status.h"

namespace ethscan::common {

// Serves a bidirectional stream that answers each request with one response, in order, using
// `answer(const Request&) -> absl::StatusOr<Response>`. The first failed answer ends the stream
// with its status, the message prefixed with the request's 0-based position ("<what> 3: …").
// A client that stops reading ends the stream quietly.
template <typename Request, typename Response, typename Answer>
grpc::Status AnswerEachInOrder(grpc::ServerReaderWriter<Response, Request>* stream,
                               absl::string_view what, Answer&& answer) {
  Request request;
  uint64_t position = 0;
  while (stream->Read(&request)) {
    absl::StatusOr<Response> response = answer(request);
    if (!response.ok()) {
      return ToGrpcStatus(
          absl::Status(response.status().code(),
                       absl::StrCat(what, " ", position, ": ", response.status().message())));
    }
    if (!stream->Write(*response)) break;
    ++position;
  }
  return grpc::Status::OK;
}

}  // namespace ethscan::common

#endif  // ETHSCAN_COMMON_GRPC_STREAMS_H_

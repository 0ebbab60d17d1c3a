#include "services/gateway/scan_service.h"

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"

namespace ethscan::gateway {

grpc::Status ScanServiceImpl::ScanAddress(grpc::ServerContext* context,
                                          const v1::ScanAddressRequest* request,
                                          v1::AddressReport* response) {
  absl::StatusOr<v1::AddressReport> report = scanner_->Scan(*request);
  if (!report.ok()) return common::ToGrpcStatus(report.status());
  *response = *std::move(report);
  return grpc::Status::OK;
}

grpc::Status ScanServiceImpl::BatchScan(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::AddressReport, v1::ScanAddressRequest>* stream) {
  v1::ScanAddressRequest request;
  uint64_t position = 0;
  while (stream->Read(&request)) {
    absl::StatusOr<v1::AddressReport> report = scanner_->Scan(request);
    if (!report.ok()) {
      return common::ToGrpcStatus(
          absl::Status(report.status().code(),
                       absl::StrCat("address ", position, ": ", report.status().message())));
    }
    if (!stream->Write(*report)) break;
    ++position;
  }
  return grpc::Status::OK;
}

}  // namespace ethscan::gateway

#include "services/gateway/scan_service.h"

#include "common/grpc/streams.h"
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
  return common::AnswerEachInOrder(
      stream, "address", [this](const v1::ScanAddressRequest& r) { return scanner_->Scan(r); });
}

}  // namespace ethscan::gateway

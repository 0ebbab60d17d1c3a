// gRPC adapter of the gateway's ScanService over Scanner.
#ifndef ETHSCAN_SERVICES_GATEWAY_SCAN_SERVICE_H_
#define ETHSCAN_SERVICES_GATEWAY_SCAN_SERVICE_H_

#include "ethscan/gateway/v1/scan_service.grpc.pb.h"
#include "services/gateway/scanner.h"

namespace ethscan::gateway {

// Thread-safe.
class ScanServiceImpl final : public gateway::v1::ScanService::Service {
 public:
  // `scanner` must outlive the service.
  explicit ScanServiceImpl(Scanner* scanner) : scanner_(scanner) {}

  grpc::Status ScanAddress(grpc::ServerContext* context,
                           const gateway::v1::ScanAddressRequest* request,
                           gateway::v1::AddressReport* response) override;
  grpc::Status BatchScan(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<gateway::v1::AddressReport, gateway::v1::ScanAddressRequest>* stream)
      override;

 private:
  Scanner* const scanner_;
};

}  // namespace ethscan::gateway

#endif  // ETHSCAN_SERVICES_GATEWAY_SCAN_SERVICE_H_

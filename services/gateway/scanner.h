// The gateway's scan logic: validates the address, asks enrichment (deadline-bounded, its
// failure or absence reported in the report, never fatal) and inference concurrently, and
// assembles the AddressReport.
#ifndef ETHSCAN_SERVICES_GATEWAY_SCANNER_H_
#define ETHSCAN_SERVICES_GATEWAY_SCANNER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ethscan/enrichment/v1/enrichment_service.grpc.pb.h"
#include "ethscan/gateway/v1/scan_service.pb.h"
#include "ethscan/inference/v1/inference_service.grpc.pb.h"

namespace ethscan::gateway {

// Thread-safe: stubs are thread-safe and the scanner holds no other state.
class Scanner {
 public:
  struct Options {
    // Deadline of the inference call (includes loading a model on first use).
    absl::Duration predict_timeout = absl::Seconds(30);
    // Deadline of the enrichment call; past it the report says chain data was unavailable.
    absl::Duration enrichment_timeout = absl::Seconds(2);
  };

  Scanner(std::unique_ptr<inference::v1::InferenceService::StubInterface> inference,
          std::unique_ptr<enrichment::v1::EnrichmentService::StubInterface> enrichment,
          Options options)
      : inference_(std::move(inference)), enrichment_(std::move(enrichment)), options_(options) {}

  // INVALID_ARGUMENT for a bad address (message from the parser, naming a bad checksum);
  // inference errors pass through with "inference service: " prefixed.
  absl::StatusOr<gateway::v1::AddressReport> Scan(const gateway::v1::ScanAddressRequest& request);

 private:
  const std::unique_ptr<inference::v1::InferenceService::StubInterface> inference_;
  const std::unique_ptr<enrichment::v1::EnrichmentService::StubInterface> enrichment_;
  const Options options_;
};

// Copies a prediction's fields into a report.
void CopyPrediction(const inference::v1::PredictResponse& prediction,
                    gateway::v1::AddressReport* report);

}  // namespace ethscan::gateway

#endif  // ETHSCAN_SERVICES_GATEWAY_SCANNER_H_

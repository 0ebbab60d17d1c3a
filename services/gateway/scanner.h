// The gateway's scan logic: validates the address, asks enrichment (deadline-bounded, its
// failure or absence reported in the report, never fatal) and inference concurrently, and
// assembles the AddressReport. When the chain profile carries behavioural features, inference
// is asked again with them, so an address no dataset knows gets the classifier's score and
// its top feature contributions next to the on-chain facts.
//
// An enrichment service with no chain data source configured answers every call
// FAILED_PRECONDITION; the scanner learns that once and stops asking for
// `not_configured_recheck`, reporting NOT_CONFIGURED meanwhile, then asks again (a source may
// have been configured since).
#ifndef ETHSCAN_SERVICES_GATEWAY_SCANNER_H_
#define ETHSCAN_SERVICES_GATEWAY_SCANNER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ethscan/enrichment/v1/enrichment_service.grpc.pb.h"
#include "ethscan/gateway/v1/scan_service.pb.h"
#include "ethscan/inference/v1/inference_service.grpc.pb.h"

namespace ethscan::gateway {

// Thread-safe: stubs are thread-safe and the scanner's own state is behind a mutex.
class Scanner {
 public:
  struct Options {
    // Deadline of the inference call (includes loading a model on first use).
    absl::Duration predict_timeout = absl::Seconds(30);
    // Deadline of the enrichment call; past it the report says chain data was unavailable.
    absl::Duration enrichment_timeout = absl::Seconds(2);
    // How long an enrichment service without a chain data source is not asked again.
    absl::Duration not_configured_recheck = absl::Seconds(30);
  };

  Scanner(std::unique_ptr<inference::v1::InferenceService::StubInterface> inference,
          std::unique_ptr<enrichment::v1::EnrichmentService::StubInterface> enrichment,
          Options options)
      : inference_(std::move(inference)), enrichment_(std::move(enrichment)), options_(options) {}

  // INVALID_ARGUMENT for a bad address (message from the parser, naming a bad checksum);
  // inference errors pass through with "inference service: " prefixed.
  absl::StatusOr<gateway::v1::AddressReport> Scan(const gateway::v1::ScanAddressRequest& request);

 private:
  // The message of the last "no chain data source configured" answer while it holds, else
  // nullopt (ask enrichment).
  std::optional<std::string> KnownNotConfigured();

  const std::unique_ptr<inference::v1::InferenceService::StubInterface> inference_;
  const std::unique_ptr<enrichment::v1::EnrichmentService::StubInterface> enrichment_;
  const Options options_;
  absl::Mutex mu_;
  absl::Time not_configured_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string not_configured_message_ ABSL_GUARDED_BY(mu_);
};

// Copies a prediction's fields into a report.
void CopyPrediction(const inference::v1::PredictResponse& prediction,
                    gateway::v1::AddressReport* report);

}  // namespace ethscan::gateway

#endif  // ETHSCAN_SERVICES_GATEWAY_SCANNER_H_

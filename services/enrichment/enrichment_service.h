// gRPC adapter of the enrichment service: validates addresses and asks the configured chain
// data source. Without a source every call is FAILED_PRECONDITION "no chain data source
// configured", never made-up data.
#ifndef ETHSCAN_SERVICES_ENRICHMENT_ENRICHMENT_SERVICE_H_
#define ETHSCAN_SERVICES_ENRICHMENT_ENRICHMENT_SERVICE_H_

#include <memory>

#include "absl/time/time.h"
#include "ethscan/enrichment/v1/enrichment_service.grpc.pb.h"
#include "services/enrichment/chain_data_source.h"

namespace ethscan::enrichment {

// Thread-safe as long as the source is.
class EnrichmentServiceImpl final : public enrichment::v1::EnrichmentService::Service {
 public:
  // `source` may be null: no chain data source is configured.
  explicit EnrichmentServiceImpl(std::unique_ptr<ChainDataSource> source)
      : source_(std::move(source)) {}

  // The logic behind both RPCs, usable without gRPC; gives up at `deadline`.
  absl::StatusOr<enrichment::v1::GetProfileResponse> Profile(
      const enrichment::v1::GetProfileRequest& request, absl::Time deadline);

  grpc::Status GetProfile(grpc::ServerContext* context,
                          const enrichment::v1::GetProfileRequest* request,
                          enrichment::v1::GetProfileResponse* response) override;
  grpc::Status BatchGetProfiles(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<enrichment::v1::GetProfileResponse,
                               enrichment::v1::GetProfileRequest>* stream) override;

 private:
  const std::unique_ptr<ChainDataSource> source_;
};

}  // namespace ethscan::enrichment

#endif  // ETHSCAN_SERVICES_ENRICHMENT_ENRICHMENT_SERVICE_H_

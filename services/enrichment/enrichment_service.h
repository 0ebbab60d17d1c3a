// gRPC adapter of the enrichment service: validates addresses, answers from the shared cache
// when it holds facts young enough (the request's max_age_seconds, else the cache's TTL),
// else asks the configured chain data source, once for all the calls that ask about the same
// address at the same time, and caches what it got. Without a source every call is
// FAILED_PRECONDITION "no chain data source configured", never made-up data. A cache that
// cannot be reached (Redis away) is skipped with a warning, not fatal.
#ifndef ETHSCAN_SERVICES_ENRICHMENT_ENRICHMENT_SERVICE_H_
#define ETHSCAN_SERVICES_ENRICHMENT_ENRICHMENT_SERVICE_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "ethscan/enrichment/v1/enrichment_service.grpc.pb.h"
#include "services/enrichment/chain_data_source.h"
#include "services/enrichment/shared_state.h"

namespace ethscan::enrichment {

// Thread-safe as long as the source is.
class EnrichmentServiceImpl final : public enrichment::v1::EnrichmentService::Service {
 public:
  // `source` may be null: no chain data source is configured. `cache` (not owned) may be
  // null: every call asks the source.
  explicit EnrichmentServiceImpl(std::unique_ptr<ChainDataSource> source,
                                 ProfileCache* cache = nullptr)
      : source_(std::move(source)), cache_(cache) {}

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
  // One fetch that the calls for the same address at the same time wait for.
  struct Flight {
    absl::Notification done;
    absl::StatusOr<enrichment::v1::ChainProfile> result;
  };

  const std::unique_ptr<ChainDataSource> source_;
  ProfileCache* const cache_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::Time last_cache_warning_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace ethscan::enrichment

#endif  // ETHSCAN_SERVICES_ENRICHMENT_ENRICHMENT_SERVICE_H_

#include "services/enrichment/enrichment_service.h"

#include "common/eth/address.h"
#include "common/grpc/streams.h"
#include "common/status/grpc_status.h"

namespace ethscan::enrichment {

absl::StatusOr<v1::GetProfileResponse> EnrichmentServiceImpl::Profile(
    const v1::GetProfileRequest& request) {
  absl::StatusOr<eth::Address> address = eth::Address::Parse(request.address());
  if (!address.ok()) return address.status();
  if (source_ == nullptr) {
    return absl::FailedPreconditionError(
        "no chain data source configured: set ETHERSCAN_API_KEY or ETH_RPC_URL on the "
        "enrichment service");
  }
  uint64_t chain_id = request.chain_id() == 0 ? 1 : request.chain_id();
  absl::StatusOr<v1::ChainProfile> profile = source_->GetProfile(*address, chain_id);
  if (!profile.ok()) return profile.status();
  v1::GetProfileResponse response;
  *response.mutable_profile() = *std::move(profile);
  return response;
}

grpc::Status EnrichmentServiceImpl::GetProfile(grpc::ServerContext* context,
                                               const v1::GetProfileRequest* request,
                                               v1::GetProfileResponse* response) {
  absl::StatusOr<v1::GetProfileResponse> result = Profile(*request);
  if (!result.ok()) return common::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status EnrichmentServiceImpl::BatchGetProfiles(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::GetProfileResponse, v1::GetProfileRequest>* stream) {
  return common::AnswerEachInOrder(stream, "request",
                                   [this](const v1::GetProfileRequest& r) { return Profile(r); });
}

}  // namespace ethscan::enrichment

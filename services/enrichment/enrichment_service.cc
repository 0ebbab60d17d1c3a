#include "services/enrichment/enrichment_service.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/eth/address.h"
#include "common/grpc/streams.h"
#include "common/status/grpc_status.h"

namespace ethscan::enrichment {
namespace {

// The call's deadline, at most a minute away (a caller without one gets a minute).
absl::Time Deadline(const grpc::ServerContext* context) {
  const absl::Time cap = absl::Now() + absl::Minutes(1);
  const auto d = context->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return cap;
  return std::min(cap, absl::FromChrono(d));
}

}  // namespace

absl::StatusOr<v1::GetProfileResponse> EnrichmentServiceImpl::Profile(
    const v1::GetProfileRequest& request, absl::Time deadline) {
  absl::StatusOr<eth::Address> address = eth::Address::Parse(request.address());
  if (!address.ok()) return address.status();
  if (source_ == nullptr) {
    return absl::FailedPreconditionError(
        "no chain data source configured: set ETHERSCAN_API_KEY or ETH_RPC_URL on the "
        "enrichment service");
  }
  uint64_t chain_id = request.chain_id() == 0 ? 1 : request.chain_id();
  absl::StatusOr<v1::ChainProfile> profile = source_->GetProfile(*address, chain_id, deadline);
  if (!profile.ok()) return profile.status();
  v1::GetProfileResponse response;
  *response.mutable_profile() = *std::move(profile);
  return response;
}

grpc::Status EnrichmentServiceImpl::GetProfile(grpc::ServerContext* context,
                                               const v1::GetProfileRequest* request,
                                               v1::GetProfileResponse* response) {
  absl::StatusOr<v1::GetProfileResponse> result = Profile(*request, Deadline(context));
  if (!result.ok()) return common::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status EnrichmentServiceImpl::BatchGetProfiles(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::GetProfileResponse, v1::GetProfileRequest>* stream) {
  return common::AnswerEachInOrder(
      stream, "request",
      [this, context](const v1::GetProfileRequest& r) { return Profile(r, Deadline(context)); });
}

}  // namespace ethscan::enrichment

#include "services/enrichment/enrichment_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/eth/address.h"
#include "common/grpc/streams.h"
#include "common/log/log.h"
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
  if (request.max_age_seconds() < 0) {
    return absl::InvalidArgumentError("max_age_seconds must not be negative");
  }
  const uint64_t chain_id = request.chain_id() == 0 ? 1 : request.chain_id();
  const std::string lower = address->ToLowerHex();
  v1::GetProfileResponse response;
  auto cache_warning = [this](const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (absl::Now() - last_cache_warning_ < absl::Minutes(1)) return;
    last_cache_warning_ = absl::Now();
    log::Warning("profile cache: ", status.message(), "; asking the chain data source");
  };
  if (cache_ != nullptr) {
    const absl::Duration max_age =
        request.max_age_seconds() > 0 ? absl::Seconds(request.max_age_seconds()) : cache_->ttl();
    absl::StatusOr<std::optional<v1::ChainProfile>> cached = cache_->Get(chain_id, lower, max_age);
    if (cached.ok() && cached->has_value()) {
      *response.mutable_profile() = **std::move(cached);
      return response;
    }
    if (!cached.ok()) cache_warning(cached.status());
  }
  // One fetch per address at a time: later calls wait for the first.
  const std::string key = absl::StrCat(chain_id, ":", lower);
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<Flight>& f = in_flight_[key];
    if (f == nullptr) {
      f = std::make_shared<Flight>();
      leader = true;
    }
    flight = f;
  }
  if (!leader) {
    if (!flight->done.WaitForNotificationWithDeadline(deadline)) {
      return absl::DeadlineExceededError("the profile was not fetched before the deadline");
    }
    if (!flight->result.ok()) return flight->result.status();
    *response.mutable_profile() = *flight->result;
    return response;
  }
  absl::StatusOr<v1::ChainProfile> profile = source_->GetProfile(*address, chain_id, deadline);
  if (profile.ok() && cache_ != nullptr) {
    absl::Status stored = cache_->Put(chain_id, lower, *profile);
    if (!stored.ok()) cache_warning(stored);
  }
  {
    absl::MutexLock lock(&mu_);
    flight->result = profile;
    in_flight_.erase(key);
  }
  flight->done.Notify();
  if (!profile.ok()) return profile.status();
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

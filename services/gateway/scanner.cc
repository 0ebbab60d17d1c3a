#include "services/gateway/scanner.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/eth/address.h"
#include "common/grpc/channel.h"
#include "common/status/grpc_status.h"
#include "common/text/quote.h"

namespace ethscan::gateway {
void CopyPrediction(const inference::v1::PredictResponse& p, v1::AddressReport* r) {
  r->set_address(p.address());
  r->set_name(p.name());
  r->set_account_type(p.account_type());
  r->set_contract_type(p.contract_type());
  r->set_entity(p.entity());
  r->set_label(p.label());
  *r->mutable_tags() = p.tags();
  r->set_risk_level(p.risk_level());
  r->set_risk_score(p.risk_score());
  r->set_description(p.description());
  *r->mutable_next_steps() = p.next_steps();
  *r->mutable_evidence() = p.evidence();
  r->set_model(p.model());
  r->set_known(p.known());
  *r->mutable_conflicts() = p.conflicts();
  if (p.has_behaviour()) *r->mutable_behaviour() = p.behaviour();
}

std::optional<std::string> Scanner::KnownNotConfigured() {
  absl::MutexLock lock(&mu_);
  if (absl::Now() < not_configured_until_) return not_configured_message_;
  return std::nullopt;
}

namespace {

// The enrichment service's answer when it has no chain data source (another
// FAILED_PRECONDITION, such as a refusal by Etherscan, is no such answer).
bool IsNotConfigured(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
         absl::StrContains(status.error_message(), "no chain data source configured");
}

// The report's evidence line for the chain facts.
std::string ChainClaim(const enrichment::v1::ChainProfile& p) {
  std::string claim =
      absl::StrCat("balance ", p.balance_wei(), " wei, ", p.transaction_count(), " transactions");
  if (p.is_contract()) {
    absl::StrAppend(&claim, ", a contract",
                    p.source_verified()
                        ? absl::StrCat(" with verified source (", p.contract_name(), ")")
                        : " without verified source");
    if (!p.creator().empty()) absl::StrAppend(&claim, ", created by ", p.creator());
    if (p.proxy()) absl::StrAppend(&claim, ", a proxy of ", p.implementation());
  } else if (!p.delegated_to().empty()) {
    absl::StrAppend(&claim, ", an EOA delegating to ", p.delegated_to(), " (EIP-7702)");
  }
  if (p.history_truncated()) {
    absl::StrAppend(&claim,
                    "; the history was cut at the configured ceiling, so its counts and "
                    "features cover the oldest part only");
  }
  return claim;
}

}  // namespace

absl::StatusOr<v1::AddressReport> Scanner::Scan(const v1::ScanAddressRequest& request) {
  absl::string_view text = absl::StripAsciiWhitespace(request.address());
  absl::StatusOr<eth::Address> address = eth::Address::Parse(text);
  if (!address.ok()) return address.status();
  uint64_t chain_id = request.chain_id() == 0 ? 1 : request.chain_id();

  // Enrichment runs concurrently with inference and may not hold up the report; it is not
  // asked while it is known to have no chain data source.
  const std::optional<std::string> not_configured = KnownNotConfigured();
  grpc::ClientContext enrichment_context;
  common::SetDeadline(&enrichment_context, options_.enrichment_timeout);
  enrichment::v1::GetProfileRequest profile_request;
  profile_request.set_address(address->ToChecksumHex());
  profile_request.set_chain_id(chain_id);
  enrichment::v1::GetProfileResponse profile_response;
  grpc::Status enrichment_status;
  absl::Notification enrichment_done;
  if (not_configured.has_value()) {
    enrichment_status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, *not_configured);
    enrichment_done.Notify();
  } else {
    enrichment_->async()->GetProfile(&enrichment_context, &profile_request, &profile_response,
                                     [&](grpc::Status status) {
                                       enrichment_status = std::move(status);
                                       enrichment_done.Notify();
                                     });
  }

  inference::v1::PredictRequest predict_request;
  predict_request.set_address(address->ToChecksumHex());
  predict_request.set_chain_id(chain_id);
  predict_request.set_model(request.model());
  inference::v1::PredictResponse prediction;
  grpc::Status predict_status;
  {
    grpc::ClientContext predict_context;
    common::SetDeadline(&predict_context, options_.predict_timeout);
    predict_status = inference_->Predict(&predict_context, predict_request, &prediction);
  }
  if (!predict_status.ok()) {
    enrichment_context.TryCancel();
    enrichment_done.WaitForNotification();
    return common::FromGrpcStatus(predict_status, "inference service");
  }
  enrichment_done.WaitForNotification();

  // Live features: ask again, so the classifier scores the address's behaviour.
  std::string behaviour_error;
  if (enrichment_status.ok() && !profile_response.profile().features().empty()) {
    *predict_request.mutable_features() = profile_response.profile().features();
    inference::v1::PredictResponse scored;
    grpc::ClientContext context;
    common::SetDeadline(&context, options_.predict_timeout);
    grpc::Status status = inference_->Predict(&context, predict_request, &scored);
    if (status.ok()) {
      prediction = std::move(scored);
    } else {
      behaviour_error = common::FromGrpcStatus(status, "inference service").ToString();
    }
  }

  v1::AddressReport report;
  CopyPrediction(prediction, &report);
  report.set_chain_id(chain_id);
  if (enrichment_status.ok()) {
    report.set_chain_data_status(v1::CHAIN_DATA_STATUS_OK);
    *report.mutable_chain_data() = profile_response.profile();
    common::v1::Evidence* e = report.add_evidence();
    e->set_source(absl::StrCat("chain data (", profile_response.profile().source(), ")"));
    e->add_fields("chain_data");
    e->set_claim(ChainClaim(profile_response.profile()));
    if (!behaviour_error.empty()) {
      common::v1::Evidence* b = report.add_evidence();
      b->set_source("behavioural score");
      b->set_claim(absl::StrCat("the live features could not be scored: ", behaviour_error));
    }
  } else if (IsNotConfigured(enrichment_status)) {
    report.set_chain_data_status(v1::CHAIN_DATA_STATUS_NOT_CONFIGURED);
    report.set_chain_data_error(enrichment_status.error_message());
    if (!not_configured.has_value()) {
      absl::MutexLock lock(&mu_);
      not_configured_until_ = absl::Now() + options_.not_configured_recheck;
      not_configured_message_ = enrichment_status.error_message();
    }
  } else {
    report.set_chain_data_status(v1::CHAIN_DATA_STATUS_UNAVAILABLE);
    report.set_chain_data_error(
        common::FromGrpcStatus(enrichment_status, "enrichment service").ToString());
  }
  return report;
}

}  // namespace ethscan::gateway

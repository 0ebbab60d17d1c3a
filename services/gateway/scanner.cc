#include "services/gateway/scanner.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
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
}

absl::StatusOr<v1::AddressReport> Scanner::Scan(const v1::ScanAddressRequest& request) {
  absl::string_view text = absl::StripAsciiWhitespace(request.address());
  absl::StatusOr<eth::Address> address = eth::Address::Parse(text);
  if (!address.ok()) return address.status();
  uint64_t chain_id = request.chain_id() == 0 ? 1 : request.chain_id();

  // Enrichment runs concurrently with inference and may not hold up the report.
  grpc::ClientContext enrichment_context;
  common::SetDeadline(&enrichment_context, options_.enrichment_timeout);
  enrichment::v1::GetProfileRequest profile_request;
  profile_request.set_address(address->ToChecksumHex());
  profile_request.set_chain_id(chain_id);
  enrichment::v1::GetProfileResponse profile_response;
  grpc::Status enrichment_status;
  absl::Notification enrichment_done;
  enrichment_->async()->GetProfile(&enrichment_context, &profile_request, &profile_response,
                                   [&](grpc::Status status) {
                                     enrichment_status = std::move(status);
                                     enrichment_done.Notify();
                                   });

  grpc::ClientContext predict_context;
  common::SetDeadline(&predict_context, options_.predict_timeout);
  inference::v1::PredictRequest predict_request;
  predict_request.set_address(address->ToChecksumHex());
  predict_request.set_chain_id(chain_id);
  predict_request.set_model(request.model());
  inference::v1::PredictResponse prediction;
  grpc::Status predict_status = inference_->Predict(&predict_context, predict_request, &prediction);
  if (!predict_status.ok()) {
    enrichment_context.TryCancel();
    enrichment_done.WaitForNotification();
    return common::FromGrpcStatus(predict_status, "inference service");
  }
  enrichment_done.WaitForNotification();

  v1::AddressReport report;
  CopyPrediction(prediction, &report);
  report.set_chain_id(chain_id);
  if (enrichment_status.ok()) {
    report.set_chain_data_status(v1::CHAIN_DATA_STATUS_OK);
    *report.mutable_chain_data() = profile_response.profile();
    common::v1::Evidence* e = report.add_evidence();
    e->set_source(absl::StrCat("chain data (", profile_response.profile().source(), ")"));
    e->add_fields("chain_data");
    e->set_claim(absl::StrCat("balance ", profile_response.profile().balance_wei(), " wei, ",
                              profile_response.profile().transaction_count(), " transactions"));
  } else if (enrichment_status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    report.set_chain_data_status(v1::CHAIN_DATA_STATUS_NOT_CONFIGURED);
    report.set_chain_data_error(enrichment_status.error_message());
  } else {
    report.set_chain_data_status(v1::CHAIN_DATA_STATUS_UNAVAILABLE);
    report.set_chain_data_error(
        common::FromGrpcStatus(enrichment_status, "enrichment service").ToString());
  }
  return report;
}

}  // namespace ethscan::gateway

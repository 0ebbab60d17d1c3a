// Composes the model's answer for one address from its knowledge entry: risk level and score
// derived from the label, a description and next steps built only from the evidence (no
// invented facts), and one evidence item per source claim.
#ifndef ETHSCAN_SERVICES_INFERENCE_REPORT_H_
#define ETHSCAN_SERVICES_INFERENCE_REPORT_H_

#include <string>

#include "common/eth/address.h"
#include "ethscan/common/v1/common.pb.h"
#include "ethscan/inference/v1/inference_service.pb.h"
#include "ethscan/training/v1/knowledge_model.pb.h"

namespace ethscan::inference {

// Risk of a label, before anything else is considered.
struct Risk {
  common::v1::RiskLevel level;
  double score;
};

// Risk policy (deterministic):
//   Sanctioned → CRITICAL 0.99, Heist → CRITICAL 0.97, Phish / Hack → HIGH 0.90,
//   Exploit → HIGH 0.90, Scam → HIGH 0.85, Legit → LOW 0.05.
//   Unknown, but known to a dataset: MEDIUM 0.50 when a tag signals risk (OFAC delisted,
//   tornado-cash, blocked, high-risk, flagged-by-sec, take-action), else LOW 0.20.
//   Not known to any dataset: UNSPECIFIED 0.50 (not assessed).
Risk RiskOf(absl::string_view label, const training::v1::KnowledgeEntry* entry);

// True when `tag` is one of the category tags that signal risk without a verdict.
bool IsRiskyTag(absl::string_view tag);

// The full prediction for `address`. `entry` is null when no dataset knows the address.
inference::v1::PredictResponse BuildPrediction(const eth::Address& address,
                                               const training::v1::KnowledgeEntry* entry,
                                               const std::string& model_name);

}  // namespace ethscan::inference

#endif  // ETHSCAN_SERVICES_INFERENCE_REPORT_H_

// Composes the model's answer for one address from its knowledge entry: risk level and score
// derived from the label, a description and next steps built only from the evidence (no
// invented facts), and one evidence item per source claim.
//
// The description is a few sentences, each following from the reported label and the
// entry's claims:
//  * the verdict of the reported label and the sources that state it ("… is on a sanctions
//    list according to ofac_sdn.", "… carries no risk label.");
//  * when an OFAC SDN list knows the address but does not sanction it, that OFAC no longer
//    lists it (a delisting) with what the OFAC record says ("delisted from the OFAC SDN list;
//    added 2022-08-08");
//  * one sentence per conflict the policy settled, naming the values, their sources and the
//    rule: Sanctioned claims overruled because only OFAC decides sanctions, a label kept as
//    the most severe, a name (account type, contract type, entity) kept by source authority,
//    recency, dataset priority or row order;
//  * the tags of an address without a verdict, and the note of the claim whose label won.
// The conflict sentences come from settling the entry's claims again under the shared conflict
// policy (common/report/conflict_policy.h). When that does not reproduce the entry's label and
// conflict notes (a hand-made entry, a model built under another policy), the description
// only says how many conflicts the entry notes.
#ifndef ETHSCAN_SERVICES_INFERENCE_REPORT_H_
#define ETHSCAN_SERVICES_INFERENCE_REPORT_H_

#include <string>

#include "common/eth/address.h"
#include "ethscan/common/v1/common.pb.h"
#include "ethscan/inference/v1/inference_service.pb.h"
#include "ethscan/model/v1/model.pb.h"
#include "services/inference/predictor.h"

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
Risk RiskOf(absl::string_view label, const model::v1::KnowledgeEntry* entry);

// True when `tag` is one of the category tags that signal risk without a verdict.
bool IsRiskyTag(absl::string_view tag);

// The knowledge part of a prediction for `address`. `entry` is null when no dataset knows
// the address.
inference::v1::PredictResponse BuildPrediction(const eth::Address& address,
                                               const model::v1::KnowledgeEntry* entry,
                                               const std::string& model_name);

// Risk of a behavioural score: flagged → HIGH with the score (at least 0.5); below the
// threshold → MEDIUM from half the threshold up, else LOW, with the score.
Risk BehaviouralRisk(const inference::v1::BehaviouralScore& score);

// The one report builder: combines every kind's assessment (predictor.h). The knowledge
// index decides the report of an address a dataset lists (BuildPrediction), and a behavioural
// score is added beside it (field `behaviour`, one evidence item, a sentence). For an address
// no dataset lists, a behavioural score decides label, risk, description and next steps, each
// marked as a behavioural estimate with the features that weighed most; the classifier's
// negative label is "Unknown", never "Legit". `answered_by` names the kinds that answered.
inference::v1::PredictResponse BuildReport(const eth::Address& address,
                                           const Assessment& assessment,
                                           const std::string& model_name);

}  // namespace ethscan::inference

#endif  // ETHSCAN_SERVICES_INFERENCE_REPORT_H_

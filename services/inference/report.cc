#include "services/inference/report.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/report/labels.h"

namespace ethscan::inference {
namespace {

using common::v1::RiskLevel;

constexpr const char* kRiskyTags[] = {"ofac delisted",       "tornado-cash",   "blocked",
                                      "high-risk",           "flagged-by-sec", "take-action",
                                      "ofac-sanctions-lists"};

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

// "Smart contract \"Uniswap (UNI)\"", "EOA \"Fake_Phishing5169\"", "This address".
std::string Subject(const common::v1::AddressRecord& r) {
  std::string kind;
  if (r.account_type() == "Smart Contract") {
    kind =
        r.contract_type().empty() ? "Smart contract" : absl::StrCat(r.contract_type(), " contract");
  } else if (r.account_type() == "EOA") {
    kind = "EOA";
  }
  if (kind.empty()) kind = r.name().empty() ? "This address" : "Address";
  if (!r.name().empty()) absl::StrAppend(&kind, " ", Quote(r.name()));
  if (!r.entity().empty() && r.entity() != r.name()) {
    absl::StrAppend(&kind, " (", r.entity(), ")");
  }
  return kind;
}

// Distinct source names whose claim carries `label`, in claim order.
std::vector<std::string> SourcesWithLabel(const training::v1::KnowledgeEntry& entry,
                                          absl::string_view label) {
  std::vector<std::string> out;
  for (const training::v1::SourceClaim& claim : entry.claims()) {
    if (claim.record().label() != label) continue;
    if (std::find(out.begin(), out.end(), claim.source()) == out.end()) {
      out.push_back(claim.source());
    }
  }
  return out;
}

std::string LabelPhrase(absl::string_view label) {
  switch (common::LabelSeverity(label)) {
    case common::kSeveritySanctioned:
      return "is on a sanctions list";
    case common::kSeverityHeist:
      return "is tied to a theft of funds (heist)";
    case common::kSeverityExploit:
      return "was used in an exploit";
    case common::kSeverityPhishHack:
      return "is reported for phishing or hacking";
    case common::kSeverityScam:
      return "is reported as a scam";
    case common::kSeverityLegit:
      return "is listed as legitimate";
    default:
      return "carries no risk label";
  }
}

std::vector<std::string> NextSteps(absl::string_view label, bool known, bool risky_tags) {
  switch (common::LabelSeverity(label)) {
    case common::kSeveritySanctioned:
      return {"Do not send funds to or accept funds from this address: it is sanctioned.",
              "Escalate to your compliance team; dealings with it may be prohibited by law."};
    case common::kSeverityHeist:
      return {"Do not interact: this address holds or moved stolen funds.",
              "If funds arrived from it, freeze them and report to your security and compliance "
              "teams."};
    case common::kSeverityPhishHack:
    case common::kSeverityExploit:
      return {"Do not send funds to this address or sign approvals for it.",
              "Revoke any token approvals already granted to it."};
    case common::kSeverityScam:
      return {"Do not send funds: this address is reported as a scam.",
              "Warn the user and report the site or message that led them here."};
    case common::kSeverityLegit:
      return {
          "None needed; verify the address on the project's own site before approving "
          "large amounts."};
    default:
      break;
  }
  if (known) {
    std::vector<std::string> steps = {
        "No risk verdict in the training data: review the tags and live chain data before "
        "trusting it."};
    if (risky_tags) steps.push_back("Its tags signal risk: get a second review before sending.");
    return steps;
  }
  return {"No dataset this model was trained on knows this address: treat it as unverified.",
          "Check its history on a block explorer before sending funds or approving it."};
}

std::string Claim(const common::v1::AddressRecord& r) {
  std::vector<std::string> parts;
  std::string label = r.original_label().empty() || r.original_label() == r.label()
                          ? r.label()
                          : absl::StrCat(r.original_label(), " → ", r.label());
  if (!label.empty()) parts.push_back(absl::StrCat("label ", label));
  if (!r.name().empty()) parts.push_back(absl::StrCat("name ", Quote(r.name())));
  if (!r.account_type().empty()) parts.push_back(r.account_type());
  if (!r.contract_type().empty()) parts.push_back(absl::StrCat(r.contract_type(), " contract"));
  if (r.tags_size() > 0) parts.push_back(absl::StrCat("tags ", absl::StrJoin(r.tags(), ", ")));
  if (!r.note().empty()) parts.push_back(r.note());
  if (r.line() > 0) parts.push_back(absl::StrCat("line ", r.line()));
  return absl::StrJoin(parts, "; ");
}

}  // namespace

bool IsRiskyTag(absl::string_view tag) {
  std::string lower = absl::AsciiStrToLower(tag);
  for (const char* risky : kRiskyTags) {
    if (lower == risky) return true;
  }
  return false;
}

Risk RiskOf(absl::string_view label, const training::v1::KnowledgeEntry* entry) {
  switch (common::LabelSeverity(label)) {
    case common::kSeveritySanctioned:
      return {RiskLevel::RISK_LEVEL_CRITICAL, 0.99};
    case common::kSeverityHeist:
      return {RiskLevel::RISK_LEVEL_CRITICAL, 0.97};
    case common::kSeverityPhishHack:
    case common::kSeverityExploit:
      return {RiskLevel::RISK_LEVEL_HIGH, 0.90};
    case common::kSeverityScam:
      return {RiskLevel::RISK_LEVEL_HIGH, 0.85};
    case common::kSeverityLegit:
      return {RiskLevel::RISK_LEVEL_LOW, 0.05};
    default:
      break;
  }
  if (entry == nullptr) return {RiskLevel::RISK_LEVEL_UNSPECIFIED, 0.50};
  for (const std::string& tag : entry->merged().tags()) {
    if (IsRiskyTag(tag)) return {RiskLevel::RISK_LEVEL_MEDIUM, 0.50};
  }
  return {RiskLevel::RISK_LEVEL_LOW, 0.20};
}

inference::v1::PredictResponse BuildPrediction(const eth::Address& address,
                                               const training::v1::KnowledgeEntry* entry,
                                               const std::string& model_name) {
  inference::v1::PredictResponse out;
  out.set_address(address.ToChecksumHex());
  out.set_model(model_name);
  if (entry == nullptr) {
    Risk risk = RiskOf("Unknown", nullptr);
    out.set_label("Unknown");
    out.set_known(false);
    out.set_risk_level(risk.level);
    out.set_risk_score(risk.score);
    out.set_description(absl::StrCat("Unknown address: none of the datasets model ", model_name,
                                     " was trained on lists it, so its risk was not assessed."));
    for (std::string& step : NextSteps("Unknown", false, false)) out.add_next_steps(step);
    return out;
  }
  const common::v1::AddressRecord& m = entry->merged();
  std::string label = m.label().empty() ? "Unknown" : m.label();
  Risk risk = RiskOf(label, entry);
  out.set_known(true);
  out.set_name(m.name());
  out.set_account_type(m.account_type());
  out.set_contract_type(m.contract_type());
  out.set_entity(m.entity());
  out.set_label(label);
  for (const std::string& tag : m.tags()) out.add_tags(tag);
  out.set_risk_level(risk.level);
  out.set_risk_score(risk.score);
  for (const std::string& c : entry->conflicts()) out.add_conflicts(c);

  std::string description = absl::StrCat(Subject(m), " ", LabelPhrase(label));
  std::vector<std::string> sources = SourcesWithLabel(*entry, label);
  if (!sources.empty() && label != "Unknown") {
    absl::StrAppend(&description, " according to ", absl::StrJoin(sources, ", "));
  }
  absl::StrAppend(&description, ".");
  if (label == "Unknown" && m.tags_size() > 0) {
    absl::StrAppend(&description, " Tags: ", absl::StrJoin(m.tags(), ", "), ".");
  }
  if (!m.note().empty()) {
    std::string note = m.note();
    note[0] = absl::ascii_toupper(static_cast<unsigned char>(note[0]));
    absl::StrAppend(&description, " ", note, absl::EndsWith(note, ".") ? "" : ".");
  }
  if (entry->conflicts_size() > 0) {
    absl::StrAppend(&description, " Sources disagree (", entry->conflicts_size(),
                    entry->conflicts_size() == 1 ? " conflict" : " conflicts",
                    "); the most severe label is reported.");
  }
  out.set_description(description);
  bool risky_tags = risk.level == common::v1::RISK_LEVEL_MEDIUM;
  for (std::string& step : NextSteps(label, true, risky_tags)) out.add_next_steps(step);

  for (const training::v1::SourceClaim& claim : entry->claims()) {
    common::v1::Evidence* e = out.add_evidence();
    e->set_source(claim.source());
    const common::v1::AddressRecord& r = claim.record();
    for (const auto& [field, sources] : entry->field_sources()) {
      // A field can have several sources ("tags" lists each contributor, comma separated).
      for (absl::string_view source : absl::StrSplit(sources, ", ")) {
        if (source == claim.source()) {
          e->add_fields(field);
          break;
        }
      }
    }
    std::sort(e->mutable_fields()->begin(), e->mutable_fields()->end());
    e->set_claim(Claim(r));
    e->set_overruled(!r.label().empty() && r.label() != "Unknown" && r.label() != label);
    if (claim.has_observed_time()) *e->mutable_observed_time() = claim.observed_time();
  }
  return out;
}

}  // namespace ethscan::inference

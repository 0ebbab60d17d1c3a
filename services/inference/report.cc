#include "services/inference/report.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/report/conflict_policy.h"
#include "common/report/labels.h"

namespace ethscan::inference {
namespace {

using common::v1::AddressRecord;
using common::v1::RiskLevel;
using model::v1::KnowledgeEntry;
using model::v1::SourceClaim;

constexpr const char* kRiskyTags[] = {"ofac delisted",       "tornado-cash",   "blocked",
                                      "high-risk",           "flagged-by-sec", "take-action",
                                      "ofac-sanctions-lists"};

// A value from the data between double quotes ("Uniswap (UNI)").
std::string Quoted(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

// The dataset name of a claim: "ofac_sdn" from "ofac_sdn (ds-…)".
std::string SourceName(const SourceClaim& claim) {
  absl::string_view source = claim.source();
  if (!claim.dataset_id().empty()) {
    const std::string suffix = absl::StrCat(" (", claim.dataset_id(), ")");
    if (absl::EndsWith(source, suffix) && source.size() > suffix.size()) {
      source.remove_suffix(suffix.size());
    }
  }
  return std::string{source};
}

// "Smart contract \"Uniswap (UNI)\"", "EOA \"Fake_Phishing5169\"", "This address".
std::string Subject(const AddressRecord& r) {
  std::string kind;
  if (r.account_type() == "Smart Contract") {
    kind =
        r.contract_type().empty() ? "Smart contract" : absl::StrCat(r.contract_type(), " contract");
  } else if (r.account_type() == "EOA") {
    kind = "EOA";
  }
  if (kind.empty()) kind = r.name().empty() ? "This address" : "Address";
  if (!r.name().empty()) absl::StrAppend(&kind, " ", Quoted(r.name()));
  if (!r.entity().empty() && r.entity() != r.name()) {
    absl::StrAppend(&kind, " (", r.entity(), ")");
  }
  return kind;
}

// The verdict of a label, as the predicate of the description's first sentence.
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

// "name" -> "name", "account_type" -> "account type".
std::string FieldWords(absl::string_view field) {
  std::string words(field);
  std::replace(words.begin(), words.end(), '_', ' ');
  return words;
}

// The entry's claims settled again under the shared conflict policy. Only used when it
// reproduces what the model reports: the same label and, field by field, as many conflict
// notes as the knowledge builder writes for the settlement (a model built under this policy
// always does). A hand-made entry, or one built under another policy, is described from what
// it states alone.
struct Settlement {
  std::vector<common::PolicyClaim> claims;
  common::Resolution resolution;
};

std::optional<Settlement> Resettle(const KnowledgeEntry& entry, absl::string_view label) {
  if (entry.claims_size() == 0) return std::nullopt;
  Settlement s;
  std::map<std::string, uint64_t> positions;  // Dataset → place of its first claim.
  for (int i = 0; i < entry.claims_size(); ++i) {
    const SourceClaim& claim = entry.claims(i);
    const std::string& dataset = claim.dataset_id().empty() ? claim.source() : claim.dataset_id();
    common::PolicyClaim p;
    p.record = &claim.record();
    p.format = claim.dataset_format();
    p.observed_time = claim.observed_time();
    p.position = positions.emplace(dataset, positions.size()).first->second;
    p.sequence = static_cast<uint64_t>(i);
    s.claims.push_back(std::move(p));
  }
  // The builder stores claims in authority order; the policy needs them so.
  for (size_t i = 1; i < s.claims.size(); ++i) {
    if (common::HasPrecedence(s.claims[i], s.claims[i - 1])) return std::nullopt;
  }
  s.resolution = common::ResolveClaims(s.claims);
  if (s.resolution.label.value != label) return std::nullopt;
  // One note per conflicting field, and the sanctions rule as a second "label" note.
  std::map<std::string, int> expected;
  const common::LabelDecision& l = s.resolution.label;
  if (l.values.size() > 1) ++expected["label"];
  if (!l.sanctions_overruled.empty()) ++expected["label"];
  for (const common::FieldDecision& f : s.resolution.text_fields) {
    if (f.values.size() > 1) ++expected[f.field];
  }
  std::map<std::string, int> noted;
  for (const std::string& note : entry.conflicts()) {
    ++noted[note.substr(0, note.find(':'))];
  }
  if (noted != expected) return std::nullopt;
  return s;
}

// Distinct dataset names of `claims` (indices into the entry's claims), in order.
std::string NamesOf(const KnowledgeEntry& entry, const std::vector<size_t>& claims) {
  std::vector<std::string> names;
  for (size_t i : claims) {
    std::string name = SourceName(entry.claims(static_cast<int>(i)));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return absl::StrJoin(names, ", ");
}

// The claims that carry `label`, in claim order.
std::vector<size_t> ClaimsWithLabel(const KnowledgeEntry& entry, absl::string_view label) {
  std::vector<size_t> out;
  for (int i = 0; i < entry.claims_size(); ++i) {
    if (absl::EqualsIgnoreCase(entry.claims(i).record().label(), label)) {
      out.push_back(static_cast<size_t>(i));
    }
  }
  return out;
}

// The highest-authority claim of an OFAC SDN dataset, when any.
std::optional<size_t> OfacClaim(const KnowledgeEntry& entry, const Settlement* s) {
  if (s != nullptr) return s->resolution.label.ofac;
  for (int i = 0; i < entry.claims_size(); ++i) {
    if (common::IsOfacFormat(entry.claims(i).dataset_format())) return static_cast<size_t>(i);
  }
  return std::nullopt;
}

// "OFAC no longer lists it as sanctioned (ofac_sdn: delisted from the OFAC SDN list; added
// 2022-08-08)." when an OFAC list knows the address but does not say it is sanctioned; empty
// otherwise. Sets `note_used` to the OFAC claim's note when the sentence quotes it.
std::string OfacSentence(const KnowledgeEntry& entry, std::optional<size_t> ofac, bool* delisted,
                         std::string* note_used) {
  *delisted = false;
  if (!ofac.has_value()) return "";
  const SourceClaim& claim = entry.claims(static_cast<int>(*ofac));
  const AddressRecord& r = claim.record();
  if (common::LabelSeverity(r.label()) == common::kSeveritySanctioned) return "";
  *delisted = absl::EqualsIgnoreCase(r.original_label(), "delisted");
  std::string status = r.note().empty() ? r.original_label() : r.note();
  if (!r.note().empty()) *note_used = r.note();
  return absl::StrCat(*delisted ? "OFAC no longer lists it as sanctioned ("
                                : "OFAC does not list it as sanctioned (",
                      SourceName(claim), status.empty() ? "" : ": ", status, ").");
}

// Sentences for the conflicts the policy settled, each naming what it settled and by which
// rule; `label` is the reported label.
std::vector<std::string> ConflictSentences(const KnowledgeEntry& entry, const Settlement& s,
                                           absl::string_view label) {
  std::vector<std::string> out;
  const common::LabelDecision& l = s.resolution.label;
  if (!l.sanctions_overruled.empty()) {
    out.push_back(absl::StrCat("The Sanctioned label from ", NamesOf(entry, l.sanctions_overruled),
                               " is overruled: only OFAC decides sanctions."));
  }
  if (l.values.size() > 1) {
    std::vector<std::string> losers;
    std::string winner;
    for (const common::ClaimedValue& v : l.values) {
      std::string part = absl::StrCat(v.value, " (", NamesOf(entry, v.claims), ")");
      if (v.value == label) {
        winner = std::move(part);
      } else {
        losers.push_back(std::move(part));
      }
    }
    out.push_back(absl::StrCat("Sources disagree on the label: ", winner, " is reported over ",
                               absl::StrJoin(losers, " and "), " as the most severe",
                               l.sanctions_overruled.empty() ? "" : " of the labels left", "."));
  }
  for (const common::FieldDecision& f : s.resolution.text_fields) {
    if (f.values.size() < 2 || !f.winner.has_value()) continue;
    std::vector<std::string> losers;
    for (size_t v = 1; v < f.values.size(); ++v) {
      losers.push_back(absl::StrCat(
          Quoted(f.values[v].value), " (", NamesOf(entry, f.values[v].claims), ") by ",
          common::PrecedenceRule(s.claims[*f.winner], s.claims[f.values[v].claims[0]])));
    }
    out.push_back(absl::StrCat("Sources disagree on the ", FieldWords(f.field), ": ",
                               Quoted(f.values[0].value), " (", NamesOf(entry, f.values[0].claims),
                               ") is reported over ", absl::StrJoin(losers, ", and over "), "."));
  }
  return out;
}

std::vector<std::string> NextSteps(absl::string_view label, bool known, bool risky_tags,
                                   bool delisted) {
  std::vector<std::string> steps;
  switch (common::LabelSeverity(label)) {
    case common::kSeveritySanctioned:
      steps = {"Do not send funds to or accept funds from this address: it is sanctioned.",
               "Escalate to your compliance team; dealings with it may be prohibited by law."};
      break;
    case common::kSeverityHeist:
      steps = {"Do not interact: this address holds or moved stolen funds.",
               "If funds arrived from it, freeze them and report to your security and compliance "
               "teams."};
      break;
    case common::kSeverityPhishHack:
    case common::kSeverityExploit:
      steps = {"Do not send funds to this address or sign approvals for it.",
               "Revoke any token approvals already granted to it."};
      break;
    case common::kSeverityScam:
      steps = {"Do not send funds: this address is reported as a scam.",
               "Warn the user and report the site or message that led them here."};
      break;
    case common::kSeverityLegit:
      steps = {
          "None needed; verify the address on the project's own site before approving "
          "large amounts."};
      break;
    default:
      if (!known) {
        return {"No dataset this model was trained on knows this address: treat it as unverified.",
                "Check its history on a block explorer before sending funds or approving it."};
      }
      steps = {
          "No risk verdict in the training data: review the tags and live chain data before "
          "trusting it."};
      if (risky_tags) steps.push_back("Its tags signal risk: get a second review before sending.");
      break;
  }
  if (delisted) {
    steps.push_back(
        "It was on the OFAC sanctions list: ask your compliance team whether dealings from "
        "while it was listed need review.");
  }
  return steps;
}

std::string Claim(const AddressRecord& r) {
  std::vector<std::string> parts;
  std::string label = r.original_label().empty() || r.original_label() == r.label()
                          ? r.label()
                          : absl::StrCat(r.original_label(), " → ", r.label());
  if (!label.empty()) parts.push_back(absl::StrCat("label ", label));
  if (!r.name().empty()) parts.push_back(absl::StrCat("name ", Quoted(r.name())));
  if (!r.account_type().empty()) parts.push_back(r.account_type());
  if (!r.contract_type().empty()) parts.push_back(absl::StrCat(r.contract_type(), " contract"));
  if (r.tags_size() > 0) parts.push_back(absl::StrCat("tags ", absl::StrJoin(r.tags(), ", ")));
  if (!r.note().empty()) parts.push_back(r.note());
  if (r.line() > 0) parts.push_back(absl::StrCat("line ", r.line()));
  return absl::StrJoin(parts, "; ");
}

// `text` with its first letter capitalised and a final full stop.
std::string AsSentence(std::string text) {
  text[0] = absl::ascii_toupper(static_cast<unsigned char>(text[0]));
  if (!absl::EndsWith(text, ".")) text.push_back('.');
  return text;
}

}  // namespace

bool IsRiskyTag(absl::string_view tag) {
  std::string lower = absl::AsciiStrToLower(tag);
  for (const char* risky : kRiskyTags) {
    if (lower == risky) return true;
  }
  return false;
}

Risk RiskOf(absl::string_view label, const model::v1::KnowledgeEntry* entry) {
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
                                               const model::v1::KnowledgeEntry* entry,
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
    for (std::string& step : NextSteps("Unknown", false, false, false)) out.add_next_steps(step);
    return out;
  }
  const AddressRecord& m = entry->merged();
  const std::string label = m.label().empty() ? "Unknown" : m.label();
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

  const std::optional<Settlement> settled = Resettle(*entry, label);
  const Settlement* s = settled.has_value() ? &*settled : nullptr;
  std::vector<std::string> sentences;

  // The verdict, and the sources that state it.
  std::string verdict = absl::StrCat(Subject(m), " ", LabelPhrase(label));
  if (common::LabelSeverity(label) > common::kSeverityUnknown) {
    std::vector<size_t> backing;
    if (s != nullptr) {
      for (const common::ClaimedValue& v : s->resolution.label.values) {
        if (v.value == label) backing = v.claims;
      }
    } else {
      backing = ClaimsWithLabel(*entry, label);
    }
    if (!backing.empty()) absl::StrAppend(&verdict, " according to ", NamesOf(*entry, backing));
  }
  sentences.push_back(absl::StrCat(verdict, "."));

  // What OFAC says when it knows the address but does not sanction it.
  bool delisted = false;
  std::string ofac_note;
  std::string ofac = OfacSentence(*entry, OfacClaim(*entry, s), &delisted, &ofac_note);
  if (!ofac.empty()) sentences.push_back(std::move(ofac));

  // Each settled conflict and the rule that settled it.
  if (s != nullptr) {
    for (std::string& sentence : ConflictSentences(*entry, *s, label)) {
      sentences.push_back(std::move(sentence));
    }
  } else if (entry->conflicts_size() > 0) {
    sentences.push_back(absl::StrCat("Its sources disagree: the conflict policy settled ",
                                     entry->conflicts_size(),
                                     entry->conflicts_size() == 1 ? " conflict" : " conflicts",
                                     " when the model was built (listed under conflicts)."));
  }

  if (label == "Unknown" && m.tags_size() > 0) {
    sentences.push_back(absl::StrCat("Tags: ", absl::StrJoin(m.tags(), ", "), "."));
  }
  if (!m.note().empty() && m.note() != ofac_note) sentences.push_back(AsSentence(m.note()));
  out.set_description(absl::StrJoin(sentences, " "));

  bool risky_tags = risk.level == common::v1::RISK_LEVEL_MEDIUM;
  for (std::string& step : NextSteps(label, true, risky_tags, delisted)) out.add_next_steps(step);

  for (int i = 0; i < entry->claims_size(); ++i) {
    const SourceClaim& claim = entry->claims(i);
    common::v1::Evidence* e = out.add_evidence();
    e->set_source(claim.source());
    const AddressRecord& r = claim.record();
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
    if (s != nullptr) {
      const std::vector<size_t>& overruled = s->resolution.label.overruled;
      e->set_overruled(
          std::binary_search(overruled.begin(), overruled.end(), static_cast<size_t>(i)));
    } else {
      e->set_overruled(!r.label().empty() && r.label() != "Unknown" && r.label() != label);
    }
    if (claim.has_observed_time()) *e->mutable_observed_time() = claim.observed_time();
  }
  return out;
}

namespace {

std::string Figure(double v) { return absl::StrFormat("%.3g", v); }

// "sent_tnx = 3 (+1.24), total_ether_received = 0.5 (-0.61)".
std::string Weights(const inference::v1::BehaviouralScore& b) {
  std::vector<std::string> parts;
  for (const inference::v1::FeatureContribution& c : b.top_contributions()) {
    parts.push_back(absl::StrCat(c.feature(), " = ",
                                 c.has_value() ? Figure(c.value()) : std::string("missing"), " (",
                                 c.contribution() >= 0 ? "+" : "", Figure(c.contribution()), ")"));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

Risk BehaviouralRisk(const inference::v1::BehaviouralScore& b) {
  if (b.flagged()) return {common::v1::RISK_LEVEL_HIGH, std::max(b.score(), 0.5)};
  return {
      b.score() >= b.threshold() / 2 ? common::v1::RISK_LEVEL_MEDIUM : common::v1::RISK_LEVEL_LOW,
      b.score()};
}

inference::v1::PredictResponse BuildReport(const eth::Address& address,
                                           const Assessment& assessment,
                                           const std::string& model_name) {
  inference::v1::PredictResponse out = BuildPrediction(address, assessment.entry, model_name);
  if (assessment.has_knowledge) out.add_answered_by("knowledge");
  if (!assessment.behaviour.has_value()) return out;
  const inference::v1::BehaviouralScore& b = *assessment.behaviour;
  out.add_answered_by("classifier");
  *out.mutable_behaviour() = b;

  const std::string verdict =
      b.flagged()
          ? absl::StrCat("scores ", Figure(b.score()), ", at or above the threshold ",
                         Figure(b.threshold()), ", so the classifier estimates it as ", b.label())
          : absl::StrCat("scores ", Figure(b.score()), ", below the threshold ",
                         Figure(b.threshold()), ", so the classifier does not flag it");
  const std::string weights =
      b.top_contributions_size() == 0
          ? std::string()
          : absl::StrCat(
                " The features that weighed most (contribution to the log-odds of "
                "flagged): ",
                Weights(b), ".");
  common::v1::Evidence* e = out.add_evidence();
  e->set_source(absl::StrCat("behavioural classifier of ", model_name));
  e->add_fields("behaviour");
  e->set_claim(absl::StrCat("probability of flagged ", Figure(b.score()), " (threshold ",
                            Figure(b.threshold()), ", ", b.features_present(), " of ",
                            b.features_present() + b.features_missing(), " features given, ",
                            b.feature_set(), " feature set)"));

  if (assessment.entry != nullptr) {
    // The datasets decide the report; the behaviour is shown beside it.
    out.set_description(absl::StrCat(out.description(), " Behaviourally it ", verdict,
                                     " (a behavioural estimate; the datasets decide the "
                                     "label).",
                                     weights));
    return out;
  }
  // No dataset lists the address: the report follows the classifier, marked as an estimate.
  e->add_fields("label");
  e->add_fields("risk_level");
  const Risk risk = BehaviouralRisk(b);
  out.set_label(b.label());
  out.set_risk_level(risk.level);
  out.set_risk_score(risk.score);
  out.set_description(absl::StrCat(
      "No dataset model ", model_name,
      " was trained on lists this address. On its behavioural "
      "features it ",
      verdict,
      ". This is a behavioural estimate from the model's classifier, "
      "not a listing",
      b.flagged() ? "." : ", and not being flagged is no evidence of legitimacy.", weights));
  out.clear_next_steps();
  if (b.flagged()) {
    out.add_next_steps(
        "Treat it as high risk: do not send funds or sign approvals until it is verified.");
    out.add_next_steps(
        "Verify the estimate on a block explorer (its history, the counterparties behind the "
        "features above) and report it if it is confirmed.");
  } else {
    out.add_next_steps(
        "No dataset lists it and its behaviour is not flagged: treat it as unverified, not as "
        "safe.");
    out.add_next_steps("Check its history on a block explorer before sending large amounts.");
  }
  return out;
}

}  // namespace ethscan::inference

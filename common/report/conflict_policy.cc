#include "common/report/conflict_policy.h"

#include <algorithm>
#include <iterator>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/report/labels.h"

namespace ethscan::common {

const char kConflictPolicyText[] =
    "v1: claims ordered by source authority (dataset format: UNISWAP_TOKENS, OFAC_SDN 1; "
    "ETHERSCAN_LABELS 2; ETHERSCAN_MALICIOUS 3; FORTA_* 4; CRYPTOSCAMDB 5; MEW_DARKLIST 6; "
    "other 7), equal rank: newer dataset, then earlier in the caller's dataset list (request "
    "order of a merge; a job's datasets before its base model's), then earlier row. Label: most "
    "severe wins (Sanctioned > Heist > Exploit > Phish / Hack > Scam > Legit > Unknown; Unknown "
    "abstains); when any OFAC_SDN claim exists only the highest-authority OFAC claim decides "
    "Sanctioned, other Sanctioned claims are overruled. name, account_type, contract_type, "
    "entity: highest-authority non-empty value. tags: union in authority order, "
    "case-insensitive dedupe. features: highest-authority claim that has any. Every claim "
    "kept; every disagreement noted as a conflict.";

namespace {

constexpr char kFormatPrefix[] = "DATASET_FORMAT_";

using TextGetter = const std::string& (v1::AddressRecord::*)() const;
constexpr TextGetter kTextGetters[kPolicyTextFieldCount] = {
    &v1::AddressRecord::name, &v1::AddressRecord::account_type, &v1::AddressRecord::contract_type,
    &v1::AddressRecord::entity};

// Sets text field `field` (an index into kPolicyTextFields) of `record`.
void SetTextField(size_t field, const std::string& value, v1::AddressRecord* record) {
  switch (field) {
    case 0:
      record->set_name(value);
      break;
    case 1:
      record->set_account_type(value);
      break;
    case 2:
      record->set_contract_type(value);
      break;
    default:
      record->set_entity(value);
      break;
  }
}

// "OFAC_SDN" from "DATASET_FORMAT_OFAC_SDN".
absl::string_view ShortFormat(absl::string_view format) {
  absl::ConsumePrefix(&format, kFormatPrefix);
  return format.empty() ? absl::string_view("unknown format") : format;
}

std::tuple<int64_t, int32_t> TimeKey(const google::protobuf::Timestamp& t) {
  return {t.seconds(), t.nanos()};
}

// Adds `claim` under `value` (compared without letter case) in first-appearance order.
void AddValue(std::vector<ClaimedValue>* values, const std::string& value, size_t claim) {
  for (ClaimedValue& v : *values) {
    if (absl::EqualsIgnoreCase(v.value, value)) {
      v.claims.push_back(claim);
      return;
    }
  }
  values->push_back({value, {claim}});
}

// Every claim of every value other than the kept one, ascending.
std::vector<size_t> OverruledBy(const std::vector<ClaimedValue>& values, absl::string_view kept) {
  std::vector<size_t> out;
  for (const ClaimedValue& v : values) {
    if (absl::EqualsIgnoreCase(v.value, kept)) continue;
    out.insert(out.end(), v.claims.begin(), v.claims.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

LabelDecision DecideLabel(const std::vector<PolicyClaim>& claims) {
  LabelDecision d;
  d.field = "label";
  for (size_t i = 0; i < claims.size(); ++i) {
    if (IsOfacFormat(claims[i].format)) {
      d.ofac = i;
      break;
    }
  }
  const bool ofac_sanctions =
      d.ofac.has_value() && LabelSeverity(claims[*d.ofac].record->label()) == kSeveritySanctioned;
  std::optional<size_t> first_unknown;
  int best = -1;
  for (size_t i = 0; i < claims.size(); ++i) {
    const int severity = LabelSeverity(claims[i].record->label());
    if (severity < 0) continue;
    if (severity == kSeverityUnknown) {
      if (!first_unknown.has_value()) first_unknown = i;
      continue;
    }
    if (severity == kSeveritySanctioned && d.ofac.has_value() && !ofac_sanctions) {
      d.sanctions_overruled.push_back(i);
      continue;
    }
    AddValue(&d.values, std::string(kReportLabels[severity]), i);
    if (severity > best) {
      best = severity;
      d.winner = i;
    }
  }
  if (d.winner.has_value()) {
    d.value = std::string(kReportLabels[best]);
  } else {
    d.value = std::string(kReportLabels[kSeverityUnknown]);
    d.winner = first_unknown.has_value() ? first_unknown : d.ofac;
  }
  d.overruled = OverruledBy(d.values, d.value);
  const bool severity_rule = !d.overruled.empty();
  d.overruled.insert(d.overruled.end(), d.sanctions_overruled.begin(), d.sanctions_overruled.end());
  std::sort(d.overruled.begin(), d.overruled.end());
  if (!d.sanctions_overruled.empty()) {
    d.rule = "OFAC decides sanctions";
    if (severity_rule) absl::StrAppend(&d.rule, "; then the most severe label");
  } else if (severity_rule) {
    d.rule = "most severe label";
  }
  return d;
}

FieldDecision DecideText(const std::vector<PolicyClaim>& claims, size_t field) {
  FieldDecision d;
  d.field = kPolicyTextFields[field];
  for (size_t i = 0; i < claims.size(); ++i) {
    std::string value(absl::StripAsciiWhitespace((claims[i].record->*kTextGetters[field])()));
    if (value.empty()) continue;
    if (!d.winner.has_value()) {
      d.winner = i;
      d.value = value;
    }
    AddValue(&d.values, value, i);
  }
  d.overruled = OverruledBy(d.values, d.value);
  if (!d.overruled.empty()) d.rule = PrecedenceRule(claims[*d.winner], claims[d.overruled[0]]);
  return d;
}

}  // namespace

int AuthorityRankOfFormat(absl::string_view format_name) {
  absl::string_view f = ShortFormat(format_name);
  if (f == "UNISWAP_TOKENS" || f == "OFAC_SDN") return 1;
  if (f == "ETHERSCAN_LABELS") return 2;
  if (f == "ETHERSCAN_MALICIOUS") return 3;
  if (f == "FORTA_PHISHING_SCAMS" || f == "FORTA_MALICIOUS_LABELS" ||
      f == "FORTA_MALICIOUS_CONTRACTS") {
    return 4;
  }
  if (f == "CRYPTOSCAMDB") return 5;
  if (f == "MEW_DARKLIST") return 6;
  return kLowestAuthorityRank;
}

bool IsOfacFormat(absl::string_view format_name) {
  return format_name == "DATASET_FORMAT_OFAC_SDN";
}

bool HasPrecedence(const PolicyClaim& a, const PolicyClaim& b) {
  const int rank_a = AuthorityRankOfFormat(a.format);
  const int rank_b = AuthorityRankOfFormat(b.format);
  if (rank_a != rank_b) return rank_a < rank_b;
  if (TimeKey(a.observed_time) != TimeKey(b.observed_time)) {
    return TimeKey(a.observed_time) > TimeKey(b.observed_time);
  }
  if (a.position != b.position) return a.position < b.position;
  return a.sequence < b.sequence;
}

void SortByAuthority(std::vector<PolicyClaim>& claims) {
  std::stable_sort(claims.begin(), claims.end(), HasPrecedence);
}

std::string PrecedenceRule(const PolicyClaim& winner, const PolicyClaim& loser) {
  const int rank_w = AuthorityRankOfFormat(winner.format);
  const int rank_l = AuthorityRankOfFormat(loser.format);
  if (rank_w != rank_l) {
    return absl::StrCat("source authority (", ShortFormat(winner.format), " rank ", rank_w,
                        " over ", ShortFormat(loser.format), " rank ", rank_l, ")");
  }
  if (TimeKey(winner.observed_time) != TimeKey(loser.observed_time)) {
    return "recency (the newer dataset at equal authority)";
  }
  if (winner.position != loser.position) {
    return "dataset priority (the dataset listed earlier, at equal authority and age)";
  }
  return "row order (the earlier record of the same dataset)";
}

bool Resolution::Overruled(size_t index) const {
  if (std::binary_search(label.overruled.begin(), label.overruled.end(), index)) return true;
  for (const FieldDecision& f : text_fields) {
    if (std::binary_search(f.overruled.begin(), f.overruled.end(), index)) return true;
  }
  return false;
}

std::vector<const FieldDecision*> Resolution::Conflicts() const {
  std::vector<const FieldDecision*> out;
  if (!label.overruled.empty()) out.push_back(&label);
  for (const FieldDecision& f : text_fields) {
    if (!f.overruled.empty()) out.push_back(&f);
  }
  return out;
}

Resolution ResolveClaims(const std::vector<PolicyClaim>& claims, bool copy_features) {
  Resolution r;
  r.label = DecideLabel(claims);
  r.merged.set_label(r.label.value);
  if (r.label.winner.has_value()) {
    const v1::AddressRecord& won = *claims[*r.label.winner].record;
    r.merged.set_original_label(won.original_label());
    r.merged.set_note(won.note());
  }
  for (size_t field = 0; field < kPolicyTextFieldCount; ++field) {
    FieldDecision d = DecideText(claims, field);
    if (d.winner.has_value()) SetTextField(field, d.value, &r.merged);
    r.text_fields.push_back(std::move(d));
  }
  absl::flat_hash_set<std::string> seen_tags;
  for (size_t i = 0; i < claims.size(); ++i) {
    bool contributed = false;
    for (const std::string& raw : claims[i].record->tags()) {
      std::string tag(absl::StripAsciiWhitespace(raw));
      if (tag.empty() || !seen_tags.insert(absl::AsciiStrToLower(tag)).second) continue;
      r.merged.add_tags(tag);
      contributed = true;
    }
    if (contributed) r.tag_sources.push_back(i);
  }
  for (size_t i = 0; i < claims.size(); ++i) {
    if (claims[i].record->features_size() > 0) {
      r.features_from = i;
      if (copy_features) *r.merged.mutable_features() = claims[i].record->features();
      break;
    }
  }
  return r;
}

}  // namespace ethscan::common

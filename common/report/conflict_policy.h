// The written conflict policy that settles what several sources claim about one address. Both
// the training service's knowledge builder and the dataset service's MergeDatasets decide with
// it, so a merged dataset and a knowledge model built from the same datasets agree. Pure logic,
// no I/O.
//
// Conflict policy v1 (kConflictPolicyText says the same in one paragraph):
//
//  * Every record about an address is one claim. A claim carries its record, the format of the
//    dataset it comes from (an ethscan.dataset.v1.DatasetFormat value name), the dataset's
//    create time, the dataset's place in the caller's priority list and the order the record
//    was read in.
//  * Claims are ordered by authority (SortByAuthority):
//      1. source rank by dataset format: UNISWAP_TOKENS and OFAC_SDN 1, ETHERSCAN_LABELS 2,
//         ETHERSCAN_MALICIOUS 3, FORTA_* 4, CRYPTOSCAMDB 5, MEW_DARKLIST 6, any other format 7
//         (MERGED, chat and CSV uploads among them);
//      2. equal rank: the newer dataset (create time) first: recency;
//      3. then the dataset earlier in the caller's list: priority (the request order of
//         MergeDatasets; a job's datasets before the datasets of its base model);
//      4. then the record read earlier (row order).
//  * label: the most severe claimed label wins: Sanctioned > Heist > Exploit > Phish / Hack >
//    Scam > Legit > Unknown (a security product errs towards caution). "Unknown", an empty
//    label and labels outside that vocabulary abstain: they are never overruled, and when
//    nothing else is claimed the label is "Unknown". Less severe labels are overruled.
//  * Sanctions: when any claim comes from an OFAC_SDN dataset, only OFAC decides whether the
//    address is "Sanctioned": the highest-authority OFAC claim decides. If it does not say
//    "Sanctioned" (a delisted address), every other "Sanctioned" claim is overruled and the
//    remaining labels decide.
//  * name, account_type, contract_type, entity: the value of the highest-authority claim that
//    has one (surrounding spaces trimmed); other values (compared without letter case) are
//    overruled.
//  * tags: the union of every claim's tags in authority order, first spelling kept, duplicates
//    removed without regard to letter case. Nothing is overruled.
//  * features: those of the highest-authority claim that has any.
//  * original_label and note come from the claim whose label won.
//
// Thread-safety: every function is thread-safe.
#ifndef ETHSCAN_COMMON_REPORT_CONFLICT_POLICY_H_
#define ETHSCAN_COMMON_REPORT_CONFLICT_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/report/labels.h"
#include "ethscan/common/v1/common.pb.h"

namespace ethscan::common {

// Version of the policy; part of the content-addressed id of a merged dataset, so a changed
// policy never returns a dataset merged under the old one.
inline constexpr char kConflictPolicyVersion[] = "v1";

// The policy in one paragraph, as stored with every knowledge model.
extern const char kConflictPolicyText[];

// Rank of the least authoritative sources (formats the policy does not name).
inline constexpr int kLowestAuthorityRank = 7;

// Authority rank of a dataset format given by its enum value name
// ("DATASET_FORMAT_OFAC_SDN"): 1 is the most authoritative, kLowestAuthorityRank for any
// other name.
int AuthorityRankOfFormat(absl::string_view format_name);

// True for "DATASET_FORMAT_OFAC_SDN".
bool IsOfacFormat(absl::string_view format_name);

// The single-valued text fields, in the order the policy settles them.
inline constexpr const char* kPolicyTextFields[] = {"name", "account_type", "contract_type",
                                                    "entity"};
inline constexpr size_t kPolicyTextFieldCount = 4;

// One record as one source states it, with that source's standing.
struct PolicyClaim {
  // The record; not owned, must outlive the resolution.
  const v1::AddressRecord* record = nullptr;
  // DatasetFormat value name of the record's dataset ("DATASET_FORMAT_UNISWAP_TOKENS").
  std::string format;
  // When the record's dataset was stored.
  google::protobuf::Timestamp observed_time;
  // The dataset's place in the caller's priority list; 0 is first.
  uint64_t position = 0;
  // The order the record was read in, across all records of the caller.
  uint64_t sequence = 0;
};

// True when `a` goes before `b` in authority order (rank, recency, position, sequence).
bool HasPrecedence(const PolicyClaim& a, const PolicyClaim& b);

// Sorts claims into authority order (stable).
void SortByAuthority(std::vector<PolicyClaim>& claims);

// Which step of the authority order puts `winner` before `loser`, in words, for example
// "source authority (OFAC_SDN rank 1 over FORTA_PHISHING_SCAMS rank 4)" or "recency (the newer
// dataset at equal authority)".
std::string PrecedenceRule(const PolicyClaim& winner, const PolicyClaim& loser);

// One distinct value of a field and the claims that state it (indices into the claims).
struct ClaimedValue {
  // The first spelling in authority order.
  std::string value;
  std::vector<size_t> claims;
};

// How one field was settled.
struct FieldDecision {
  // "label", "name", "account_type", "contract_type" or "entity".
  std::string field;
  // The value kept; empty when no claim states one ("Unknown" for the label).
  std::string value;
  // The claim whose value was kept, when one was.
  std::optional<size_t> winner;
  // Distinct values stated, in authority order of first appearance. Abstaining labels and
  // Sanctioned claims that OFAC overruled are not among them.
  std::vector<ClaimedValue> values;
  // Claims whose stated value was overruled, ascending.
  std::vector<size_t> overruled;
  // The rule that decided, in words; empty when nothing was overruled.
  std::string rule;
};

// How the label was settled: a FieldDecision plus the sanctions rule.
struct LabelDecision : FieldDecision {
  // The highest-authority OFAC_SDN claim, when any.
  std::optional<size_t> ofac;
  // Sanctioned claims overruled because OFAC does not list the address as sanctioned.
  std::vector<size_t> sanctions_overruled;
};

// The settlement of one address.
struct Resolution {
  // label, original_label, note, name, account_type, contract_type, entity, tags and features
  // as the policy decides; address, chain_id, source, line and evidence are left to the
  // caller.
  v1::AddressRecord merged;
  LabelDecision label;
  // In the order of kPolicyTextFields.
  std::vector<FieldDecision> text_fields;
  // Claims that contributed at least one tag, in authority order.
  std::vector<size_t> tag_sources;
  // The claim the features come from, when any has features.
  std::optional<size_t> features_from;

  // True when the policy overruled something claim `index` states.
  bool Overruled(size_t index) const;
  // Fields on which some claim was overruled (each is one resolved conflict).
  std::vector<const FieldDecision*> Conflicts() const;
};

// Settles one address. `claims` must be non-empty and in authority order (SortByAuthority).
// Without `copy_features`, `merged` gets no features (features_from still names the claim
// they come from), for a caller that moves them instead of copying them.
Resolution ResolveClaims(const std::vector<PolicyClaim>& claims, bool copy_features = true);

}  // namespace ethscan::common

#endif  // ETHSCAN_COMMON_REPORT_CONFLICT_POLICY_H_

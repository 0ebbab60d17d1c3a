// Merging the rows one dataset holds for the same address (case variants, repeated reports),
// as the chat export needs one example per address. Pure logic, no I/O.
//
// Merge rule, applied in file order:
//  - label: the most severe one (LabelSeverity: Sanctioned > Heist > Exploit > Phish / Hack >
//    Scam > Legit > Unknown, the order of the training service's conflict policy); on a tie
//    the first. Labels outside the vocabulary rank below Unknown. `original_label` and `note`
//    come from the record whose label won.
//  - name, account_type, contract_type, entity: the first non-empty value.
//  - tags: the union in first-seen order; duplicates removed without regard to letter case.
//  - address: EIP-55; chain_id, source and line: the first record's.
//
// Thread-safety: not thread-safe; one merger per pass over a dataset.
#ifndef ETHSCAN_SERVICES_DATASET_RECORD_MERGE_H_
#define ETHSCAN_SERVICES_DATASET_RECORD_MERGE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/eth/address.h"
#include "common/report/labels.h"
#include "ethscan/common/v1/common.pb.h"

namespace ethscan::dataset {

// The report labels, least severe first: Unknown, Legit, Scam, Phish / Hack, Exploit, Heist,
// Sanctioned.
const std::vector<std::string>& ReportLabels();

// The account types a record may carry: "EOA", "Smart Contract".
const std::vector<std::string>& AccountTypes();

// The account type spelled as AccountTypes spells it ("eoa" -> "EOA"), "" for an empty value,
// or nullopt for anything else. Case-insensitive.
std::optional<std::string> CanonicalAccountType(absl::string_view value);

// The address of a stored record (any letter case); INVALID_ARGUMENT naming the record's line
// when it is not one.
absl::StatusOr<eth::Address> RecordAddress(const common::v1::AddressRecord& record);

class RecordMerger {
 public:
  RecordMerger() = default;
  RecordMerger(const RecordMerger&) = delete;
  RecordMerger& operator=(const RecordMerger&) = delete;

  // Merges `record` into its address's entry. INVALID_ARGUMENT when the address does not parse.
  absl::Status Add(const common::v1::AddressRecord& record);

  // One merged record per distinct address, in the order the addresses first appeared.
  const std::vector<common::v1::AddressRecord>& records() const { return records_; }
  size_t size() const { return records_.size(); }
  // Moves the merged records out; the merger is empty afterwards.
  std::vector<common::v1::AddressRecord> TakeRecords() {
    position_.clear();
    return std::move(records_);
  }

 private:
  absl::flat_hash_map<eth::Address, size_t> position_;
  std::vector<common::v1::AddressRecord> records_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_RECORD_MERGE_H_

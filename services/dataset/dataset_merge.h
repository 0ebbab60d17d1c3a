// The logic behind MergeDatasets: one record per distinct address over several datasets,
// settled by the shared conflict policy (common/report/conflict_policy.h), with every source
// record kept as evidence and every resolved conflict reported. Pure logic, no I/O;
// DatasetManager reads the parents and writes the merged dataset.
//
// Merged record of an address:
//  * address: EIP-55; chain_id: the parents' chain;
//  * label, original_label, note, name, account_type, contract_type, entity, tags and features
//    as the policy decides, the parents in request order being the policy's priority list and
//    their create times its recency;
//  * source: the sources of the claims that won a field or added a tag, comma separated, in
//    authority order (a record's source is its `source`, or its dataset's name when empty);
//  * evidence: one Evidence per source record, in authority order: its source, the fields the
//    merged record took from it or agrees with it on, what it claims in words (overruled
//    values marked "[overruled]"), `overruled` when the policy overruled any of its values, and
//    observed_time = its dataset's create time;
//  * line: left to the caller (DatasetManager numbers the merged records 1, 2, …).
// Each field on which the policy overruled a claim is one MergeConflict: the value kept and its
// source, the values overruled (one per distinct value, source and dataset) and the rule.
//
// Thread-safety: not thread-safe; one merger per merge.
#ifndef ETHSCAN_SERVICES_DATASET_DATASET_MERGE_H_
#define ETHSCAN_SERVICES_DATASET_DATASET_MERGE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/eth/address.h"
#include "ethscan/common/v1/common.pb.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"

namespace ethscan::dataset {

// The content-addressed id of a merge: "ds-" + 16 hex digits of SHA-256 over the method
// version (with the conflict policy's version), the name and the parent ids in order. The
// parents are immutable and the policy deterministic, so the id stands for the content.
std::string MergedDatasetId(const std::vector<std::string>& parent_ids, absl::string_view name);

class DatasetMerger {
 public:
  // `parents` in request order, highest priority first.
  explicit DatasetMerger(std::vector<v1::Dataset> parents);
  DatasetMerger(const DatasetMerger&) = delete;
  DatasetMerger& operator=(const DatasetMerger&) = delete;

  // Adds one record of parents[parent]. INVALID_ARGUMENT when its address does not parse or
  // `parent` is out of range.
  absl::Status Add(size_t parent, const common::v1::AddressRecord& record);

  // Distinct addresses added so far.
  size_t address_count() const { return heads_.size(); }
  // Records added so far.
  uint64_t record_count() const { return claims_.size(); }

  // Settles every address, in order of the lowercase address, and calls `emit` with the
  // merged record and the conflicts resolved for it (in field order: label, name,
  // account_type, contract_type, entity). Stops at the first error `emit` returns. DATA_LOSS
  // when a stored claim no longer parses (it was serialized by Add).
  absl::Status Resolve(
      const std::function<absl::Status(common::v1::AddressRecord merged,
                                       std::vector<v1::MergeConflict> conflicts)>& emit) const;

 private:
  struct Claim {
    uint32_t parent = 0;
    // Offset and size of the serialized record in bytes_.
    uint64_t offset = 0;
    uint32_t size = 0;
    // The address's next claim in read order, or kNone.
    uint32_t next = 0;
  };
  static constexpr uint32_t kNone = 0xffffffff;

  std::vector<v1::Dataset> parents_;
  // Serialized records, back to back: far smaller than parsed messages.
  std::string bytes_;
  std::vector<Claim> claims_;
  // First and last claim of each address.
  absl::flat_hash_map<eth::Address, std::pair<uint32_t, uint32_t>> heads_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_DATASET_MERGE_H_

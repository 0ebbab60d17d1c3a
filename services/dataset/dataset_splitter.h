// The assignment behind SplitDataset: which addresses of a dataset go to train, validation and
// test. Pure logic, no I/O; DatasetManager reads the records and writes the three datasets.
//
// Method (version "split-v1"; changing it changes the split ids, see SplitDatasetId):
//  1. Records are grouped by address, compared without letter case, so every record of one
//     address lands on the same side.
//  2. Each group's stratum is its majority label: the label most of its records carry; a tie
//     goes to the more severe label (LabelSeverity), then to the alphabetically first one.
//  3. Within each stratum the groups are ordered by a keyed hash, the lowercase hex SHA-256 of
//     "split-v1\n<seed>\n<lowercase 0x address>", then by address. The seed therefore shuffles
//     the order, and the order of the records in the file does not matter.
//  4. Each stratum of n groups gets exact counts per side by the largest-remainder method:
//     every side first gets floor(n * fraction); the groups left over go one each to the sides
//     with the largest remainders (ties: train, then validation, then test), and never to a
//     side whose fraction is 0. So every count is within 1 of n * fraction.
//  5. The first count(train) groups of the ordered stratum go to train, the next
//     count(validation) to validation, the rest to test.
// The same records, fractions and seed always give the same assignment, bit for bit.
//
// Thread-safety: not thread-safe; one planner per split.
#ifndef ETHSCAN_SERVICES_DATASET_DATASET_SPLITTER_H_
#define ETHSCAN_SERVICES_DATASET_DATASET_SPLITTER_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/eth/address.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"

namespace ethscan::dataset {

// The sides of a split, in the order used by every array below.
enum class SplitSide : uint8_t { kTrain = 0, kValidation = 1, kTest = 2 };
inline constexpr int kSplitSides = 3;

// "train", "validation" or "test": the suffix of the side's dataset name ("<name>-train").
absl::string_view SplitSideName(SplitSide side);
// The proto enum value of a side.
v1::SplitOrigin::Part SplitSidePart(SplitSide side);

// Fractions and seed of one split.
struct SplitSpec {
  // Shares of train, validation and test, indexed by SplitSide.
  std::array<double, kSplitSides> fractions = {0.8, 0.1, 0.1};
  uint64_t seed = 0;
};

// Checks the fractions of a request: each within [0, 1] (not NaN) and their sum 1 within 1e-9.
// INVALID_ARGUMENT naming the field ("train_fraction -0.5 is not within [0, 1]").
absl::Status ValidateSplitSpec(const SplitSpec& spec);

// The split request's fractions and seed.
SplitSpec SplitSpecFromRequest(const v1::SplitDatasetRequest& request);

// Splits `n` items into sides by the largest-remainder method described above. `fractions`
// should pass ValidateSplitSpec; they are normalised by their sum first (all zero gives all
// zero counts). The result sums to n and each count differs from n * fraction by less than 1.
std::array<uint64_t, kSplitSides> ApportionBySide(uint64_t n,
                                                  const std::array<double, kSplitSides>& fractions);

// The content-addressed id of one side of a split: "ds-" + 16 hex digits of SHA-256 over the
// method version, the parent's id (itself content-addressed), the side, the exact fractions
// and the seed. The parent's records are immutable and the method is deterministic, so the id
// stands for the side's content.
std::string SplitDatasetId(absl::string_view parent_id, SplitSide side, const SplitSpec& spec);

// How many groups (addresses) each side got, per stratum and in total.
struct SplitSummary {
  // Distinct addresses per side.
  std::array<uint64_t, kSplitSides> groups = {0, 0, 0};
  // Distinct addresses per side for each majority label.
  std::map<std::string, std::array<uint64_t, kSplitSides>> groups_by_label;
};

class SplitPlanner {
 public:
  SplitPlanner() = default;
  SplitPlanner(const SplitPlanner&) = delete;
  SplitPlanner& operator=(const SplitPlanner&) = delete;

  // Adds one record's address (any letter case, as Address::Parse accepts it leniently) and
  // label. INVALID_ARGUMENT for an address that does not parse.
  absl::Status Add(absl::string_view address, absl::string_view label);

  // Assigns every added address to a side. `spec` must pass ValidateSplitSpec
  // (INVALID_ARGUMENT otherwise). May be called again with another spec.
  absl::StatusOr<SplitSummary> Assign(const SplitSpec& spec);

  // The side of an address after Assign. NOT_FOUND for an address never added,
  // FAILED_PRECONDITION before Assign, INVALID_ARGUMENT for an unparsable address.
  absl::StatusOr<SplitSide> SideOf(absl::string_view address) const;

  // Distinct addresses added so far.
  size_t group_count() const { return groups_.size(); }

 private:
  struct Group {
    // (label index into labels_, record count) pairs, in first-seen order.
    std::vector<std::pair<uint32_t, uint64_t>> label_counts;
    SplitSide side = SplitSide::kTrain;
  };

  // The group's majority label, as an index into labels_.
  uint32_t MajorityLabel(const Group& group) const;

  absl::flat_hash_map<eth::Address, Group> groups_;
  // Distinct labels seen, and their positions.
  std::vector<std::string> labels_;
  absl::flat_hash_map<std::string, uint32_t> label_index_;
  bool assigned_ = false;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_DATASET_SPLITTER_H_

#include "services/dataset/dataset_splitter.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/eth/hash.h"
#include "services/dataset/record_merge.h"

namespace ethscan::dataset {
namespace {

constexpr char kMethodVersion[] = "split-v1";
constexpr double kSumTolerance = 1e-9;
constexpr const char* kFractionFields[kSplitSides] = {"train_fraction", "validation_fraction",
                                                      "test_fraction"};

// The exact decimal form of a double, so that distinct fractions never share an id.
std::string ExactDouble(double value) { return absl::StrFormat("%.17g", value); }

}  // namespace

absl::string_view SplitSideName(SplitSide side) {
  switch (side) {
    case SplitSide::kTrain:
      return "train";
    case SplitSide::kValidation:
      return "validation";
    case SplitSide::kTest:
      return "test";
  }
  return "unknown";
}

v1::SplitOrigin::Part SplitSidePart(SplitSide side) {
  switch (side) {
    case SplitSide::kTrain:
      return v1::SplitOrigin::PART_TRAIN;
    case SplitSide::kValidation:
      return v1::SplitOrigin::PART_VALIDATION;
    case SplitSide::kTest:
      return v1::SplitOrigin::PART_TEST;
  }
  return v1::SplitOrigin::PART_UNSPECIFIED;
}

absl::Status ValidateSplitSpec(const SplitSpec& spec) {
  for (int i = 0; i < kSplitSides; ++i) {
    const double f = spec.fractions[i];
    if (std::isnan(f) || f < 0 || f > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(kFractionFields[i], " ", f, " is not within [0, 1]"));
    }
  }
  const double sum = spec.fractions[0] + spec.fractions[1] + spec.fractions[2];
  if (std::fabs(sum - 1) > kSumTolerance) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "train_fraction + validation_fraction + test_fraction = %.17g + %.17g + %.17g = %.17g; "
        "they must sum to 1 (within 1e-9)",
        spec.fractions[0], spec.fractions[1], spec.fractions[2], sum));
  }
  return absl::OkStatus();
}

SplitSpec SplitSpecFromRequest(const v1::SplitDatasetRequest& request) {
  SplitSpec spec;
  spec.fractions = {request.train_fraction(), request.validation_fraction(),
                    request.test_fraction()};
  spec.seed = request.seed();
  return spec;
}

std::array<uint64_t, kSplitSides> ApportionBySide(
    uint64_t n, const std::array<double, kSplitSides>& fractions) {
  const double sum = fractions[0] + fractions[1] + fractions[2];
  std::array<uint64_t, kSplitSides> counts = {0, 0, 0};
  if (!(sum > 0)) return counts;
  std::array<double, kSplitSides> remainders = {0, 0, 0};
  uint64_t assigned = 0;
  for (int i = 0; i < kSplitSides; ++i) {
    const double quota = static_cast<double>(n) * (fractions[i] / sum);
    const double whole = std::floor(quota);
    counts[i] = static_cast<uint64_t>(whole);
    remainders[i] = quota - whole;
    assigned += counts[i];
  }
  // Sides that may take a leftover group, largest remainder first; ties in side order.
  std::array<int, kSplitSides> order = {0, 1, 2};
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return remainders[a] > remainders[b]; });
  // Rounding can only leave fewer than three groups over; a floating-point quota just above a
  // whole number could in theory hand out one too many, which is taken back from the smallest
  // remainder.
  while (assigned > n) {
    for (int k = kSplitSides - 1; k >= 0; --k) {
      if (counts[order[k]] > 0) {
        --counts[order[k]];
        --assigned;
        break;
      }
    }
  }
  for (int k = 0; assigned < n; k = (k + 1) % kSplitSides) {
    if (fractions[order[k]] > 0) {
      ++counts[order[k]];
      ++assigned;
    }
  }
  return counts;
}

std::string SplitDatasetId(absl::string_view parent_id, SplitSide side, const SplitSpec& spec) {
  const std::string key =
      absl::StrCat(kMethodVersion, "\n", parent_id, "\n", SplitSideName(side), "\n",
                   ExactDouble(spec.fractions[0]), "\n", ExactDouble(spec.fractions[1]), "\n",
                   ExactDouble(spec.fractions[2]), "\n", spec.seed);
  return absl::StrCat("ds-", eth::Sha256::HexDigest(key).substr(0, 16));
}

absl::Status SplitPlanner::Add(absl::string_view address, absl::string_view label) {
  absl::StatusOr<eth::Address> parsed =
      eth::Address::Parse(address, eth::Address::ChecksumPolicy::kLenient);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid address \"", address, "\": ", parsed.status().message()));
  }
  auto [label_it, new_label] = label_index_.try_emplace(static_cast<std::string>(label),
                                                        static_cast<uint32_t>(labels_.size()));
  if (new_label) labels_.emplace_back(label);
  const uint32_t index = label_it->second;
  Group& group = groups_[*parsed];
  for (auto& [label_id, count] : group.label_counts) {
    if (label_id == index) {
      ++count;
      return absl::OkStatus();
    }
  }
  group.label_counts.emplace_back(index, 1);
  return absl::OkStatus();
}

uint32_t SplitPlanner::MajorityLabel(const Group& group) const {
  uint32_t best = group.label_counts.front().first;
  uint64_t best_count = group.label_counts.front().second;
  for (const auto& [label_id, count] : group.label_counts) {
    if (label_id == best) continue;
    const std::string& label = labels_[label_id];
    const std::string& best_label = labels_[best];
    const int severity = common::LabelSeverity(label);
    const int best_severity = common::LabelSeverity(best_label);
    if (count > best_count ||
        (count == best_count &&
         (severity > best_severity || (severity == best_severity && label < best_label)))) {
      best = label_id;
      best_count = count;
    }
  }
  return best;
}

absl::StatusOr<SplitSummary> SplitPlanner::Assign(const SplitSpec& spec) {
  absl::Status valid = ValidateSplitSpec(spec);
  if (!valid.ok()) return valid;
  struct Member {
    std::string key;
    eth::Address address;
    Group* group;
  };
  // Strata keyed by label text, so that their order (and the summary) does not depend on the
  // order the labels were first seen in.
  std::map<std::string, std::vector<Member>> strata;
  const std::string prefix = absl::StrCat(kMethodVersion, "\n", spec.seed, "\n");
  for (auto& [address, group] : groups_) {
    strata[labels_[MajorityLabel(group)]].push_back(Member{
        eth::Sha256::HexDigest(absl::StrCat(prefix, address.ToLowerHex())), address, &group});
  }
  SplitSummary summary;
  for (auto& [label, members] : strata) {
    std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
      if (a.key != b.key) return a.key < b.key;
      return a.address < b.address;
    });
    const std::array<uint64_t, kSplitSides> counts =
        ApportionBySide(members.size(), spec.fractions);
    size_t next = 0;
    for (int side = 0; side < kSplitSides; ++side) {
      for (uint64_t i = 0; i < counts[side]; ++i) {
        members[next++].group->side = static_cast<SplitSide>(side);
      }
      summary.groups[side] += counts[side];
    }
    summary.groups_by_label[label] = counts;
  }
  assigned_ = true;
  return summary;
}

absl::StatusOr<SplitSide> SplitPlanner::SideOf(absl::string_view address) const {
  if (!assigned_) return absl::FailedPreconditionError("split sides are not assigned yet");
  absl::StatusOr<eth::Address> parsed =
      eth::Address::Parse(address, eth::Address::ChecksumPolicy::kLenient);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid address \"", address, "\": ", parsed.status().message()));
  }
  auto it = groups_.find(*parsed);
  if (it == groups_.end()) {
    return absl::NotFoundError(absl::StrCat("address ", address, " is not in the split"));
  }
  return it->second.side;
}

}  // namespace ethscan::dataset

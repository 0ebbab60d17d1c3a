#include "services/dataset/record_merge.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/dataset/record_mapper.h"

namespace ethscan::dataset {
namespace {

using common::v1::AddressRecord;

// Merged records rank a label outside the vocabulary below Unknown, and an empty one lowest.
int MergeRank(absl::string_view label) {
  if (label.empty()) return -2;
  return common::LabelSeverity(label);
}

void FillIfEmpty(std::string* target, const std::string& value) {
  if (target->empty() && !value.empty()) *target = value;
}

// Appends the non-empty tags of `from` that `merged` lacks (compared without letter case).
void MergeTags(const AddressRecord& from, AddressRecord* merged) {
  for (const std::string& tag : from.tags()) {
    if (tag.empty()) continue;
    bool seen = false;
    for (const std::string& kept : merged->tags()) {
      seen = seen || absl::EqualsIgnoreCase(kept, tag);
    }
    if (!seen) merged->add_tags(tag);
  }
}

}  // namespace

const std::vector<std::string>& ReportLabels() {
  static const auto* labels = new std::vector<std::string>(std::begin(common::kReportLabels),
                                                           std::end(common::kReportLabels));
  return *labels;
}

const std::vector<std::string>& AccountTypes() {
  static const auto* types = new std::vector<std::string>{kAccountEoa, kAccountContract};
  return *types;
}

std::optional<std::string> CanonicalAccountType(absl::string_view value) {
  if (value.empty()) return std::string();
  for (const std::string& type : AccountTypes()) {
    if (value == type || absl::EqualsIgnoreCase(value, type)) return type;
  }
  return std::nullopt;
}

absl::StatusOr<eth::Address> RecordAddress(const AddressRecord& record) {
  absl::StatusOr<eth::Address> address =
      eth::Address::Parse(record.address(), eth::Address::ChecksumPolicy::kLenient);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("record of line ", record.line(),
                                                   " has an invalid address \"", record.address(),
                                                   "\": ", address.status().message()));
  }
  return address;
}

absl::Status RecordMerger::Add(const AddressRecord& record) {
  ASSIGN_OR_RETURN(const eth::Address address, RecordAddress(record));
  auto [it, inserted] = position_.try_emplace(address, records_.size());
  if (inserted) {
    AddressRecord& merged = records_.emplace_back(record);
    merged.set_address(address.ToChecksumHex());
    // Tags are re-added to drop duplicates within the first record too.
    merged.clear_tags();
    MergeTags(record, &merged);
    return absl::OkStatus();
  }
  AddressRecord& merged = records_[it->second];
  if (MergeRank(record.label()) > MergeRank(merged.label())) {
    merged.set_label(record.label());
    merged.set_original_label(record.original_label());
    merged.set_note(record.note());
  }
  FillIfEmpty(merged.mutable_name(), record.name());
  FillIfEmpty(merged.mutable_account_type(), record.account_type());
  FillIfEmpty(merged.mutable_contract_type(), record.contract_type());
  FillIfEmpty(merged.mutable_entity(), record.entity());
  MergeTags(record, &merged);
  return absl::OkStatus();
}

}  // namespace ethscan::dataset

#include "services/dataset/dataset_merge.h"

#include <algorithm>
#include <limits>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/hash.h"
#include "common/report/conflict_policy.h"
#include "common/report/labels.h"
#include "common/status/status_macros.h"
#include "services/dataset/record_merge.h"

namespace ethscan::dataset {
namespace {

using common::v1::AddressRecord;

constexpr char kMethodVersion[] = "merge-v1";

// The source of a record: its `source`, or its dataset's name.
const std::string& SourceOf(const AddressRecord& record, const v1::Dataset& dataset) {
  return record.source().empty() ? dataset.name() : record.source();
}

// The value a claim states for a field, as the policy compares it.
std::string StatedValue(const AddressRecord& record, absl::string_view field) {
  if (field == "label") {
    std::string canonical = common::CanonicalReportLabel(record.label());
    return canonical.empty() ? record.label() : canonical;
  }
  if (field == "name") return std::string(absl::StripAsciiWhitespace(record.name()));
  if (field == "account_type") {
    return std::string(absl::StripAsciiWhitespace(record.account_type()));
  }
  if (field == "contract_type") {
    return std::string(absl::StripAsciiWhitespace(record.contract_type()));
  }
  return std::string(absl::StripAsciiWhitespace(record.entity()));
}

bool Contains(const std::vector<size_t>& sorted, size_t value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

void AddUnique(std::vector<std::string>* names, const std::string& name) {
  if (std::find(names->begin(), names->end(), name) == names->end()) names->push_back(name);
}

}  // namespace

std::string MergedDatasetId(const std::vector<std::string>& parent_ids, absl::string_view name) {
  const std::string key = absl::StrCat(kMethodVersion, "\npolicy-", common::kConflictPolicyVersion,
                                       "\n", name, "\n", absl::StrJoin(parent_ids, "\n"));
  return absl::StrCat("ds-", eth::Sha256::HexDigest(key).substr(0, 16));
}

DatasetMerger::DatasetMerger(std::vector<v1::Dataset> parents) : parents_(std::move(parents)) {}

absl::Status DatasetMerger::Add(size_t parent, const AddressRecord& record) {
  if (parent >= parents_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("no merged dataset at position ", parent));
  }
  ASSIGN_OR_RETURN(const eth::Address address, RecordAddress(record));
  if (claims_.size() >= kNone) {
    return absl::InvalidArgumentError("too many records to merge at once");
  }
  const std::string bytes = record.SerializeAsString();
  if (bytes.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record of line ", record.line(), " is too large to merge"));
  }
  Claim claim;
  claim.parent = static_cast<uint32_t>(parent);
  claim.offset = bytes_.size();
  claim.size = static_cast<uint32_t>(bytes.size());
  claim.next = kNone;
  bytes_.append(bytes);
  const uint32_t index = static_cast<uint32_t>(claims_.size());
  claims_.push_back(claim);
  auto [it, inserted] = heads_.try_emplace(address, index, index);
  if (!inserted) {
    claims_[it->second.second].next = index;
    it->second.second = index;
  }
  return absl::OkStatus();
}

absl::Status DatasetMerger::Resolve(
    const std::function<absl::Status(AddressRecord merged, std::vector<v1::MergeConflict>)>& emit)
    const {
  std::vector<std::pair<eth::Address, uint32_t>> order;
  order.reserve(heads_.size());
  for (const auto& [address, ends] : heads_) order.emplace_back(address, ends.first);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  std::vector<AddressRecord> records;
  std::vector<uint32_t> parent_of;
  for (const auto& [address, head] : order) {
    records.clear();
    parent_of.clear();
    std::vector<common::PolicyClaim> claims;
    for (uint32_t c = head; c != kNone; c = claims_[c].next) {
      const Claim& claim = claims_[c];
      AddressRecord& record = records.emplace_back();
      if (!record.ParseFromArray(bytes_.data() + claim.offset, static_cast<int>(claim.size))) {
        return absl::DataLossError(
            absl::StrCat("a record of ", address.ToChecksumHex(), " no longer parses"));
      }
      parent_of.push_back(claim.parent);
    }
    // Pointers into `records` are taken only after it stopped growing.
    for (size_t i = 0; i < records.size(); ++i) {
      const v1::Dataset& parent = parents_[parent_of[i]];
      common::PolicyClaim p;
      p.record = &records[i];
      p.format = v1::DatasetFormat_Name(parent.format());
      p.observed_time = parent.create_time();
      p.position = parent_of[i];
      p.sequence = i;
      claims.push_back(std::move(p));
    }
    // A claim's position is its parent's index, so the sorted claims still name their parents.
    common::SortByAuthority(claims);
    const std::vector<common::PolicyClaim>& sorted = claims;
    auto parent = [&](size_t i) -> const v1::Dataset& { return parents_[sorted[i].position]; };
    const common::Resolution resolution = common::ResolveClaims(sorted);

    auto source_of = [&](size_t i) -> const std::string& {
      return SourceOf(*sorted[i].record, parent(i));
    };
    auto sourced = [&](size_t i, std::string value) {
      v1::SourcedValue out;
      out.set_value(std::move(value));
      out.set_source(source_of(i));
      out.set_dataset_id(parent(i).id());
      return out;
    };

    AddressRecord merged = resolution.merged;
    merged.set_address(address.ToChecksumHex());
    merged.set_chain_id(parent(0).chain_id());

    // Conflicts, one per field with an overruled claim.
    std::vector<v1::MergeConflict> conflicts;
    for (const common::FieldDecision* field : resolution.Conflicts()) {
      v1::MergeConflict& conflict = conflicts.emplace_back();
      conflict.set_address(merged.address());
      conflict.set_field(field->field);
      if (field->winner.has_value()) {
        *conflict.mutable_chosen() = sourced(*field->winner, field->value);
      } else {
        conflict.mutable_chosen()->set_value(field->value);
      }
      std::vector<std::tuple<std::string, std::string, std::string>> seen;
      for (size_t i : field->overruled) {
        v1::SourcedValue value = sourced(i, StatedValue(*sorted[i].record, field->field));
        auto key = std::make_tuple(value.value(), value.source(), value.dataset_id());
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
        seen.push_back(std::move(key));
        *conflict.add_overruled() = std::move(value);
      }
      conflict.set_rule(field->rule);
    }

    // Sources of the winning claims, in authority order.
    std::vector<size_t> winning;
    if (resolution.label.winner.has_value()) winning.push_back(*resolution.label.winner);
    for (const common::FieldDecision& field : resolution.text_fields) {
      if (field.winner.has_value()) winning.push_back(*field.winner);
    }
    winning.insert(winning.end(), resolution.tag_sources.begin(), resolution.tag_sources.end());
    if (resolution.features_from.has_value()) winning.push_back(*resolution.features_from);
    std::sort(winning.begin(), winning.end());
    std::vector<std::string> sources;
    for (size_t i : winning) AddUnique(&sources, source_of(i));
    merged.set_source(absl::StrJoin(sources, ", "));

    // Evidence: one per source record.
    for (size_t i = 0; i < sorted.size(); ++i) {
      const AddressRecord& record = *sorted[i].record;
      common::v1::Evidence& evidence = *merged.add_evidence();
      evidence.set_source(source_of(i));
      *evidence.mutable_observed_time() = sorted[i].observed_time;
      std::vector<std::string> parts;
      const std::string label = StatedValue(record, "label");
      if (!label.empty()) {
        std::string part = absl::StrCat("label \"", label, "\"");
        if (!record.original_label().empty() && record.original_label() != label) {
          absl::StrAppend(&part, " (as \"", record.original_label(), "\")");
        }
        if (Contains(resolution.label.overruled, i)) absl::StrAppend(&part, " [overruled]");
        parts.push_back(std::move(part));
        if (absl::EqualsIgnoreCase(label, merged.label())) evidence.add_fields("label");
      }
      for (const common::FieldDecision& field : resolution.text_fields) {
        const std::string value = StatedValue(record, field.field);
        if (value.empty()) continue;
        std::string part = absl::StrCat(field.field, " \"", value, "\"");
        if (Contains(field.overruled, i)) absl::StrAppend(&part, " [overruled]");
        parts.push_back(std::move(part));
        if (absl::EqualsIgnoreCase(value, field.value)) evidence.add_fields(field.field);
      }
      std::vector<std::string> tags;
      for (const std::string& tag : record.tags()) {
        std::string trimmed(absl::StripAsciiWhitespace(tag));
        if (!trimmed.empty()) tags.push_back(absl::StrCat("\"", trimmed, "\""));
      }
      if (!tags.empty()) {
        parts.push_back(absl::StrCat("tags ", absl::StrJoin(tags, ", ")));
        evidence.add_fields("tags");
      }
      if (record.features_size() > 0) {
        parts.push_back(absl::StrCat(record.features_size(), " features"));
        if (resolution.features_from == i) evidence.add_fields("features");
      }
      if (parts.empty()) parts.push_back("no field");
      evidence.set_claim(absl::StrJoin(parts, "; "));
      evidence.set_overruled(resolution.Overruled(i));
    }
    absl::Status status = emit(std::move(merged), std::move(conflicts));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace ethscan::dataset

#include "services/training/knowledge_builder.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/address.h"
#include "common/model/package.h"
#include "common/report/conflict_policy.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "services/training/job_store.h"

namespace ethscan::training {

namespace {

using common::v1::AddressRecord;
using dataset::v1::DatasetFormat;

// "name" from "name (id)"; the whole text when it has no " (" part.
std::string NameOfSource(absl::string_view source) {
  size_t open = source.rfind(" (");
  return std::string{open == absl::string_view::npos ? source : source.substr(0, open)};
}

// "id" from "name (id)"; empty when there is none.
std::string IdOfSource(absl::string_view source) {
  size_t open = source.rfind(" (");
  if (open == absl::string_view::npos || !absl::EndsWith(source, ")")) return "";
  return std::string{source.substr(open + 2, source.size() - open - 3)};
}

// "Legit (uniswap) vs Phish / Hack (forta, cryptoscamdb)": each distinct value with the dataset
// names that state it; values quoted when `quote`.
std::string DescribeValues(const std::vector<common::ClaimedValue>& values,
                           const std::function<const std::string&(size_t)>& name_of, bool quote) {
  std::vector<std::string> parts;
  parts.reserve(values.size());
  for (const common::ClaimedValue& v : values) {
    std::vector<std::string> names;
    for (size_t claim : v.claims) {
      const std::string& name = name_of(claim);
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    parts.push_back(absl::StrCat(quote ? "\"" : "", v.value, quote ? "\"" : "", " (",
                                 absl::StrJoin(names, ", "), ")"));
  }
  return absl::StrJoin(parts, " vs ");
}

void AddSourceName(std::vector<std::string>* names, const std::string& name) {
  if (std::find(names->begin(), names->end(), name) == names->end()) names->push_back(name);
}

}  // namespace

int AuthorityRank(DatasetFormat format) {
  return common::AuthorityRankOfFormat(DatasetFormat_Name(format));
}

absl::Status KnowledgeBuilder::AddDataset(const dataset::v1::Dataset& dataset) {
  if (dataset.id().empty()) return absl::InvalidArgumentError("dataset id is empty");
  if (job_dataset_count_ != datasets_.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("dataset ", text::Quote(dataset.id()), " added after the base model"));
  }
  if (dataset_index_.contains(dataset.id())) {
    return absl::AlreadyExistsError(
        absl::StrCat("dataset ", text::Quote(dataset.id()), " is listed twice"));
  }
  DatasetInfo info;
  info.id = dataset.id();
  info.name = dataset.name().empty() ? dataset.id() : dataset.name();
  info.source = absl::StrCat(info.name, " (", info.id, ")");
  info.format = DatasetFormat_Name(dataset.format());
  info.create_time = dataset.create_time();
  dataset_index_[info.id] = static_cast<uint32_t>(datasets_.size());
  training_datasets_.push_back(info.id);
  datasets_.push_back(std::move(info));
  job_dataset_count_ = datasets_.size();
  return absl::OkStatus();
}

absl::Status KnowledgeBuilder::AddRecord(absl::string_view dataset_id,
                                         const AddressRecord& record) {
  auto it = dataset_index_.find(dataset_id);
  if (it == dataset_index_.end() || it->second >= job_dataset_count_) {
    return absl::NotFoundError(absl::StrCat("dataset ", text::Quote(dataset_id), " was not added"));
  }
  ++stats_.trained_records;
  AddClaim(it->second, record);
  return absl::OkStatus();
}

void KnowledgeBuilder::AddClaim(uint32_t dataset, const AddressRecord& record) {
  absl::StatusOr<eth::Address> address =
      eth::Address::Parse(record.address(), eth::Address::ChecksumPolicy::kLenient);
  if (!address.ok()) {
    if (stats_.skipped_records++ == 0) {
      stats_.first_skip_reason =
          absl::StrCat("dataset ", text::Quote(datasets_[dataset].name), " line ", record.line(),
                       ": ", address.status().message());
    }
    return;
  }
  uint64_t chain_id = record.chain_id() == 0 ? 1 : record.chain_id();
  Claim claim;
  claim.dataset = dataset;
  claim.sequence = next_sequence_++;
  AddressRecord* copy = google::protobuf::Arena::CreateMessage<AddressRecord>(&arena_);
  copy->CopyFrom(record);
  claim.record = copy;
  claims_[Key(address->ToLowerHex(), chain_id)].push_back(std::move(claim));
}

absl::Status KnowledgeBuilder::AddBaseModel(absl::string_view base_name,
                                            const std::vector<std::string>& base_datasets,
                                            const model::v1::KnowledgeIndex& base) {
  // Positions of the base's datasets follow its own priority order.
  auto register_dataset = [this](const std::string& id, const std::string& source,
                                 const std::string& format,
                                 const google::protobuf::Timestamp& time) -> uint32_t {
    auto [it, inserted] = dataset_index_.try_emplace(id, static_cast<uint32_t>(datasets_.size()));
    if (inserted) {
      DatasetInfo info;
      info.id = id;
      info.source = source.empty() ? id : source;
      info.name = source.empty() ? id : NameOfSource(source);
      info.format = format;
      info.create_time = time;
      datasets_.push_back(std::move(info));
      training_datasets_.push_back(id);
    } else if (it->second >= job_dataset_count_ && datasets_[it->second].format.empty()) {
      // Registered from the base's dataset list first; the claim tells its details.
      DatasetInfo& info = datasets_[it->second];
      info.source = source;
      info.name = NameOfSource(source);
      info.format = format;
      info.create_time = time;
    }
    return it->second;
  };
  for (const std::string& id : base_datasets) {
    register_dataset(id, "", "", google::protobuf::Timestamp());
  }
  google::protobuf::RepeatedPtrField<common::v1::Feature> features;
  for (const model::v1::KnowledgeEntry& entry : base.entries()) {
    // The behavioural features are kept once per address; they go back to the claim they came
    // from so that the policy weighs them again.
    const auto features_source = entry.field_sources().find("features");
    features.Clear();
    if (absl::Status s = model::AppendFeatures(base, entry, &features); !s.ok()) {
      return absl::DataLossError(
          absl::StrCat("base model ", text::Quote(base_name), ": ", s.message()));
    }
    bool features_given = features.empty();
    for (const model::v1::SourceClaim& claim : entry.claims()) {
      std::string id = claim.dataset_id().empty() ? IdOfSource(claim.source()) : claim.dataset_id();
      if (id.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("base model ", text::Quote(base_name), ": a claim on ",
                         text::Quote(entry.merged().address()), " names no dataset"));
      }
      uint32_t index =
          register_dataset(id, claim.source(), claim.dataset_format(), claim.observed_time());
      if (index < job_dataset_count_) continue;  // The job reads this dataset itself.
      ++stats_.base_claims;
      if (!features_given && claim.record().features_size() == 0 &&
          (features_source == entry.field_sources().end() ||
           features_source->second == claim.source())) {
        AddressRecord with_features = claim.record();
        with_features.mutable_features()->Swap(&features);
        AddClaim(index, with_features);
        features_given = true;
        continue;
      }
      features_given = features_given || claim.record().features_size() > 0;
      AddClaim(index, claim.record());
    }
  }
  return absl::OkStatus();
}

void KnowledgeBuilder::MergeEntry(const Key& key, std::vector<const Claim*> claims,
                                  model::v1::KnowledgeEntry* out_entry) {
  std::vector<common::PolicyClaim> policy_claims;
  policy_claims.reserve(claims.size());
  for (const Claim* c : claims) {
    const DatasetInfo& d = datasets_[c->dataset];
    common::PolicyClaim p;
    p.record = c->record;
    p.format = d.format;
    p.observed_time = d.create_time;
    p.position = c->dataset;  // Datasets are registered in priority order.
    p.sequence = c->sequence;
    policy_claims.push_back(std::move(p));
  }
  // Sort claims and their policy views together, in authority order.
  std::vector<size_t> order(claims.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&policy_claims](size_t a, size_t b) {
    return common::HasPrecedence(policy_claims[a], policy_claims[b]);
  });
  std::vector<const Claim*> sorted;
  std::vector<common::PolicyClaim> sorted_policy;
  for (size_t i : order) {
    sorted.push_back(claims[i]);
    sorted_policy.push_back(policy_claims[i]);
  }
  claims = std::move(sorted);
  common::Resolution resolution = common::ResolveClaims(sorted_policy, /*copy_features=*/false);

  auto name_of = [this, &claims](size_t i) -> const std::string& {
    return datasets_[claims[i]->dataset].name;
  };
  auto source_of = [this, &claims](size_t i) -> const std::string& {
    return datasets_[claims[i]->dataset].source;
  };

  // The claimed records and the index share arena_, so moving a record or its features into
  // the entry swaps pointers instead of copying the features' many small messages.
  model::v1::KnowledgeEntry& entry = *out_entry;
  AddressRecord* merged = entry.mutable_merged();
  merged->Swap(&resolution.merged);
  // The behavioural features are kept once per address, in the merged record (field_sources
  // names the claim).
  if (resolution.features_from.has_value()) {
    merged->mutable_features()->Swap(claims[*resolution.features_from]->record->mutable_features());
  }
  for (const Claim* c : claims) {
    model::v1::SourceClaim* out = entry.add_claims();
    const DatasetInfo& d = datasets_[c->dataset];
    out->set_source(d.source);
    out->mutable_record()->Swap(c->record);
    out->mutable_record()->clear_features();
    *out->mutable_observed_time() = d.create_time;
    out->set_dataset_id(d.id);
    out->set_dataset_format(d.format);
  }
  absl::StatusOr<eth::Address> address = eth::Address::Parse(key.first);
  merged->set_address(address.ok() ? address->ToChecksumHex() : key.first);
  merged->set_chain_id(key.second);
  std::vector<std::string> winners;  // Dataset names of winning claims.
  auto& field_sources = *entry.mutable_field_sources();

  const common::LabelDecision& label = resolution.label;
  if (label.winner.has_value()) {
    field_sources["label"] = source_of(*label.winner);
    AddSourceName(&winners, name_of(*label.winner));
  }
  if (label.values.size() > 1) {
    entry.add_conflicts(absl::StrCat("label: ", DescribeValues(label.values, name_of, false), " → ",
                                     merged->label()));
  }
  if (!label.sanctions_overruled.empty()) {
    std::vector<std::string> overruled_sources;
    for (size_t i : label.sanctions_overruled) AddSourceName(&overruled_sources, name_of(i));
    const AddressRecord& ofac = entry.claims(static_cast<int>(*label.ofac)).record();
    std::string ofac_says = ofac.original_label().empty() ? ofac.label() : ofac.original_label();
    entry.add_conflicts(absl::StrCat("label: Sanctioned (", absl::StrJoin(overruled_sources, ", "),
                                     ") overruled by OFAC (", name_of(*label.ofac),
                                     ofac_says.empty() ? "" : absl::StrCat(": ", ofac_says),
                                     "); only OFAC decides sanctions → ", merged->label()));
  }

  // Single-valued text fields: highest authority wins.
  for (const common::FieldDecision& field : resolution.text_fields) {
    if (!field.winner.has_value()) continue;
    field_sources[field.field] = source_of(*field.winner);
    AddSourceName(&winners, name_of(*field.winner));
    if (field.values.size() > 1) {
      entry.add_conflicts(absl::StrCat(field.field, ": ",
                                       DescribeValues(field.values, name_of, true), " → \"",
                                       field.values.front().value, "\""));
    }
  }

  // Tags: union in authority order.
  if (resolution.features_from.has_value()) {
    field_sources["features"] = source_of(*resolution.features_from);
  }

  std::vector<std::string> tag_sources;
  for (size_t i : resolution.tag_sources) {
    if (std::find(tag_sources.begin(), tag_sources.end(), source_of(i)) == tag_sources.end()) {
      tag_sources.push_back(source_of(i));
    }
    AddSourceName(&winners, name_of(i));
  }
  if (!tag_sources.empty()) field_sources["tags"] = absl::StrJoin(tag_sources, ", ");

  // Winning dataset names in authority order.
  std::vector<std::string> ordered;
  for (size_t i = 0; i < claims.size(); ++i) {
    if (std::find(winners.begin(), winners.end(), name_of(i)) != winners.end()) {
      AddSourceName(&ordered, name_of(i));
    }
  }
  merged->set_source(absl::StrJoin(ordered, ", "));
}

const model::v1::KnowledgeIndex& KnowledgeBuilder::Build() {
  if (index_ != nullptr) return *index_;
  index_ = google::protobuf::Arena::CreateMessage<model::v1::KnowledgeIndex>(&arena_);
  model::v1::KnowledgeIndex& index = *index_;
  index.set_conflict_policy(common::kConflictPolicyText);
  stats_.addresses = 0;
  stats_.conflicts = 0;
  stats_.conflicting_addresses = 0;
  index.mutable_entries()->Reserve(static_cast<int>(claims_.size()));
  model::FeaturePacker packer(&index);
  for (const auto& [key, claims] : claims_) {
    std::vector<const Claim*> pointers;
    pointers.reserve(claims.size());
    for (const Claim& c : claims) pointers.push_back(&c);
    model::v1::KnowledgeEntry& entry = *index.add_entries();
    MergeEntry(key, std::move(pointers), &entry);
    if (entry.merged().features_size() > 0) {
      packer.Pack(entry.merged().features(), entry.mutable_features());
      entry.mutable_merged()->clear_features();
    }
    ++stats_.addresses;
    stats_.conflicts += entry.conflicts_size();
    if (entry.conflicts_size() > 0) ++stats_.conflicting_addresses;
  }
  return index;
}

absl::StatusOr<model::v1::KnowledgeIndex> BuildKnowledgeIndex(
    const std::vector<SourceDataset>& datasets, BuildStats* stats) {
  KnowledgeBuilder builder;
  for (const SourceDataset& d : datasets) RETURN_IF_ERROR(builder.AddDataset(d.dataset));
  for (const SourceDataset& d : datasets) {
    for (const AddressRecord& r : d.records) RETURN_IF_ERROR(builder.AddRecord(d.dataset.id(), r));
  }
  model::v1::KnowledgeIndex index = builder.Build();
  if (stats != nullptr) *stats = builder.stats();
  return index;
}

}  // namespace ethscan::training

#include "services/training/knowledge_builder.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/address.h"
#include "common/status/status_macros.h"
#include "services/training/job_store.h"

namespace ethscan::training {

const char kConflictPolicy[] =
    "v1: claims ordered by source authority (dataset format: UNISWAP_TOKENS, OFAC_SDN 1; "
    "ETHERSCAN_LABELS 2; ETHERSCAN_MALICIOUS 3; FORTA_* 4; CRYPTOSCAMDB 5; MEW_DARKLIST 6; "
    "other 7), equal rank: newer dataset, then earlier in the job's dataset list (base model "
    "datasets last), then earlier row. Label: most severe wins (Sanctioned > Heist > Exploit > "
    "Phish / Hack > Scam > Legit > Unknown; Unknown abstains); when any OFAC_SDN claim exists "
    "only the highest-authority OFAC claim decides Sanctioned, other Sanctioned claims are "
    "overruled. name, account_type, contract_type, entity: highest-authority non-empty value. "
    "tags: union in authority order, case-insensitive dedupe. Every claim kept; every "
    "disagreement noted as a conflict.";

namespace {

using common::v1::AddressRecord;
using dataset::v1::DatasetFormat;

constexpr int kSanctionedSeverity = 6;
constexpr int kUnknownSeverity = 0;

bool IsOfac(const std::string& format) {
  return format == DatasetFormat_Name(dataset::v1::DATASET_FORMAT_OFAC_SDN);
}

// Orders timestamps; true when a is later than b.
bool Later(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return std::make_pair(a.seconds(), a.nanos()) > std::make_pair(b.seconds(), b.nanos());
}

int RankOfFormatName(absl::string_view name) {
  DatasetFormat format = dataset::v1::DATASET_FORMAT_UNSPECIFIED;
  if (!dataset::v1::DatasetFormat_Parse(std::string{name}, &format)) return 7;
  return AuthorityRank(format);
}

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

// Distinct values of one field across claims, each with the sources that state it, in
// authority order of first appearance. Values compare case-insensitively.
struct ValueGroup {
  std::string value;
  std::vector<std::string> sources;
};

void AddToGroups(std::vector<ValueGroup>* groups, const std::string& value,
                 const std::string& source) {
  for (ValueGroup& g : *groups) {
    if (absl::EqualsIgnoreCase(g.value, value)) {
      if (std::find(g.sources.begin(), g.sources.end(), source) == g.sources.end()) {
        g.sources.push_back(source);
      }
      return;
    }
  }
  groups->push_back({value, {source}});
}

// "Legit (uniswap) vs Phish / Hack (forta, cryptoscamdb)"; values quoted when `quote`.
std::string DescribeGroups(const std::vector<ValueGroup>& groups, bool quote) {
  std::vector<std::string> parts;
  parts.reserve(groups.size());
  for (const ValueGroup& g : groups) {
    parts.push_back(absl::StrCat(quote ? "\"" : "", g.value, quote ? "\"" : "", " (",
                                 absl::StrJoin(g.sources, ", "), ")"));
  }
  return absl::StrJoin(parts, " vs ");
}

void AddSourceName(std::vector<std::string>* names, const std::string& name) {
  if (std::find(names->begin(), names->end(), name) == names->end()) names->push_back(name);
}

}  // namespace

int AuthorityRank(DatasetFormat format) {
  switch (format) {
    case dataset::v1::DATASET_FORMAT_UNISWAP_TOKENS:
    case dataset::v1::DATASET_FORMAT_OFAC_SDN:
      return 1;
    case dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS:
      return 2;
    case dataset::v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS:
      return 3;
    case dataset::v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS:
    case dataset::v1::DATASET_FORMAT_FORTA_MALICIOUS_LABELS:
    case dataset::v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS:
      return 4;
    case dataset::v1::DATASET_FORMAT_CRYPTOSCAMDB:
      return 5;
    case dataset::v1::DATASET_FORMAT_MEW_DARKLIST:
      return 6;
    default:
      return 7;
  }
}

absl::Status KnowledgeBuilder::AddDataset(const dataset::v1::Dataset& dataset) {
  if (dataset.id().empty()) return absl::InvalidArgumentError("dataset id is empty");
  if (job_dataset_count_ != datasets_.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("dataset \"", dataset.id(), "\" added after the base model"));
  }
  if (dataset_index_.contains(dataset.id())) {
    return absl::AlreadyExistsError(absl::StrCat("dataset \"", dataset.id(), "\" is listed twice"));
  }
  DatasetInfo info;
  info.id = dataset.id();
  info.name = dataset.name().empty() ? dataset.id() : dataset.name();
  info.source = absl::StrCat(info.name, " (", info.id, ")");
  info.format = DatasetFormat_Name(dataset.format());
  info.rank = AuthorityRank(dataset.format());
  info.create_time = dataset.create_time();
  info.position = datasets_.size();
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
    return absl::NotFoundError(absl::StrCat("dataset \"", dataset_id, "\" was not added"));
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
      stats_.first_skip_reason = absl::StrCat("dataset \"", datasets_[dataset].name, "\" line ",
                                              record.line(), ": ", address.status().message());
    }
    return;
  }
  uint64_t chain_id = record.chain_id() == 0 ? 1 : record.chain_id();
  Claim claim;
  claim.dataset = dataset;
  claim.sequence = next_sequence_++;
  claim.record = record;
  claims_[Key(address->ToLowerHex(), chain_id)].push_back(std::move(claim));
}

absl::Status KnowledgeBuilder::AddBaseModel(const v1::KnowledgeModel& base) {
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
      info.rank = RankOfFormatName(format);
      info.create_time = time;
      info.position = datasets_.size();
      datasets_.push_back(std::move(info));
      training_datasets_.push_back(id);
    } else if (it->second >= job_dataset_count_ && datasets_[it->second].format.empty()) {
      // Registered from the base's dataset list first; the claim tells its details.
      DatasetInfo& info = datasets_[it->second];
      info.source = source;
      info.name = NameOfSource(source);
      info.format = format;
      info.rank = RankOfFormatName(format);
      info.create_time = time;
    }
    return it->second;
  };
  for (const std::string& id : base.training_datasets()) {
    register_dataset(id, "", "", google::protobuf::Timestamp());
  }
  for (const v1::KnowledgeEntry& entry : base.entries()) {
    for (const v1::SourceClaim& claim : entry.claims()) {
      std::string id = claim.dataset_id().empty() ? IdOfSource(claim.source()) : claim.dataset_id();
      if (id.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("base model \"", base.name(),
                                                       "\": a claim on ", entry.merged().address(),
                                                       " names no dataset"));
      }
      uint32_t index =
          register_dataset(id, claim.source(), claim.dataset_format(), claim.observed_time());
      if (index < job_dataset_count_) continue;  // The job reads this dataset itself.
      ++stats_.base_claims;
      AddClaim(index, claim.record());
    }
  }
  return absl::OkStatus();
}

v1::KnowledgeEntry KnowledgeBuilder::MergeEntry(const Key& key, std::vector<const Claim*> claims) {
  std::stable_sort(claims.begin(), claims.end(), [this](const Claim* a, const Claim* b) {
    const DatasetInfo& da = datasets_[a->dataset];
    const DatasetInfo& db = datasets_[b->dataset];
    if (da.rank != db.rank) return da.rank < db.rank;
    if (Later(da.create_time, db.create_time)) return true;
    if (Later(db.create_time, da.create_time)) return false;
    if (da.position != db.position) return da.position < db.position;
    return a->sequence < b->sequence;
  });
  auto name_of = [this](const Claim* c) -> const std::string& {
    return datasets_[c->dataset].name;
  };
  auto source_of = [this](const Claim* c) -> const std::string& {
    return datasets_[c->dataset].source;
  };

  v1::KnowledgeEntry entry;
  for (const Claim* c : claims) {
    v1::SourceClaim* out = entry.add_claims();
    const DatasetInfo& d = datasets_[c->dataset];
    out->set_source(d.source);
    *out->mutable_record() = c->record;
    *out->mutable_observed_time() = d.create_time;
    out->set_dataset_id(d.id);
    out->set_dataset_format(d.format);
  }

  AddressRecord* merged = entry.mutable_merged();
  absl::StatusOr<eth::Address> address = eth::Address::Parse(key.first);
  merged->set_address(address.ok() ? address->ToChecksumHex() : key.first);
  merged->set_chain_id(key.second);
  std::vector<std::string> winners;  // Dataset names of winning claims, authority order.
  auto& field_sources = *entry.mutable_field_sources();

  // Label, with OFAC deciding sanctions when it has a say.
  const Claim* ofac = nullptr;
  for (const Claim* c : claims) {
    if (IsOfac(datasets_[c->dataset].format)) {
      ofac = c;
      break;
    }
  }
  const bool ofac_sanctions =
      ofac != nullptr && common::LabelSeverity(ofac->record.label()) == kSanctionedSeverity;
  const Claim* label_winner = nullptr;
  const Claim* first_unknown = nullptr;
  int best = -1;
  std::vector<ValueGroup> label_groups;
  std::vector<std::string> overruled_sources;
  for (const Claim* c : claims) {
    int severity = common::LabelSeverity(c->record.label());
    if (severity < 0) continue;
    if (severity == kUnknownSeverity) {
      if (first_unknown == nullptr) first_unknown = c;
      continue;
    }
    if (severity == kSanctionedSeverity && ofac != nullptr && !ofac_sanctions) {
      AddSourceName(&overruled_sources, name_of(c));
      continue;
    }
    AddToGroups(&label_groups, std::string{common::kReportLabels[severity]}, name_of(c));
    if (severity > best) {
      best = severity;
      label_winner = c;
    }
  }
  if (label_winner != nullptr) {
    merged->set_label(std::string{common::kReportLabels[best]});
  } else {
    merged->set_label("Unknown");
    if (first_unknown != nullptr) {
      label_winner = first_unknown;
    } else if (ofac != nullptr) {
      label_winner = ofac;
    }
  }
  if (label_winner != nullptr) {
    field_sources["label"] = source_of(label_winner);
    merged->set_original_label(label_winner->record.original_label());
    merged->set_note(label_winner->record.note());
    AddSourceName(&winners, name_of(label_winner));
  }
  if (label_groups.size() > 1) {
    entry.add_conflicts(
        absl::StrCat("label: ", DescribeGroups(label_groups, false), " → ", merged->label()));
  }
  if (!overruled_sources.empty()) {
    std::string ofac_says = ofac->record.original_label().empty() ? ofac->record.label()
                                                                  : ofac->record.original_label();
    entry.add_conflicts(absl::StrCat("label: Sanctioned (", absl::StrJoin(overruled_sources, ", "),
                                     ") overruled by OFAC (", name_of(ofac),
                                     ofac_says.empty() ? "" : absl::StrCat(": ", ofac_says),
                                     "); only OFAC decides sanctions → ", merged->label()));
  }

  // Single-valued text fields: highest authority wins.
  struct TextField {
    const char* name;
    const std::string& (AddressRecord::*get)() const;
    void (AddressRecord::*set)(const std::string&);
  };
  const TextField kTextFields[] = {
      {"name", &AddressRecord::name, &AddressRecord::set_name},
      {"account_type", &AddressRecord::account_type, &AddressRecord::set_account_type},
      {"contract_type", &AddressRecord::contract_type, &AddressRecord::set_contract_type},
      {"entity", &AddressRecord::entity, &AddressRecord::set_entity},
  };
  for (const TextField& field : kTextFields) {
    std::vector<ValueGroup> groups;
    const Claim* winner = nullptr;
    for (const Claim* c : claims) {
      std::string value(absl::StripAsciiWhitespace((c->record.*field.get)()));
      if (value.empty()) continue;
      if (winner == nullptr) {
        winner = c;
        (merged->*field.set)(value);
      }
      AddToGroups(&groups, value, name_of(c));
    }
    if (winner == nullptr) continue;
    field_sources[field.name] = source_of(winner);
    AddSourceName(&winners, name_of(winner));
    if (groups.size() > 1) {
      entry.add_conflicts(absl::StrCat(field.name, ": ", DescribeGroups(groups, true), " → \"",
                                       groups.front().value, "\""));
    }
  }

  // Tags: union in authority order.
  absl::flat_hash_set<std::string> seen_tags;
  std::vector<std::string> tag_sources;
  for (const Claim* c : claims) {
    for (const std::string& raw : c->record.tags()) {
      std::string tag(absl::StripAsciiWhitespace(raw));
      if (tag.empty() || !seen_tags.insert(absl::AsciiStrToLower(tag)).second) continue;
      merged->add_tags(tag);
      if (std::find(tag_sources.begin(), tag_sources.end(), source_of(c)) == tag_sources.end()) {
        tag_sources.push_back(source_of(c));
      }
      AddSourceName(&winners, name_of(c));
    }
  }
  if (!tag_sources.empty()) field_sources["tags"] = absl::StrJoin(tag_sources, ", ");

  // Winning dataset names in authority order.
  std::vector<std::string> ordered;
  for (const Claim* c : claims) {
    if (std::find(winners.begin(), winners.end(), name_of(c)) != winners.end()) {
      AddSourceName(&ordered, name_of(c));
    }
  }
  merged->set_source(absl::StrJoin(ordered, ", "));
  return entry;
}

v1::KnowledgeModel KnowledgeBuilder::Build(const ModelIdentity& identity) {
  v1::KnowledgeModel model;
  model.set_name(identity.name);
  model.set_base_model(identity.base_model);
  model.set_job_id(identity.job_id);
  SetTimestamp(identity.create_time, model.mutable_create_time());
  for (const std::string& id : training_datasets_) model.add_training_datasets(id);
  model.set_conflict_policy(kConflictPolicy);
  stats_.addresses = 0;
  stats_.conflicts = 0;
  stats_.conflicting_addresses = 0;
  model.mutable_entries()->Reserve(static_cast<int>(claims_.size()));
  for (const auto& [key, claims] : claims_) {
    std::vector<const Claim*> pointers;
    pointers.reserve(claims.size());
    for (const Claim& c : claims) pointers.push_back(&c);
    *model.add_entries() = MergeEntry(key, std::move(pointers));
    const v1::KnowledgeEntry& entry = model.entries(model.entries_size() - 1);
    ++stats_.addresses;
    stats_.conflicts += entry.conflicts_size();
    if (entry.conflicts_size() > 0) ++stats_.conflicting_addresses;
  }
  return model;
}

absl::StatusOr<v1::KnowledgeModel> BuildKnowledgeModel(const std::vector<SourceDataset>& datasets,
                                                       const ModelIdentity& identity,
                                                       BuildStats* stats) {
  KnowledgeBuilder builder;
  for (const SourceDataset& d : datasets) RETURN_IF_ERROR(builder.AddDataset(d.dataset));
  for (const SourceDataset& d : datasets) {
    for (const AddressRecord& r : d.records) RETURN_IF_ERROR(builder.AddRecord(d.dataset.id(), r));
  }
  v1::KnowledgeModel model = builder.Build(identity);
  if (stats != nullptr) *stats = builder.stats();
  return model;
}

}  // namespace ethscan::training

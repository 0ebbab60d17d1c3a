#include "services/training/knowledge_trainer.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/model/package.h"
#include "common/report/labels.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"

namespace ethscan::training {
namespace {

std::string LookupKey(absl::string_view address, uint64_t chain_id) {
  return absl::StrCat(absl::AsciiStrToLower(address), "/", chain_id == 0 ? 1 : chain_id);
}

}  // namespace

absl::string_view KnowledgeTrainer::kind() const { return model::kKnowledgeKind; }

absl::Status KnowledgeTrainer::AddDataset(const dataset::v1::Dataset& dataset, Side side) {
  if (side == Side::kValidation) has_validation_ = true;
  if (side != Side::kTraining) return absl::OkStatus();
  return builder_.AddDataset(dataset);
}

absl::Status KnowledgeTrainer::AddRecord(const RecordOrigin& origin,
                                         const common::v1::AddressRecord& record) {
  if (origin.side == Side::kTraining || origin.held_out) {
    return builder_.AddRecord(origin.dataset->id(), record);
  }
  if (origin.side == Side::kValidation) {
    validation_.emplace_back(LookupKey(record.address(), record.chain_id()), record.label());
  }
  return absl::OkStatus();
}

absl::Status KnowledgeTrainer::AddParent(const model::v1::Manifest& manifest,
                                         const model::v1::Artefact* artefact) {
  if (artefact == nullptr) return absl::OkStatus();
  model::v1::KnowledgeIndex index;
  if (!index.ParseFromString(artefact->data())) {
    return absl::DataLossError(absl::StrCat("base model ", text::Quote(manifest.name()),
                                            ": its knowledge artefact does not parse"));
  }
  std::vector<std::string> datasets;
  for (const model::v1::DatasetRef& d : manifest.datasets()) {
    if (d.role() == SideName(Side::kTraining)) datasets.push_back(d.id());
  }
  return builder_.AddBaseModel(manifest.name(), datasets, index);
}

absl::StatusOr<std::optional<TrainedArtefact>> KnowledgeTrainer::Train(TrainingSink* sink) {
  RETURN_IF_ERROR(sink->Check());
  const model::v1::KnowledgeIndex& index = builder_.Build();
  const BuildStats& stats = builder_.stats();
  if (stats.skipped_records > 0) {
    sink->Message("warning", absl::StrCat("skipped ", stats.skipped_records,
                                          " record(s) with an invalid address; first: ",
                                          stats.first_skip_reason));
  }
  TrainedArtefact out;
  out.kind = std::string(model::kKnowledgeKind);
  out.format = std::string(model::kKnowledgeFormat);
  out.metrics = {
      {"trained_records", static_cast<double>(stats.trained_records)},
      {"addresses", static_cast<double>(stats.addresses)},
      {"conflicts", static_cast<double>(stats.conflicts)},
      {"conflicting_addresses", static_cast<double>(stats.conflicting_addresses)},
      {"skipped_records", static_cast<double>(stats.skipped_records)},
      {"base_claims", static_cast<double>(stats.base_claims)},
  };
  if (has_validation_) {
    // How much of the validation set the index knows, and how often it agrees on the label.
    absl::flat_hash_map<std::string, int> lookup;
    lookup.reserve(index.entries_size());
    for (int i = 0; i < index.entries_size(); ++i) {
      const common::v1::AddressRecord& m = index.entries(i).merged();
      lookup[LookupKey(m.address(), m.chain_id())] = i;
    }
    uint64_t known = 0, labelled = 0, agreeing = 0;
    for (const auto& [key, label] : validation_) {
      auto it = lookup.find(key);
      if (it == lookup.end()) continue;
      ++known;
      if (common::LabelSeverity(label) <= 0) continue;
      ++labelled;
      if (common::LabelSeverity(label) ==
          common::LabelSeverity(index.entries(it->second).merged().label())) {
        ++agreeing;
      }
    }
    const double seen = static_cast<double>(validation_.size());
    out.metrics["valid_records"] = seen;
    out.metrics["valid_known_fraction"] = seen == 0 ? 0.0 : static_cast<double>(known) / seen;
    out.metrics["valid_label_accuracy"] =
        labelled == 0 ? 0.0 : static_cast<double>(agreeing) / static_cast<double>(labelled);
  }
  out.summary =
      absl::StrCat("knowledge index: ", stats.trained_records, " records, ", stats.addresses,
                   " addresses, ", stats.conflicts, " conflicts resolved");
  if (stats.base_claims > 0) {
    absl::StrAppend(&out.summary, ", ", stats.base_claims, " claims from the base model");
  }
  out.data = model::SerializeDeterministic(index);
  return std::optional<TrainedArtefact>(std::move(out));
}

}  // namespace ethscan::training

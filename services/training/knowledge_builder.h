// Builds a knowledge model: every record of a job's datasets, merged per address under a
// written conflict policy, with every source claim and every resolved conflict kept as
// evidence. Pure logic: no I/O.
//
// The conflict policy is the shared one of common/report/conflict_policy.h (MergeDatasets in
// the dataset service decides with it too); its text is stored in every model's
// `conflict_policy`. On top of it the builder:
//
//  * groups records by (lowercase address, chain id); the same address twice within one
//    dataset (case variants, repeated rows) is two claims and merges the same way as claims
//    from different datasets;
//  * places the datasets of the job first, in the job's order, and the datasets of its base
//    model after them (the base's knowledge is merged under the job's datasets);
//  * writes every disagreement as one conflict note per field ("label: Legit (uniswap) vs
//    Phish / Hack (forta) → Phish / Hack"), and the sanctions rule as its own note;
//  * sets the merged record's `source` to the dataset names of the winning claims (comma
//    separated, in authority order) and `field_sources` to each merged field's winning claim
//    ("tags" lists every contributing source, separated by ", ").
//
// Thread-safety: a KnowledgeBuilder is not thread-safe; use one per build.
#ifndef ETHSCAN_SERVICES_TRAINING_KNOWLEDGE_BUILDER_H_
#define ETHSCAN_SERVICES_TRAINING_KNOWLEDGE_BUILDER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/report/conflict_policy.h"
#include "ethscan/common/v1/common.pb.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"
#include "ethscan/model/v1/model.pb.h"
#include "google/protobuf/arena.h"

namespace ethscan::training {

// Authority rank of a dataset format (common::AuthorityRankOfFormat): 1 is the most
// authoritative, 7 the least.
int AuthorityRank(dataset::v1::DatasetFormat format);

// What a build consumed and produced.
struct BuildStats {
  // Records added through AddRecord (skipped ones included).
  uint64_t trained_records = 0;
  // Claims carried over from a base model.
  uint64_t base_claims = 0;
  // Records whose address could not be parsed; they are left out of the model.
  uint64_t skipped_records = 0;
  // Why the first skipped record was skipped ("dataset \"x\" line 7: …").
  std::string first_skip_reason;
  // Entries in the built model.
  uint64_t addresses = 0;
  // Conflict notes written, and entries with at least one.
  uint64_t conflicts = 0;
  uint64_t conflicting_addresses = 0;
};

// Accumulates claims dataset by dataset (records may be streamed in) and builds the model.
class KnowledgeBuilder {
 public:
  KnowledgeBuilder() = default;
  KnowledgeBuilder(const KnowledgeBuilder&) = delete;
  KnowledgeBuilder& operator=(const KnowledgeBuilder&) = delete;

  // Registers a dataset of the job. Datasets registered earlier take precedence at equal rank
  // and create time. INVALID_ARGUMENT for an empty id; ALREADY_EXISTS for a repeated id;
  // FAILED_PRECONDITION after AddBaseModel.
  absl::Status AddDataset(const dataset::v1::Dataset& dataset);

  // Adds one record of the registered dataset `dataset_id` (NOT_FOUND when not registered).
  // A record whose address does not parse is counted in stats().skipped_records and left out.
  absl::Status AddRecord(absl::string_view dataset_id, const common::v1::AddressRecord& record);

  // Merges the knowledge of an earlier model (`base_name`, trained on `base_datasets` in
  // priority order) under the datasets registered so far: its claims take part in the same
  // policy, their datasets placed after this job's datasets. Claims from a dataset this job
  // also registered are skipped (the job reads them afresh). Call after the last AddDataset.
  // INVALID_ARGUMENT when a claim names no dataset.
  absl::Status AddBaseModel(absl::string_view base_name,
                            const std::vector<std::string>& base_datasets,
                            const model::v1::KnowledgeIndex& base);

  // Builds the index: entries sorted by lowercase address, then chain id. The claimed
  // records move into it rather than being copied, so a builder builds once: a later call
  // returns the same index. The index lives on the builder's arena, as long as the builder
  // (its tens of thousands of sub-messages are freed at once with it).
  const model::v1::KnowledgeIndex& Build();

  // The datasets whose claims the index holds, in priority order: the job's, then the base
  // model's.
  const std::vector<std::string>& training_datasets() const { return training_datasets_; }

  // Statistics; `addresses` and the conflict counts are set by Build.
  const BuildStats& stats() const { return stats_; }

 private:
  struct DatasetInfo {
    std::string id;
    std::string name;
    // "name (id)", as written into SourceClaim.source.
    std::string source;
    // DatasetFormat value name; its authority rank follows from it.
    std::string format;
    google::protobuf::Timestamp create_time;
  };
  struct Claim {
    uint32_t dataset = 0;
    uint64_t sequence = 0;
    // On arena_; Build moves its fields into the index.
    common::v1::AddressRecord* record = nullptr;
  };
  // (lowercase address, chain id).
  using Key = std::pair<std::string, uint64_t>;

  // Appends a claim, or counts the record as skipped when its address does not parse.
  void AddClaim(uint32_t dataset, const common::v1::AddressRecord& record);
  void MergeEntry(const Key& key, std::vector<const Claim*> claims,
                  model::v1::KnowledgeEntry* entry);

  // Holds the claimed records and the index: one allocation region instead of a heap block
  // per record, feature and string. Its blocks grow to 1 MiB (the default stops at 8 KiB,
  // which is a heap block per few records).
  static google::protobuf::ArenaOptions ArenaBlocks() {
    google::protobuf::ArenaOptions options;
    options.start_block_size = 64 << 10;
    options.max_block_size = 1 << 20;
    return options;
  }
  google::protobuf::Arena arena_{ArenaBlocks()};
  std::vector<DatasetInfo> datasets_;
  absl::flat_hash_map<std::string, uint32_t> dataset_index_;
  // Ids of the job's own datasets (not the base model's).
  size_t job_dataset_count_ = 0;
  std::vector<std::string> training_datasets_;
  std::map<Key, std::vector<Claim>> claims_;
  // Set by the first Build, on arena_.
  model::v1::KnowledgeIndex* index_ = nullptr;
  uint64_t next_sequence_ = 0;
  BuildStats stats_;
};

// One dataset and its records, for BuildKnowledgeIndex.
struct SourceDataset {
  dataset::v1::Dataset dataset;
  std::vector<common::v1::AddressRecord> records;
};

// One-shot build over datasets in job order. `stats` may be null.
absl::StatusOr<model::v1::KnowledgeIndex> BuildKnowledgeIndex(
    const std::vector<SourceDataset>& datasets, BuildStats* stats = nullptr);

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_KNOWLEDGE_BUILDER_H_

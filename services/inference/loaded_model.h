// A knowledge model held in memory with an exact address index.
#ifndef ETHSCAN_SERVICES_INFERENCE_LOADED_MODEL_H_
#define ETHSCAN_SERVICES_INFERENCE_LOADED_MODEL_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/eth/address.h"
#include "ethscan/training/v1/knowledge_model.pb.h"

namespace ethscan::inference {

// Immutable after creation, so safe to share between threads.
class LoadedModel {
 public:
  // Indexes every entry by address. INVALID_ARGUMENT (DATA_LOSS for the caller) when an entry's
  // address does not parse, or an address appears twice.
  static absl::StatusOr<std::unique_ptr<LoadedModel>> Create(training::v1::KnowledgeModel model,
                                                             uint64_t size_bytes);

  // The entry for `address`, or null when the model does not know it.
  const training::v1::KnowledgeEntry* Find(const eth::Address& address) const;

  const std::string& name() const { return model_.name(); }
  size_t address_count() const { return index_.size(); }
  uint64_t size_bytes() const { return size_bytes_; }
  const training::v1::KnowledgeModel& model() const { return model_; }

 private:
  explicit LoadedModel(training::v1::KnowledgeModel model, uint64_t size_bytes)
      : model_(std::move(model)), size_bytes_(size_bytes) {}

  const training::v1::KnowledgeModel model_;
  const uint64_t size_bytes_;
  absl::flat_hash_map<eth::Address, const training::v1::KnowledgeEntry*> index_;
};

}  // namespace ethscan::inference

#endif  // ETHSCAN_SERVICES_INFERENCE_LOADED_MODEL_H_

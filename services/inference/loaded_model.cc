#include "services/inference/loaded_model.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/text/quote.h"

namespace ethscan::inference {

absl::StatusOr<std::unique_ptr<LoadedModel>> LoadedModel::Create(training::v1::KnowledgeModel model,
                                                                 uint64_t size_bytes) {
  std::unique_ptr<LoadedModel> loaded(new LoadedModel(std::move(model), size_bytes));
  loaded->index_.reserve(loaded->model_.entries_size());
  for (int i = 0; i < loaded->model_.entries_size(); ++i) {
    const training::v1::KnowledgeEntry& entry = loaded->model_.entries(i);
    absl::StatusOr<eth::Address> address =
        eth::Address::Parse(entry.merged().address(), eth::Address::ChecksumPolicy::kLenient);
    if (!address.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("model ", text::Quote(loaded->model_.name()),
                                                     " entry ", i, ": ",
                                                     address.status().message()));
    }
    if (!loaded->index_.emplace(*address, &entry).second) {
      return absl::InvalidArgumentError(absl::StrCat("model ", text::Quote(loaded->model_.name()),
                                                     " lists address ", address->ToChecksumHex(),
                                                     " twice"));
    }
  }
  return loaded;
}

const training::v1::KnowledgeEntry* LoadedModel::Find(const eth::Address& address) const {
  auto it = index_.find(address);
  return it == index_.end() ? nullptr : it->second;
}

}  // namespace ethscan::inference

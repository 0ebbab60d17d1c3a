// Model packages (ethscan.model.v1) for tests: a knowledge index wrapped as a published
// model would be, and the index read back out of one.
#ifndef ETHSCAN_TESTS_TESTING_MODEL_PACKAGES_H_
#define ETHSCAN_TESTS_TESTING_MODEL_PACKAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/model/package.h"
#include "ethscan/model/v1/model.pb.h"

namespace ethscan::testing {

// A package named `name` whose only artefact is `index`, trained on `training_datasets`,
// created at `create_seconds`, with the "addresses" metric set as training sets it.
inline model::v1::ModelPackage KnowledgePackage(
    const std::string& name, const model::v1::KnowledgeIndex& index,
    const std::vector<std::string>& training_datasets = {}, int64_t create_seconds = 100,
    const std::string& base_model = "ethscan-base") {
  model::v1::ModelPackage package;
  model::v1::Manifest* m = package.mutable_manifest();
  m->set_name(name);
  m->set_base_model(base_model);
  const size_t colon = name.rfind(':');
  m->set_job_id(colon == std::string::npos ? name : name.substr(colon + 1));
  m->mutable_create_time()->set_seconds(create_seconds);
  for (const std::string& id : training_datasets) {
    model::v1::DatasetRef* d = m->add_datasets();
    d->set_id(id);
    d->set_role("training");
  }
  (*m->mutable_metrics())["addresses"] = index.entries_size();
  (void)model::AddArtefact(&package, model::kKnowledgeKind, model::kKnowledgeFormat,
                           model::SerializeDeterministic(index));
  return package;
}

// The knowledge index of a package (empty when it has none or it does not parse).
inline model::v1::KnowledgeIndex IndexOf(const model::v1::ModelPackage& package) {
  absl::StatusOr<std::optional<model::v1::KnowledgeIndex>> index = model::KnowledgeOf(package);
  if (!index.ok() || !index->has_value()) return model::v1::KnowledgeIndex();
  return **index;
}

}  // namespace ethscan::testing

#endif  // ETHSCAN_TESTS_TESTING_MODEL_PACKAGES_H_

// An in-memory ModelSource: models by name, aliases, and switchable failures.
#ifndef ETHSCAN_TESTS_SERVICES_INFERENCE_FAKE_MODEL_SOURCE_H_
#define ETHSCAN_TESTS_SERVICES_INFERENCE_FAKE_MODEL_SOURCE_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ethscan/model/v1/model.pb.h"
#include "services/inference/model_source.h"
#include "tests/testing/model_packages.h"

namespace ethscan::inference::testing {

class FakeModelSource : public ModelSource {
 public:
  void Add(model::v1::ModelPackage model) {
    newest_ = model.manifest().name();
    models_[model.manifest().name()] = std::move(model);
  }
  void SetAlias(const std::string& alias, const std::string& name) { aliases_[alias] = name; }

  absl::StatusOr<training::v1::Model> Resolve(const std::string& name_or_alias) override {
    ++resolves;
    if (unavailable) return absl::UnavailableError("registry down");
    std::string name = name_or_alias;
    if (name.empty()) name = aliases_.count("production") ? aliases_["production"] : newest_;
    if (aliases_.count(name)) name = aliases_[name];
    if (name.empty()) return absl::NotFoundError("no model published yet");
    if (!models_.count(name)) {
      return absl::NotFoundError(absl::StrCat("model \"", name, "\" not found"));
    }
    training::v1::Model m;
    m.set_name(name);
    return m;
  }

  absl::StatusOr<model::v1::ModelPackage> Fetch(const training::v1::Model& model) override {
    ++fetches;
    if (unavailable) return absl::UnavailableError("registry down");
    return models_.at(model.name());
  }

  int resolves = 0;
  int fetches = 0;
  bool unavailable = false;

 private:
  std::map<std::string, model::v1::ModelPackage> models_;
  std::map<std::string, std::string> aliases_;
  std::string newest_;
};

// A model whose only kind is a knowledge index of `entries`.
inline model::v1::ModelPackage ModelWith(const std::string& name,
                                         std::vector<model::v1::KnowledgeEntry> entries) {
  model::v1::KnowledgeIndex index;
  for (auto& e : entries) *index.add_entries() = std::move(e);
  return ::ethscan::testing::KnowledgePackage(name, index);
}

}  // namespace ethscan::inference::testing

#endif  // ETHSCAN_TESTS_SERVICES_INFERENCE_FAKE_MODEL_SOURCE_H_

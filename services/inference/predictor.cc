#include "services/inference/predictor.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/features/schema.h"
#include "common/model/package.h"
#include "common/text/quote.h"

namespace ethscan::inference {
namespace {

// Contributions reported per score.
constexpr size_t kTopContributions = 5;

absl::Status Lost(absl::string_view model_name, absl::string_view problem) {
  return absl::DataLossError(absl::StrCat("model ", text::Quote(model_name), ": ", problem));
}

}  // namespace

absl::StatusOr<std::unique_ptr<KnowledgePredictor>> KnowledgePredictor::Create(
    model::v1::KnowledgeIndex index, absl::string_view model_name) {
  std::unique_ptr<KnowledgePredictor> p(new KnowledgePredictor(std::move(index)));
  p->lookup_.reserve(p->index_.entries_size());
  for (int i = 0; i < p->index_.entries_size(); ++i) {
    const model::v1::KnowledgeEntry& entry = p->index_.entries(i);
    absl::StatusOr<eth::Address> address =
        eth::Address::Parse(entry.merged().address(), eth::Address::ChecksumPolicy::kLenient);
    if (!address.ok()) {
      return Lost(model_name,
                  absl::StrCat("knowledge entry ", i, ": ", address.status().message()));
    }
    if (!p->lookup_.emplace(*address, &entry).second) {
      return Lost(model_name, absl::StrCat("the knowledge index lists address ",
                                           address->ToChecksumHex(), " twice"));
    }
  }
  return p;
}

absl::string_view KnowledgePredictor::kind() const { return model::kKnowledgeKind; }

const model::v1::KnowledgeEntry* KnowledgePredictor::Find(const eth::Address& address) const {
  auto it = lookup_.find(address);
  return it == lookup_.end() ? nullptr : it->second;
}

absl::Status KnowledgePredictor::Assess(const PredictInput& input, Assessment* out) const {
  out->has_knowledge = true;
  out->entry = Find(input.address);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ClassifierPredictor>> ClassifierPredictor::Create(
    const model::v1::ClassifierArtefact& artefact, absl::string_view model_name) {
  if (artefact.feature_schema() != features::kSchemaName ||
      artefact.feature_schema_version() != features::kSchemaVersion) {
    return Lost(
        model_name,
        absl::StrCat("its classifier reads feature schema ", text::Quote(artefact.feature_schema()),
                     " version ", artefact.feature_schema_version(), "; this version reads ",
                     features::kSchemaName, " version ", features::kSchemaVersion));
  }
  std::vector<size_t> columns;
  for (const std::string& name : artefact.features()) {
    std::optional<size_t> index = features::NumericIndexOf(name);
    if (!index.has_value()) {
      return Lost(model_name, absl::StrCat("its classifier reads feature ", text::Quote(name),
                                           ", which the schema does not have"));
    }
    columns.push_back(*index);
  }
  absl::StatusOr<std::unique_ptr<ml::Classifier>> classifier =
      ml::Classifier::Load(artefact.booster());
  if (!classifier.ok()) {
    return Lost(model_name,
                absl::StrCat("its classifier does not load: ", classifier.status().message()));
  }
  if ((*classifier)->columns() != 0 && (*classifier)->columns() != columns.size()) {
    return Lost(model_name, absl::StrCat("its classifier was trained on ", (*classifier)->columns(),
                                         " features but lists ", columns.size()));
  }
  return std::unique_ptr<ClassifierPredictor>(
      new ClassifierPredictor(artefact, *std::move(classifier), std::move(columns)));
}

absl::string_view ClassifierPredictor::kind() const { return model::kClassifierKind; }

absl::Status ClassifierPredictor::Assess(const PredictInput& input, Assessment* out) const {
  if (input.features.empty()) return absl::OkStatus();
  ml::FeatureMatrix row;
  row.columns = columns_.size();
  std::vector<float> values;
  values.reserve(columns_.size());
  int present = 0;
  for (size_t c : columns_) {
    const float v = c < input.features.size() ? input.features[c] : NAN;
    if (!std::isnan(v)) ++present;
    values.push_back(v);
  }
  if (present == 0) return absl::OkStatus();
  row.AddRow(values);
  absl::StatusOr<std::vector<float>> scores = classifier_->Predict(row);
  if (!scores.ok()) return scores.status();
  absl::StatusOr<std::vector<float>> contributions = classifier_->Contributions(row);
  if (!contributions.ok()) return contributions.status();

  v1::BehaviouralScore score;
  const double p = (*scores)[0];
  score.set_score(p);
  score.set_threshold(artefact_.threshold());
  score.set_flagged(p >= artefact_.threshold());
  score.set_label(score.flagged() && !artefact_.positive_label().empty()
                      ? artefact_.positive_label()
                      : "Unknown");
  score.set_feature_set(artefact_.feature_set());
  score.set_features_present(present);
  score.set_features_missing(static_cast<int>(columns_.size()) - present);
  score.set_bias((*contributions)[columns_.size()]);
  std::vector<size_t> order(columns_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::fabs((*contributions)[a]) > std::fabs((*contributions)[b]);
  });
  for (size_t i = 0; i < order.size() && i < kTopContributions; ++i) {
    const float c = (*contributions)[order[i]];
    if (c == 0) break;
    v1::FeatureContribution* fc = score.add_top_contributions();
    fc->set_feature(artefact_.features(static_cast<int>(order[i])));
    if (!std::isnan(values[order[i]])) fc->set_value(values[order[i]]);
    fc->set_contribution(c);
  }
  out->behaviour = std::move(score);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::unique_ptr<Predictor>>> MakePredictors(
    const model::v1::ModelPackage& package) {
  const std::string& name = package.manifest().name();
  std::vector<std::unique_ptr<Predictor>> out;
  for (const std::string& kind : package.manifest().kinds()) {
    if (kind == model::kKnowledgeKind) {
      absl::StatusOr<std::optional<model::v1::KnowledgeIndex>> index = model::KnowledgeOf(package);
      if (!index.ok()) return index.status();
      if (!index->has_value()) return Lost(name, "the manifest names a knowledge index it lacks");
      absl::StatusOr<std::unique_ptr<KnowledgePredictor>> p =
          KnowledgePredictor::Create(**std::move(index), name);
      if (!p.ok()) return p.status();
      out.push_back(*std::move(p));
    } else if (kind == model::kClassifierKind) {
      absl::StatusOr<std::optional<model::v1::ClassifierArtefact>> artefact =
          model::ClassifierOf(package);
      if (!artefact.ok()) return artefact.status();
      if (!artefact->has_value()) return Lost(name, "the manifest names a classifier it lacks");
      absl::StatusOr<std::unique_ptr<ClassifierPredictor>> p =
          ClassifierPredictor::Create(**artefact, name);
      if (!p.ok()) return p.status();
      out.push_back(*std::move(p));
    } else if (kind == model::kChatKind) {
      return absl::FailedPreconditionError(absl::StrCat(
          "model ", text::Quote(name),
          " is a chat model fine-tuned on an OpenAI-compatible API and served there; this "
          "inference service answers with knowledge and classifier models"));
    } else {
      return absl::FailedPreconditionError(
          absl::StrCat("model ", text::Quote(name), " has a model kind ", text::Quote(kind),
                       " that this inference version does not serve"));
    }
  }
  return out;
}

}  // namespace ethscan::inference

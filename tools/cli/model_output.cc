#include "tools/cli/model_output.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/cli/output.h"

namespace ethscan::cli {
namespace {

// `text` with `indent` before every line.
std::string Indent(const std::string& text, const std::string& indent) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    absl::StrAppend(&out, indent, line, "\n");
  }
  return out;
}

// "name  value" rows of a number map, sorted by name, values as %.6g.
template <typename Map>
std::string NamedNumbers(const Map& values) {
  std::map<std::string, double> sorted(values.begin(), values.end());
  std::vector<std::vector<std::string>> rows;
  rows.reserve(sorted.size());
  for (const auto& [name, value] : sorted) rows.push_back({name, absl::StrFormat("%.6g", value)});
  std::string table = FormatTable({"NAME", "VALUE"}, rows);
  // Without the header row.
  return table.substr(table.find('\n') + 1);
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

// Width of the labels of the card's fields, as FormatModel's.
constexpr size_t kFieldWidth = 20;

}  // namespace

std::string FormatRatio(double value) {
  return std::isnan(value) ? "-" : absl::StrFormat("%.4f", value);
}

std::string FormatEvaluationTable(const std::vector<std::string>& headers,
                                  const std::vector<const model::v1::Evaluation*>& evaluations,
                                  const std::string& indent) {
  using Evaluation = model::v1::Evaluation;
  const std::vector<std::pair<const char*, std::function<std::string(const Evaluation&)>>> kRows = {
      {"Rows", [](const Evaluation& e) { return absl::StrCat(e.rows()); }},
      {"Positives", [](const Evaluation& e) { return absl::StrCat(e.positives()); }},
      {"Threshold", [](const Evaluation& e) { return FormatRatio(e.threshold()); }},
      {"Accuracy", [](const Evaluation& e) { return FormatRatio(e.accuracy()); }},
      {"Precision", [](const Evaluation& e) { return FormatRatio(e.precision()); }},
      {"Recall", [](const Evaluation& e) { return FormatRatio(e.recall()); }},
      {"F1", [](const Evaluation& e) { return FormatRatio(e.f1()); }},
      {"ROC-AUC", [](const Evaluation& e) { return FormatRatio(e.roc_auc()); }},
      {"PR-AUC", [](const Evaluation& e) { return FormatRatio(e.pr_auc()); }},
      {"Brier", [](const Evaluation& e) { return FormatRatio(e.brier()); }},
      {"Log loss", [](const Evaluation& e) { return FormatRatio(e.log_loss()); }},
      {"TP / FP / TN / FN",
       [](const Evaluation& e) {
         return absl::StrCat(e.true_positives(), " / ", e.false_positives(), " / ",
                             e.true_negatives(), " / ", e.false_negatives());
       }},
  };
  std::vector<std::string> header = {""};
  header.insert(header.end(), headers.begin(), headers.end());
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, value] : kRows) {
    std::vector<std::string> row = {name};
    for (const Evaluation* e : evaluations) row.push_back(e == nullptr ? "-" : value(*e));
    rows.push_back(std::move(row));
  }
  return Indent(FormatTable(header, rows), indent);
}

std::string FormatModelCard(const training::v1::Model& model) {
  std::string out = FormatModel(model);
  if (!model.has_manifest()) return out;
  const model::v1::Manifest& m = model.manifest();
  auto field = [&out](absl::string_view label, const std::string& value) {
    std::string head = absl::StrCat(label, ":");
    head.resize(std::max(kFieldWidth, head.size() + 1), ' ');
    absl::StrAppend(&out, "  ", head, value, "\n");
  };
  field("Kinds", OrDash(absl::StrJoin(m.kinds(), ", ")));
  if (m.checkpoint_step() > 0) field("Checkpoint", absl::StrCat("step ", m.checkpoint_step()));
  if (!m.feature_schema().empty()) {
    field("Feature schema",
          absl::StrCat(m.feature_schema(), " version ", m.feature_schema_version(),
                       ", feature set ", OrDash(m.feature_set())));
  }

  if (!m.artefacts().empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const model::v1::ArtefactInfo& a : m.artefacts()) {
      rows.push_back({a.kind(), OrDash(a.format()),
                      FormatBytes(static_cast<double>(a.size_bytes())), OrDash(a.sha256())});
    }
    absl::StrAppend(&out, "Artefacts:\n",
                    Indent(FormatTable({"KIND", "FORMAT", "SIZE", "SHA-256"}, rows), "  "));
  }
  if (!m.datasets().empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const model::v1::DatasetRef& d : m.datasets()) {
      rows.push_back(
          {OrDash(d.role()), OrDash(d.id()), OrDash(d.name()), absl::StrCat(d.record_count())});
    }
    absl::StrAppend(&out, "Datasets:\n",
                    Indent(FormatTable({"ROLE", "ID", "NAME", "RECORDS"}, rows), "  "));
  }
  if (!m.hyperparameters().empty()) {
    absl::StrAppend(&out, "Hyperparameters:\n", Indent(NamedNumbers(m.hyperparameters()), "  "));
  }
  if (!m.metrics().empty()) {
    absl::StrAppend(&out, "Metrics:\n", Indent(NamedNumbers(m.metrics()), "  "));
  }
  if (m.has_validation() || m.has_test() || !m.feature_set_comparison().empty()) {
    std::vector<std::string> headers = {"VALIDATION", "TEST"};
    std::vector<const model::v1::Evaluation*> evaluations = {
        m.has_validation() ? &m.validation() : nullptr, m.has_test() ? &m.test() : nullptr};
    for (const model::v1::Evaluation& e : m.feature_set_comparison()) {
      headers.push_back(absl::StrCat("TEST (", OrDash(e.feature_set()), ")"));
      evaluations.push_back(&e);
    }
    absl::StrAppend(&out, "Evaluation (threshold chosen on the validation side):\n",
                    FormatEvaluationTable(headers, evaluations));
    for (const model::v1::Evaluation* e : {&m.validation(), &m.test()}) {
      if (e->source().empty()) continue;
      absl::StrAppend(
          &out, "  ", e == &m.validation() ? "Validation" : "Test", " rows: ", e->source(),
          e->feature_set().empty() ? "" : absl::StrCat(" (feature set ", e->feature_set(), ")"),
          "\n");
    }
  }
  for (const model::v1::Evaluation& e : m.feature_set_comparison()) {
    absl::StrAppend(&out, "  TEST (", OrDash(e.feature_set()),
                    "): a classifier trained the same way on that feature set, for comparison "
                    "only (not part of the model)\n");
  }
  if (!m.holdout().empty()) absl::StrAppend(&out, "Holdout: ", m.holdout(), "\n");
  return out;
}

}  // namespace ethscan::cli

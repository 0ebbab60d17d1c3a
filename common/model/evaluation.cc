#include "common/model/evaluation.h"

#include <string>

namespace ethscan::model {

v1::Evaluation ToEvaluation(const ml::BinaryMetrics& m, absl::string_view split,
                            absl::string_view source, absl::string_view feature_set, size_t rows,
                            size_t positives) {
  v1::Evaluation e;
  e.set_split(std::string(split));
  e.set_source(std::string(source));
  e.set_feature_set(std::string(feature_set));
  e.set_rows(rows);
  e.set_positives(positives);
  e.set_threshold(m.threshold);
  e.set_true_positives(m.true_positives);
  e.set_false_positives(m.false_positives);
  e.set_true_negatives(m.true_negatives);
  e.set_false_negatives(m.false_negatives);
  e.set_accuracy(m.accuracy);
  e.set_precision(m.precision);
  e.set_recall(m.recall);
  e.set_f1(m.f1);
  e.set_roc_auc(m.roc_auc);
  e.set_pr_auc(m.pr_auc);
  e.set_brier(m.brier);
  e.set_log_loss(m.log_loss);
  return e;
}

}  // namespace ethscan::model

// Text of the `ethscan models` commands that read a model's card (ethscan.model.v1.Manifest):
// the card itself and evaluation tables, which `models compare` prints side by side too.
// Pure functions of their arguments, safe from any thread; every result ends with a newline.
#ifndef ETHSCAN_TOOLS_CLI_MODEL_OUTPUT_H_
#define ETHSCAN_TOOLS_CLI_MODEL_OUTPUT_H_

#include <string>
#include <vector>

#include "ethscan/model/v1/model.pb.h"
#include "ethscan/training/v1/model_registry_service.pb.h"

namespace ethscan::cli {

// The model's registry fields (FormatModel), then from its manifest: the feature schema and
// set, the artefacts (kind, format, size, SHA-256), the datasets with their roles, the
// hyperparameters, the metrics, the validation and test evaluations as one table (with a
// column for each feature_set_comparison), and how the held-out sides were chosen. Sections the
// manifest leaves empty are left out.
std::string FormatModelCard(const training::v1::Model& model);

// One column per evaluation under `headers` (a column with "-" for a null one): rows,
// positives, threshold, accuracy, precision, recall, F1, ROC-AUC, PR-AUC, Brier, log loss and
// the confusion matrix. Ratios with 4 decimals; NaN (an AUC without both classes) as "-".
// Each line starts with `indent`.
std::string FormatEvaluationTable(const std::vector<std::string>& headers,
                                  const std::vector<const model::v1::Evaluation*>& evaluations,
                                  const std::string& indent = "  ");

// A probability or metric as the tables print it: 4 decimals, "-" for NaN.
std::string FormatRatio(double value);

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_MODEL_OUTPUT_H_

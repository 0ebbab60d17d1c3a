// The model card's form of a classifier evaluation: ml::BinaryMetrics as an
// ethscan.model.v1.Evaluation, for the trainer that writes it and the clients that compare
// models the same way.
#ifndef ETHSCAN_COMMON_MODEL_EVALUATION_H_
#define ETHSCAN_COMMON_MODEL_EVALUATION_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "common/ml/classifier.h"
#include "ethscan/model/v1/model.pb.h"

namespace ethscan::model {

// `metrics` of `rows` rows (`positives` of them flagged) on side `split` ("validation",
// "test") from `source`, for a classifier reading `feature_set`.
v1::Evaluation ToEvaluation(const ml::BinaryMetrics& metrics, absl::string_view split,
                            absl::string_view source, absl::string_view feature_set, size_t rows,
                            size_t positives);

}  // namespace ethscan::model

#endif  // ETHSCAN_COMMON_MODEL_EVALUATION_H_

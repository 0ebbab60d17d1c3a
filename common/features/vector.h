// A record's behavioural features as the classifier's input: a dense vector in the order of
// ethscan.features.v1's numeric features, NaN where a feature is missing; and which side of
// the classifier's target the record is on.
#ifndef ETHSCAN_COMMON_FEATURES_VECTOR_H_
#define ETHSCAN_COMMON_FEATURES_VECTOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ethscan/common/v1/common.pb.h"

namespace ethscan::features {

// The binary target of the behavioural classifier.
enum class Target {
  // The record cannot train the classifier: no numeric feature, or a label that says
  // nothing about being flagged (a Legit token list entry, an Unknown without "not flagged").
  kNone,
  // Flagged malicious: "Phish / Hack", "Scam", "Exploit", "Heist" or "Sanctioned".
  kFlagged,
  // Not flagged: label "Unknown" with the tag "not flagged" (Kaggle FLAG 0). This is no
  // evidence of legitimacy, so the classifier's negative class never becomes "Legit".
  kNotFlagged,
};

// Which side of the target `record` is on.
Target TargetOf(const common::v1::AddressRecord& record);
// The same when the record's DenseVector is at hand.
Target TargetOf(const common::v1::AddressRecord& record, const std::vector<float>& dense);

// The record's numeric features in NumericFeatures() order; NaN for features it lacks.
// Features whose names are not in the schema are ignored, as are text features.
std::vector<float> DenseVector(const common::v1::AddressRecord& record);

// The same for named values (canonical names or source column names, as in a request).
// INVALID_ARGUMENT names an unknown feature or a text feature given as a number.
absl::StatusOr<std::vector<float>> DenseVector(
    const std::vector<std::pair<std::string, double>>& values);

// Whether the vector has at least one value.
bool HasAnyValue(const std::vector<float>& vector);

}  // namespace ethscan::features

#endif  // ETHSCAN_COMMON_FEATURES_VECTOR_H_

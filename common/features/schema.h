// The canonical behavioural feature schema, `ethscan.features.v1`: the 47 per-address features
// of the Kaggle "Ethereum Fraud Detection" layout, each named once (snake_case), with its
// definition and unit, in a fixed order that a classifier's feature vector follows.
//
// Feature uploads map onto it by column name (SchemaIndexOfColumn): the Kaggle file fills all
// 47, the Etherscan phish-feature file the 22 transaction features. The enrichment service
// computes the same vector from chain data, so each definition below is precise enough to
// recompute. A feature that was not computed is missing (NaN in a dense vector), never 0.
#ifndef ETHSCAN_COMMON_FEATURES_SCHEMA_H_
#define ETHSCAN_COMMON_FEATURES_SCHEMA_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"

namespace ethscan::features {

// Name and version of this schema, as models record it.
inline constexpr absl::string_view kSchemaName = "ethscan.features.v1";
inline constexpr int kSchemaVersion = 1;

enum class Block {
  // Normal (external) transactions of the account: the 22 features both feature sets carry.
  kTransactions,
  // ERC-20 token transfers of the account (Kaggle only).
  kErc20,
};

enum class Kind {
  // A number; what the classifier sees.
  kNumber,
  // Free text (a token name). Kept with the record, not fed to the classifier.
  kText,
};

struct FeatureDef {
  // Canonical name, e.g. "avg_min_between_sent_tnx".
  absl::string_view name;
  // The column as the Kaggle file spells it, stray spaces included.
  absl::string_view kaggle_column;
  Block block;
  Kind kind;
  // Unit of the value: "minutes", "count", "ETH", "token units", "text".
  absl::string_view unit;
  // How the value is computed from an account's history.
  absl::string_view definition;
};

// Every feature, in schema order.
const std::vector<FeatureDef>& Schema();

// The numeric features in schema order: the classifier's input columns.
const std::vector<const FeatureDef*>& NumericFeatures();

// Number of numeric features (the classifier's input width); with `erc20` false, of the
// transaction block only.
size_t NumericFeatureCount(bool erc20 = true);

// The position in Schema() of the feature that column `column` of a feature upload holds,
// comparing without surrounding spaces and letter case and accepting the canonical name too;
// nullopt for a column that is no feature (Address, FLAG, Index). The source's quirks are
// resolved here: the missing closing parenthesis of "total transactions (including tnx to
// create contract", and the pandas duplicate " ERC20 uniq sent addr.1".
std::optional<size_t> SchemaIndexOfColumn(absl::string_view column);

// The position of canonical feature `name` in NumericFeatures(), or nullopt.
std::optional<size_t> NumericIndexOf(absl::string_view name);

}  // namespace ethscan::features

#endif  // ETHSCAN_COMMON_FEATURES_SCHEMA_H_

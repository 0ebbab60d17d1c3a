// The report label vocabulary of the public contract and its severity order, shared by every
// service that ranks labels (dataset merging and splitting, the training conflict policy).
#ifndef ETHSCAN_COMMON_REPORT_LABELS_H_
#define ETHSCAN_COMMON_REPORT_LABELS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ethscan::common {

// Every report label, from least to most severe.
inline constexpr absl::string_view kReportLabels[] = {
    "Unknown", "Legit", "Scam", "Phish / Hack", "Exploit", "Heist", "Sanctioned"};

// The severity of each report label (its index in kReportLabels).
inline constexpr int kSeverityUnknown = 0;
inline constexpr int kSeverityLegit = 1;
inline constexpr int kSeverityScam = 2;
inline constexpr int kSeverityPhishHack = 3;
inline constexpr int kSeverityExploit = 4;
inline constexpr int kSeverityHeist = 5;
inline constexpr int kSeveritySanctioned = 6;

// Severity of a report label: Sanctioned 6, Heist 5, Exploit 4, Phish / Hack 3, Scam 2,
// Legit 1, Unknown 0; -1 for an empty label or one outside the vocabulary. Case-insensitive.
int LabelSeverity(absl::string_view label);

// The report label spelled as the vocabulary spells it ("phish / hack" -> "Phish / Hack"), or
// an empty string when `label` is not in the vocabulary.
std::string CanonicalReportLabel(absl::string_view label);

}  // namespace ethscan::common

#endif  // ETHSCAN_COMMON_REPORT_LABELS_H_

#include "common/report/labels.h"

#include <iterator>

#include "absl/strings/match.h"

namespace ethscan::common {

int LabelSeverity(absl::string_view label) {
  // The exact spelling first: it is what most records carry, and the cheaper comparison.
  for (int i = 0; i < static_cast<int>(std::size(kReportLabels)); ++i) {
    if (label == kReportLabels[i]) return i;
  }
  for (int i = 0; i < static_cast<int>(std::size(kReportLabels)); ++i) {
    if (absl::EqualsIgnoreCase(label, kReportLabels[i])) return i;
  }
  return -1;
}

std::string CanonicalReportLabel(absl::string_view label) {
  const int severity = LabelSeverity(label);
  return severity < 0 ? std::string() : std::string(kReportLabels[severity]);
}

}  // namespace ethscan::common

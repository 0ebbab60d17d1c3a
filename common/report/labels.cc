#include "common/report/labels.h"

#include <iterator>

#include "absl/strings/match.h"

namespace ethscan::common {

int LabelSeverity(absl::string_view label) {
  for (int i = 0; i < static_cast<int>(std::size(kReportLabels)); ++i) {
    if (absl::EqualsIgnoreCase(label, kReportLabels[i])) return i;
  }
  return -1;
}

}  // namespace ethscan::common

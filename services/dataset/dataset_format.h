// The source formats the dataset service reads: their names, the header columns each needs,
// and detection of the format from a file's header row (or, for a plain address list, from its
// first line).
//
// Thread-safety: every function here is pure and thread-safe.
#ifndef ETHSCAN_SERVICES_DATASET_DATASET_FORMAT_H_
#define ETHSCAN_SERVICES_DATASET_DATASET_FORMAT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"

namespace ethscan::dataset {

using ::ethscan::dataset::v1::DatasetFormat;

// The short lowercase name of a format ("ofac_sdn", "etherscan_labels"); "unspecified" for
// DATASET_FORMAT_UNSPECIFIED. Used in messages and in the content-addressed dataset id.
std::string FormatName(DatasetFormat format);

// True for the JSON Lines formats (OpenAI chat, legacy prompt/completion), which are read line
// by line as JSON (jsonl_mapper.h) instead of as CSV with a header.
bool IsJsonlFormat(DatasetFormat format);

// The header columns a format needs, trimmed and lowercase, in the order the source writes
// them (for the behavioural feature formats: the columns their built-in mappings read). Empty
// for DATASET_FORMAT_UNSPECIFIED, the JSON Lines formats, DATASET_FORMAT_ADDRESS_LIST (one
// column, with or without a header), DATASET_FORMAT_CSV_MAPPING (the mapping decides) and
// DATASET_FORMAT_MERGED. Extra columns in a file are allowed and ignored.
const std::vector<std::string>& RequiredColumns(DatasetFormat format);

// True when the single column of an address list's first line is its header ("address", any
// letter case) rather than the first address.
bool IsAddressListHeader(absl::string_view column);

// A file's columns for a message: each through text::Escape (control characters and quotes
// escaped, cut after 40 characters), joined by ',', and after the first `max_columns` the count
// of the others, so that a hostile header gives a short message.
std::string ColumnList(const std::vector<std::string>& columns, size_t max_columns = 24);

// The chosen format and the reason, in words.
struct FormatChoice {
  DatasetFormat format = v1::DATASET_FORMAT_UNSPECIFIED;
  // For example "detected ofac_sdn from header columns address,name,status,date_added".
  std::string explanation;
};

// Chooses the format of a file from the requested format and the file's trimmed header names
// (compared without regard to letter case). With DATASET_FORMAT_UNSPECIFIED:
// - a first line that is one column, either "address" or an address, is an address list;
// - otherwise the format whose columns are all present is detected, the one needing the most
//   columns winning (the Kaggle layout holds every column of the phish-feature layout).
// DATASET_FORMAT_CSV_MAPPING is never detected; requested, it accepts any header (the mapping's
// columns are checked when the mapper is built). Errors are INVALID_ARGUMENT naming `file` and
// line `header_line`: a header that matches no format (listing the known ones, and for a
// behavioural feature header the columns each feature format lacks), a requested format whose
// columns are missing, a requested address list whose first line is not one column holding
// "address" or an address, an unknown format value, DATASET_FORMAT_MERGED (never uploaded), and
// a requested JSON Lines format (the file does not start with a JSON object).
absl::StatusOr<FormatChoice> ChooseFormat(DatasetFormat requested,
                                          const std::vector<std::string>& header,
                                          absl::string_view file, uint64_t header_line);

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_DATASET_FORMAT_H_

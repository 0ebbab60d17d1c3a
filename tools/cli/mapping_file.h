// Reads the column mapping of `ethscan datasets upload --mapping FILE.json`: a JSON file in the
// protobuf JSON mapping of ethscan.dataset.v1.ColumnMapping (field names as in the proto,
// "address_column", or in lowerCamelCase, "addressColumn"). Pure apart from reading the file;
// thread-safe.
#ifndef ETHSCAN_TOOLS_CLI_MAPPING_FILE_H_
#define ETHSCAN_TOOLS_CLI_MAPPING_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"

namespace ethscan::cli {

// Parses `json` (the content of the file `path`, used in messages) as a ColumnMapping. Errors
// are INVALID_ARGUMENT and start with the path: a syntax error names the line and column
// ("m.json:3:12: not valid JSON: syntax error while parsing object separator - unexpected
// '['; expected ':'"), a field that a ColumnMapping does not have is named with the fields it
// does have, a value of the wrong type names the field, and a mapping without an
// `address_column` or without a label (a `label.column` or a constant `label.value`) says so.
absl::StatusOr<dataset::v1::ColumnMapping> ParseColumnMapping(absl::string_view path,
                                                              absl::string_view json);

// Reads the file `path` and parses it with ParseColumnMapping. NOT_FOUND or
// FAILED_PRECONDITION ("cannot read mapping file m.json: No such file or directory") when the
// file cannot be read.
absl::StatusOr<dataset::v1::ColumnMapping> ReadColumnMappingFile(const std::string& path);

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_MAPPING_FILE_H_

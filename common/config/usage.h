// The --help of the service binaries: a usage line and the service's own flags (the ones its
// main.cc defines), instead of absl's "SetProgramUsageMessage() never called" and "No flags
// matched".
#ifndef ETHSCAN_COMMON_CONFIG_USAGE_H_
#define ETHSCAN_COMMON_CONFIG_USAGE_H_

#include "absl/strings/string_view.h"

namespace ethscan::config {

// Call before absl::ParseCommandLine. `usage` is the first lines of --help: what the binary
// is and how it is started ("ethscan_dataset [--listen=HOST:PORT] …: the dataset service").
// --help then lists the flags defined in files named main.cc; --helpfull lists every flag.
void InitUsage(absl::string_view usage);

}  // namespace ethscan::config

#endif  // ETHSCAN_COMMON_CONFIG_USAGE_H_

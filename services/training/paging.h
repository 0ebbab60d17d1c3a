// Offset-based paging shared by ListJobs and ListModels: page_size 0 means 100, at most
// 1000; page_token is the decimal offset of the first item, empty for the first page.
//
// Thread-safety: stateless functions.
#ifndef ETHSCAN_SERVICES_TRAINING_PAGING_H_
#define ETHSCAN_SERVICES_TRAINING_PAGING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ethscan::training {

inline constexpr int64_t kDefaultPageSize = 100;
inline constexpr int64_t kMaxPageSize = 1000;

struct PageRequest {
  int64_t offset = 0;
  int64_t limit = kDefaultPageSize;
};

// INVALID_ARGUMENT for a negative page size, or a token that is not decimal digits alone
// (no sign or space) worth at most 2^63 - 1 - kMaxPageSize; the message quotes the token with
// text::Quote.
absl::StatusOr<PageRequest> ParsePage(int32_t page_size, absl::string_view page_token);

// The token of the page after `page`, or "" when `total` items leave no further page.
std::string NextPageToken(const PageRequest& page, int64_t total);

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_PAGING_H_

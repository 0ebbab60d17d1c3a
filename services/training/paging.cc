#include "services/training/paging.h"

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/text/quote.h"

namespace ethscan::training {
namespace {

// Offsets are kept below this, so that an offset plus a page never overflows.
constexpr int64_t kMaxOffset = std::numeric_limits<int64_t>::max() - kMaxPageSize;

// True when `token` is 1 to 19 decimal digits (no sign, no space) worth at most kMaxOffset.
bool ParseOffset(absl::string_view token, int64_t* offset) {
  if (token.empty() || token.size() > 19) return false;
  for (char c : token) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(token, offset) && *offset >= 0 && *offset <= kMaxOffset;
}

}  // namespace

absl::StatusOr<PageRequest> ParsePage(int32_t page_size, absl::string_view page_token) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(absl::StrCat("page_size ", page_size,
                                                   " is negative (0 means ", kDefaultPageSize,
                                                   ", at most ", kMaxPageSize, ")"));
  }
  PageRequest page;
  page.limit = page_size == 0 ? kDefaultPageSize : std::min<int64_t>(page_size, kMaxPageSize);
  if (!page_token.empty() && !ParseOffset(page_token, &page.offset)) {
    return absl::InvalidArgumentError(absl::StrCat("page_token ", text::Quote(page_token),
                                                   " is not a token from a previous response"));
  }
  return page;
}

std::string NextPageToken(const PageRequest& page, int64_t total) {
  int64_t next = page.offset + page.limit;
  return next < total ? absl::StrCat(next) : "";
}

}  // namespace ethscan::training

#include "services/training/paging.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ethscan::training {

absl::StatusOr<PageRequest> ParsePage(int32_t page_size, absl::string_view page_token) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size ", page_size, " is negative (0 means 100, at most 1000)"));
  }
  PageRequest page;
  page.limit = page_size == 0 ? 100 : std::min<int64_t>(page_size, 1000);
  if (!page_token.empty() && (!absl::SimpleAtoi(page_token, &page.offset) || page.offset < 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_token \"", page_token, "\" is not a token from a previous response"));
  }
  return page;
}

std::string NextPageToken(const PageRequest& page, int64_t total) {
  int64_t next = page.offset + page.limit;
  return next < total ? absl::StrCat(next) : "";
}

}  // namespace ethscan::training

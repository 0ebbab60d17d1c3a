// Early-return helpers for absl::Status and absl::StatusOr, until Abseil ships its own.
#ifndef ETHSCAN_COMMON_STATUS_STATUS_MACROS_H_
#define ETHSCAN_COMMON_STATUS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ETHSCAN_STATUS_CONCAT_INNER(a, b) a##b
#define ETHSCAN_STATUS_CONCAT(a, b) ETHSCAN_STATUS_CONCAT_INNER(a, b)

// Returns the status of `expr` from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status ethscan_status_ = (expr);           \
    if (!ethscan_status_.ok()) return ethscan_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())` declares x from F()'s value, or returns F()'s status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ETHSCAN_ASSIGN_OR_RETURN_IMPL(ETHSCAN_STATUS_CONCAT(ethscan_statusor_, __LINE__), lhs, expr)

#define ETHSCAN_ASSIGN_OR_RETURN_IMPL(var, lhs, expr) \
  auto var = (expr);                                  \
  if (!var.ok()) return std::move(var).status();      \
  lhs = std::move(var).value()

#endif  // ETHSCAN_COMMON_STATUS_STATUS_MACROS_H_

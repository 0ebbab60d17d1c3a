// gMock matchers for absl::Status and absl::StatusOr: IsOk() and StatusIs(code[, message]).
#ifndef ETHSCAN_TESTS_TESTING_STATUS_MATCHERS_H_
#define ETHSCAN_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace ethscan::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + ::testing::PrintToString(code) + " and a matching message") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code && ::testing::Matches(message_matcher)(std::string(s.message()));
}

}  // namespace ethscan::testing

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                        \
  auto ETHSCAN_STATUS_CONCAT(statusor_, __LINE__) = (expr);    \
  ASSERT_TRUE(ETHSCAN_STATUS_CONCAT(statusor_, __LINE__).ok()) \
      << ETHSCAN_STATUS_CONCAT(statusor_, __LINE__).status();  \
  lhs = std::move(ETHSCAN_STATUS_CONCAT(statusor_, __LINE__)).value()

#define ASSERT_OK(expr) ASSERT_TRUE((expr).ok()) << (expr)
#define EXPECT_OK(expr) EXPECT_TRUE((expr).ok()) << (expr)

#ifndef ETHSCAN_STATUS_CONCAT
#define ETHSCAN_STATUS_CONCAT_INNER(a, b) a##b
#define ETHSCAN_STATUS_CONCAT(a, b) ETHSCAN_STATUS_CONCAT_INNER(a, b)
#endif

#endif  // ETHSCAN_TESTS_TESTING_STATUS_MATCHERS_H_

#include "common/status/grpc_status.h"

#include "common/status/status_macros.h"
#include "gtest/gtest.h"

namespace ethscan::common {
namespace {

TEST(GrpcStatusTest, KeepsCodeAndMessageBothWays) {
  const absl::StatusCode codes[] = {
      absl::StatusCode::kInvalidArgument,   absl::StatusCode::kNotFound,
      absl::StatusCode::kAlreadyExists,     absl::StatusCode::kFailedPrecondition,
      absl::StatusCode::kResourceExhausted, absl::StatusCode::kUnavailable,
      absl::StatusCode::kDeadlineExceeded,  absl::StatusCode::kInternal};
  for (absl::StatusCode code : codes) {
    absl::Status in(code, "dataset \"x\" not found");
    grpc::Status g = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(g.error_code()), static_cast<int>(code));
    EXPECT_EQ(g.error_message(), "dataset \"x\" not found");
    EXPECT_EQ(FromGrpcStatus(g), in);
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, CapsLongMessagesAndKeepsThemOnOneLine) {
  grpc::Status g =
      ToGrpcStatus(absl::InvalidArgumentError(std::string(5 * 1024 * 1024, 'a') + "\nx"));
  EXPECT_LT(g.error_message().size(), 1200u);
  EXPECT_NE(g.error_message().find("(5242882 bytes)"), std::string::npos);
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("a\nb")).error_message(), "a\\nb");
}

TEST(GrpcStatusTest, FromGrpcStatusPrefixesTheCallee) {
  absl::Status s =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), "inference service");
  EXPECT_EQ(s, absl::UnavailableError("inference service: down"));
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnEarlyOnError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status(), absl::InvalidArgumentError("odd"));
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_FALSE(CheckEven(3).ok());
}

}  // namespace
}  // namespace ethscan::common

#include "common/log/log.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ethscan::log {
namespace {

using ::testing::MatchesRegex;

TEST(LogTest, WritesOneTimestampedLinePerCallWithComponentAndSeverity) {
  SetComponent("dataset");
  ::testing::internal::CaptureStderr();
  Info("stored dataset ", 42, " records");
  Warning("redis slow");
  Error("upload rejected");
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, MatchesRegex("I [0-9-]+T[0-9:.]+Z dataset\\] stored dataset 42 records\n"
                                "W [0-9-]+T[0-9:.]+Z dataset\\] redis slow\n"
                                "E [0-9-]+T[0-9:.]+Z dataset\\] upload rejected\n"));
  SetComponent("ethscan");
}

}  // namespace
}  // namespace ethscan::log

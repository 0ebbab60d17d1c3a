#include "common/log/log.h"

#include <algorithm>
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

TEST(LogTest, NoMessageCanForgeASecondLineAndLongMessagesAreCut) {
  ::testing::internal::CaptureStderr();
  Info("upload of ", std::string("x.csv\nE 2026-01-01T00:00:00.000Z dataset] forged"), " failed");
  Info(std::string(100 * 1024, '\0'));
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_NE(out.find("x.csv\\nE 2026"), std::string::npos) << out;
  EXPECT_EQ(out.find('\0'), std::string::npos);
  EXPECT_LT(out.size(), 40 * 1024u);
}

}  // namespace
}  // namespace ethscan::log

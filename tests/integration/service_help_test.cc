// Each service binary answers --help with what it is and its own flags.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_paths.h"

namespace ethscan::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string HelpOf(const std::string& binary) {
  const std::string command = absl::StrCat("'", BinaryDir(), "/", binary, "' --help 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

TEST(ServiceHelpTest, EveryServiceDescribesItselfAndItsFlags) {
  for (const char* binary : {"ethscan_dataset", "ethscan_training", "ethscan_inference",
                             "ethscan_enrichment", "ethscan_gateway"}) {
    SCOPED_TRACE(binary);
    const std::string help = HelpOf(binary);
    EXPECT_THAT(help, HasSubstr(absl::StrCat(binary, ": ", binary)));
    EXPECT_THAT(help, HasSubstr("--listen"));
    EXPECT_THAT(help, Not(HasSubstr("SetProgramUsageMessage")));
    EXPECT_THAT(help, Not(HasSubstr("No flags matched")));
  }
}

}  // namespace
}  // namespace ethscan::testing

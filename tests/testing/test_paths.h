// Where tests find the shared example data and the built binaries.
#ifndef ETHSCAN_TESTS_TESTING_TEST_PATHS_H_
#define ETHSCAN_TESTS_TESTING_TEST_PATHS_H_

#include <string>

namespace ethscan::testing {

// The shared data folder: $ETHSCAN_SHARED_DATA if set, else ../shared/data beside the source
// checkout. Empty when it does not exist (tests then GTEST_SKIP with a clear message).
std::string SharedDataDir();

// The source checkout: $ETHSCAN_SOURCE_DIR (set by CTest), else the current directory.
std::string SourceDir();

// The build tree's bin/ folder (from $ETHSCAN_BINARY_DIR, set by CTest).
std::string BinaryDir();

// A fresh, empty temporary directory, removed by the caller.
std::string MakeTempDir(const std::string& prefix);

}  // namespace ethscan::testing

#endif  // ETHSCAN_TESTS_TESTING_TEST_PATHS_H_

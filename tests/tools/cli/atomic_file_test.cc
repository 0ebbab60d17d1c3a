#include "tools/cli/atomic_file.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::cli {
namespace {

using ::ethscan::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ethscan::testing::MakeTempDir("ethscan-atomic-file-test"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  size_t Entries() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir_)) ++n;
    return n;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
};

TEST_F(AtomicFileTest, TargetAppearsOnlyAtCommit) {
  const std::string path = dir_ + "/scores.csv";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(path));
  EXPECT_THAT(file->temp_path(), StartsWith(path + ".tmp-"));
  file->Append("a,b\n");
  file->Append("1,2\n");
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_OK(file->Commit());
  EXPECT_EQ(Read(path), "a,b\n1,2\n");
  EXPECT_FALSE(std::filesystem::exists(file->temp_path()));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_NE(st.st_mode & S_IRUSR, 0u);
  EXPECT_NE(st.st_mode & S_IWUSR, 0u);
}

TEST_F(AtomicFileTest, UncommittedFileLeavesNothingAndKeepsTheOldTarget) {
  const std::string path = dir_ + "/scores.csv";
  std::ofstream(path) << "old\n";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(path));
    file->Append("half a fi");
  }
  EXPECT_EQ(Read(path), "old\n");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(AtomicFileTest, MissingDirectoryIsNotFound) {
  EXPECT_THAT(AtomicFile::Create(dir_ + "/no/such/dir/f.csv").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/no/such/dir/f.csv.tmp-")));
}

}  // namespace
}  // namespace ethscan::cli

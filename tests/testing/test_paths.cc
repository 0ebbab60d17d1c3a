#include "tests/testing/test_paths.h"

#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace ethscan::testing {
namespace {

bool IsDir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

}  // namespace

std::string SourceDir() {
  std::string source = Env("ETHSCAN_SOURCE_DIR");
  return source.empty() ? "." : source;
}

std::string SharedDataDir() {
  std::string explicit_dir = Env("ETHSCAN_SHARED_DATA");
  if (!explicit_dir.empty()) return IsDir(explicit_dir) ? explicit_dir : "";
  std::string dir = absl::StrCat(SourceDir(), "/../shared/data");
  return IsDir(dir) ? dir : "";
}

std::string BinaryDir() {
  std::string dir = Env("ETHSCAN_BINARY_DIR");
  if (dir.empty()) dir = "build";
  return absl::StrCat(dir, "/bin");
}

std::string MakeTempDir(const std::string& prefix) {
  std::string base = Env("TMPDIR");
  if (base.empty()) base = "/tmp";
  std::string templ = absl::StrCat(base, "/", prefix, "-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) std::abort();
  return templ;
}

}  // namespace ethscan::testing

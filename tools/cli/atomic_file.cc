#include "tools/cli/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ethscan::cli {
namespace {

absl::Status Errno(int error, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(error));
  if (error == EACCES || error == EPERM || error == EROFS) {
    return absl::PermissionDeniedError(message);
  }
  if (error == ENOENT || error == ENOTDIR) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

// The mode a newly created file gets: 0666 less the process's umask.
mode_t NewFileMode() {
  const mode_t mask = umask(0);
  umask(mask);
  return 0666 & ~mask;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path) {
  std::string pattern = absl::StrCat(path, ".tmp-XXXXXX");
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) return Errno(errno, absl::StrCat("cannot create ", pattern));
  std::string temp_path(name.data());
  if (fchmod(fd, NewFileMode()) != 0) {
    const int error = errno;
    close(fd);
    unlink(temp_path.c_str());
    return Errno(error, absl::StrCat("cannot set the mode of ", temp_path));
  }
  std::FILE* file = fdopen(fd, "wb");
  if (file == nullptr) {
    const int error = errno;
    close(fd);
    unlink(temp_path.c_str());
    return Errno(error, absl::StrCat("cannot open ", temp_path));
  }
  return std::unique_ptr<AtomicFile>(new AtomicFile(path, std::move(temp_path), file));
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) unlink(temp_path_.c_str());
}

void AtomicFile::Append(absl::string_view bytes) {
  if (write_error_ != 0 || file_ == nullptr || bytes.empty()) return;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) write_error_ = errno;
}

absl::Status AtomicFile::Commit() {
  if (file_ == nullptr) return absl::FailedPreconditionError("the file was already committed");
  int error = write_error_;
  if (error == 0 && std::fflush(file_) != 0) error = errno;
  if (error == 0 && fsync(fileno(file_)) != 0) error = errno;
  if (std::fclose(file_) != 0 && error == 0) error = errno;
  file_ = nullptr;
  if (error != 0) return Errno(error, absl::StrCat("cannot write ", temp_path_));
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return Errno(errno, absl::StrCat("cannot rename ", temp_path_, " to ", path_));
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace ethscan::cli

#include "services/training/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file/lock.h"
#include "common/log/log.h"
#include "common/text/quote.h"

namespace ethscan::training {
namespace {

namespace fs = std::filesystem;

absl::Status ErrnoError(absl::string_view what, const std::string& path, int error) {
  return absl::InternalError(
      absl::StrCat(what, " ", text::Quote(path, 256), ": ", std::strerror(error)));
}

// Makes a rename in `dir` durable. Best effort: some file systems cannot sync a folder.
void SyncFolder(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AtomicFileWriter>> AtomicFileWriter::Open(const std::string& path) {
  absl::BitGen gen;
  std::string temp =
      absl::StrCat(path, kTemporaryInfix, getpid(), "-", absl::Uniform<uint64_t>(gen));
  int fd = open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", temp, errno);
  if (int error = file::TryLockExclusive(fd); error != 0) {
    close(fd);
    unlink(temp.c_str());
    return ErrnoError("cannot lock", temp, error);
  }
  return std::unique_ptr<AtomicFileWriter>(new AtomicFileWriter(path, std::move(temp), fd));
}

AtomicFileWriter::~AtomicFileWriter() { Discard(); }

void AtomicFileWriter::Discard() {
  if (fd_ < 0) return;
  // Removed before the lock is released with the close, so no sweep sees it unlocked.
  unlink(temp_path_.c_str());
  close(fd_);
  fd_ = -1;
}

absl::Status AtomicFileWriter::Append(absl::string_view bytes) {
  if (fd_ < 0) return absl::InternalError(absl::StrCat(temp_path_, " is closed"));
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd_, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status error = ErrnoError("cannot write", temp_path_, errno);
      Discard();
      return error;
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return absl::InternalError(absl::StrCat(temp_path_, " is closed"));
  if (fsync(fd_) != 0) {
    absl::Status error = ErrnoError("cannot flush", temp_path_, errno);
    Discard();
    return error;
  }
  // Renamed while the lock is held, so a sweep never removes a finished file under its name.
  if (rename(temp_path_.c_str(), path_.c_str()) != 0) {
    absl::Status error = ErrnoError("cannot rename to", path_, errno);
    Discard();
    return error;
  }
  SyncFolder(fs::path(path_).parent_path().string());
  int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) return ErrnoError("cannot close", path_, errno);
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes) {
  absl::StatusOr<std::unique_ptr<AtomicFileWriter>> writer = AtomicFileWriter::Open(path);
  if (!writer.ok()) return writer.status();
  absl::Status appended = (*writer)->Append(bytes);
  if (!appended.ok()) return appended;
  return (*writer)->Commit();
}

int SweepDeadTemporaryFiles(const std::string& dir, absl::Duration min_age) {
  std::error_code error;
  fs::directory_iterator it(dir, error);
  if (error) {
    if (error != std::errc::no_such_file_or_directory) {
      log::Warning("cannot list ", text::Quote(dir, 256),
                   " for dead temporary files: ", error.message());
    }
    return 0;
  }
  const absl::Time cutoff = absl::Now() - min_age;
  int removed = 0;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) break;
    const std::string name = it->path().filename().string();
    if (!absl::StrContains(name, kTemporaryInfix)) continue;
    const std::string path = it->path().string();
    struct stat before {};
    if (lstat(path.c_str(), &before) != 0 || !S_ISREG(before.st_mode)) continue;
    if (absl::TimeFromTimespec(before.st_mtim) > cutoff) continue;  // Maybe not locked yet.
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;  // Renamed or removed meanwhile.
    struct stat locked {};
    // The lock must be ours, and the name must still be the file that was locked.
    if (file::TryLockExclusive(fd) == 0 && fstat(fd, &locked) == 0 &&
        lstat(path.c_str(), &before) == 0 && locked.st_dev == before.st_dev &&
        locked.st_ino == before.st_ino) {
      if (unlink(path.c_str()) == 0) {
        ++removed;
        log::Info("removed ", text::Quote(path, 256), " (", locked.st_size,
                  " bytes), left by a writer that died");
      } else if (errno != ENOENT) {
        log::Warning("cannot remove dead temporary file ", text::Quote(path, 256), ": ",
                     std::strerror(errno));
      }
    }
    close(fd);
  }
  if (error) {
    log::Warning("listing ", text::Quote(dir, 256),
                 " for dead temporary files stopped: ", error.message());
  }
  return removed;
}

}  // namespace ethscan::training

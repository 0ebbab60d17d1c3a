#include "common/file/lock.h"

#include <fcntl.h>

#include <cerrno>

namespace ethscan::file {

int TryLockExclusive(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;  // The whole file.
  lock.l_pid = 0;  // Required for open file description locks.
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0 ? 0 : errno;
}

}  // namespace ethscan::file

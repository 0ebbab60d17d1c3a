// A writer's lock on a temporary file, which a sweep of abandoned files tests: an exclusive
// open file description lock (fcntl F_OFD_SETLK) on the whole file. Unlike flock(2), it also
// holds over NFS, where Linux emulates flock with per-process locks (a sweep in the writer's
// own process would then take a live writer's lock, and its close would drop it); unlike a
// POSIX record lock, it belongs to the open file, so threads of one process exclude each
// other too. The kernel drops it when the last descriptor of the open file closes, however
// the process ends.
#ifndef ETHSCAN_COMMON_FILE_LOCK_H_
#define ETHSCAN_COMMON_FILE_LOCK_H_

namespace ethscan::file {

// Takes the lock on `fd` (open for writing) without waiting. Returns 0, or the errno (EAGAIN
// or EACCES while another open file holds it).
int TryLockExclusive(int fd);

}  // namespace ethscan::file

#endif  // ETHSCAN_COMMON_FILE_LOCK_H_

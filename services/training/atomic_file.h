// Atomic file writes on a volume that several processes share (the model registry's volume is
// mounted by the training server and every worker), and the removal of the temporary files
// their dead writers left.
//
// A writer creates "<path>.tmp-<pid>-<random>" beside `path` and, straight after creating
// it, takes an exclusive open-file-description lock (fcntl F_OFD_SETLK) on it, which it
// holds until the file is renamed onto `path` or removed. The lock dies with its writer,
// whether it returns, crashes or is SIGKILLed, so a temporary file that can be locked has no
// live writer. Open file description locks are used rather than flock(2): on NFS flock is
// emulated with POSIX record locks, which belong to a process, so a sweep running in the
// writer's own process would take the lock and, on closing, release the writer's; an open
// file description lock belongs to one open file on local file systems and NFS alike.
//
// SweepDeadTemporaryFiles removes a temporary file only when it can take that lock without
// waiting and the file is older than a minimum age, which covers the moment between a writer
// creating its file and locking it (and clock skew between hosts on a network volume).
//
// Thread-safety: an AtomicFileWriter is used by one thread; SweepDeadTemporaryFiles is
// thread-safe and may run in any number of processes at once.
#ifndef ETHSCAN_SERVICES_TRAINING_ATOMIC_FILE_H_
#define ETHSCAN_SERVICES_TRAINING_ATOMIC_FILE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ethscan::training {

// The infix of temporary file names: "<path>.tmp-<pid>-<random>".
inline constexpr char kTemporaryInfix[] = ".tmp-";

class AtomicFileWriter {
 public:
  // Creates and locks the temporary file of `path` (whose folder must exist). INTERNAL when
  // the file cannot be created or locked.
  static absl::StatusOr<std::unique_ptr<AtomicFileWriter>> Open(const std::string& path);

  // Removes the temporary file unless Commit succeeded.
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Appends `bytes` to the temporary file. INTERNAL on a write error.
  absl::Status Append(absl::string_view bytes);

  // Flushes the temporary file to disk, renames it onto the target while still holding the
  // lock, syncs the folder and closes the file. INTERNAL on failure (the temporary file is
  // then removed). Call at most once.
  absl::Status Commit();

  const std::string& temp_path() const { return temp_path_; }

 private:
  AtomicFileWriter(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}
  // Closes and removes the temporary file.
  void Discard();

  const std::string path_;
  const std::string temp_path_;
  int fd_;
};

// Writes `bytes` to `path` through an AtomicFileWriter.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes);

// Removes the temporary files (names containing kTemporaryInfix) directly in `dir` whose
// writer is dead (their lock can be taken at once) and whose modification time is more than
// `min_age` ago; a file whose writer lives is never removed, however old. Files that vanish
// or cannot be opened meanwhile are skipped. Returns how many files were removed; problems
// are logged, not returned.
int SweepDeadTemporaryFiles(const std::string& dir, absl::Duration min_age);

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_ATOMIC_FILE_H_

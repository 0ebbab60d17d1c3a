// An output file that appears whole or not at all: written under a unique temporary name in
// the target's directory ("<FILE>.tmp-XXXXXX") and renamed over the target by Commit, so a
// reader never sees half a file and a failed or interrupted run leaves none (the destructor
// removes the temporary file unless Commit succeeded). The file gets the permissions a newly
// created file would (0666 less the umask). Not thread-safe; one writer.
#ifndef ETHSCAN_TOOLS_CLI_ATOMIC_FILE_H_
#define ETHSCAN_TOOLS_CLI_ATOMIC_FILE_H_

#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ethscan::cli {

class AtomicFile {
 public:
  // Creates the temporary file beside `path`. PERMISSION_DENIED, NOT_FOUND (no such
  // directory) or INTERNAL naming the temporary path, with the system's reason. Reads the
  // umask by setting and restoring it, so call it before other threads create files.
  static absl::StatusOr<std::unique_ptr<AtomicFile>> Create(const std::string& path);

  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  // Appends bytes (buffered); a write error is reported by Commit.
  void Append(absl::string_view bytes);
  // Flushes, syncs, closes and renames the file over the target. INTERNAL naming the file
  // and the system's reason when any step (or an earlier Append) failed; the temporary file
  // is removed then. Call at most once.
  absl::Status Commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  AtomicFile(std::string path, std::string temp_path, std::FILE* file)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), file_(file) {}

  const std::string path_;
  const std::string temp_path_;
  std::FILE* file_;
  bool committed_ = false;
  // errno of the first failed Append, 0 when none failed.
  int write_error_ = 0;
};

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_ATOMIC_FILE_H_

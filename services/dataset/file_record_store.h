// RecordStore on the local file system. Layout under the data directory:
//   tmp/upload-XXXXXX/            an upload in progress (writer.lock, records.pb, then
//                                 manifest.json)
//   datasets/<id>/records.pb      length-delimited ethscan.common.v1.AddressRecord messages
//   datasets/<id>/manifest.json   {"records_sha256": "<hex>", "record_count": N, "version": 1}
// A writer fills its tmp directory, fsyncs both files and the directory, and then renames the
// directory to datasets/<id> in one step, so a dataset is either complete or absent. Readers
// verify records.pb against the manifest's SHA-256 before returning any record.
//
// Abandoned uploads: every writer holds an exclusive open file description lock
// (fcntl F_OFD_SETLK) on tmp/upload-XXXXXX/writer.lock
// from just after the directory is made until it commits or aborts, and the kernel drops the
// lock when the process dies, however it dies. The sweep (SweepAbandonedUploads: at Create,
// then every `sweep_interval` on a background thread) removes an upload directory only when it
// can take that lock without waiting, so its writer is gone, and the directory is at least
// `min_abandoned_age` old, which covers the moment between making the directory and locking
// it. A live writer's directory is never removed, however old, so several processes may share
// one data directory (such locks hold between processes and between the threads of one, and on
// Linux over NFS too, unlike flock(2), which NFS emulates with per-process locks).
//
// Thread-safety: thread-safe; uploads use distinct temporary directories.
#ifndef ETHSCAN_SERVICES_DATASET_FILE_RECORD_STORE_H_
#define ETHSCAN_SERVICES_DATASET_FILE_RECORD_STORE_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/dataset/record_store.h"

namespace ethscan::dataset {

struct FileRecordStoreOptions {
  // Root directory; created when missing.
  std::string data_dir = ".ethscan/data/dataset";
  // An upload directory whose writer is gone is removed once its modification time is at
  // least this old (it must cover the moment between mkdtemp and the writer's lock, and
  // clock differences between hosts that share the directory).
  absl::Duration min_abandoned_age = absl::Minutes(1);
  // How often a background thread sweeps tmp/ for abandoned uploads; zero or negative: never
  // (Create still sweeps once).
  absl::Duration sweep_interval = absl::Minutes(1);
};

class FileRecordStore final : public RecordStore {
 public:
  // Creates tmp/ and datasets/ under the data directory, removes the upload directories in
  // tmp/ that dead writers left (see the file comment) and starts the periodic sweep.
  // INVALID_ARGUMENT for an empty path, INTERNAL when the directories cannot be created.
  static absl::StatusOr<std::unique_ptr<FileRecordStore>> Create(
      const FileRecordStoreOptions& options);
  // Stops the periodic sweep (waiting for a sweep in progress). Writers must be gone.
  ~FileRecordStore() override;

  absl::StatusOr<std::unique_ptr<RecordWriter>> NewWriter() override;
  absl::StatusOr<std::unique_ptr<RecordReader>> Open(absl::string_view id) override;
  absl::Status Remove(absl::string_view id) override;

  // Removes every upload directory in tmp/ whose writer is gone and which is at least
  // min_abandoned_age old; returns how many it removed. Safe against writers in this and
  // other processes and against concurrent sweeps.
  int SweepAbandonedUploads();

  // datasets/<id>, for tests and tools.
  std::string DatasetDir(absl::string_view id) const;
  const std::string& tmp_dir() const { return tmp_dir_; }

 private:
  explicit FileRecordStore(const FileRecordStoreOptions& options);
  // The background thread: sweeps every sweep_interval until stop_.
  void SweepLoop();

  const std::string data_dir_;
  const std::string tmp_dir_;
  const std::string datasets_dir_;
  const absl::Duration min_abandoned_age_;
  const absl::Duration sweep_interval_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread sweeper_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_FILE_RECORD_STORE_H_

// RecordStore on the local file system. Layout under the data directory:
//   tmp/upload-XXXXXX/            an upload in progress (records.pb, then manifest.json)
//   datasets/<id>/records.pb      length-delimited ethscan.common.v1.AddressRecord messages
//   datasets/<id>/manifest.json   {"records_sha256": "<hex>", "record_count": N, "version": 1}
// A writer fills its tmp directory, fsyncs both files and the directory, and then renames the
// directory to datasets/<id> in one step, so a dataset is either complete or absent. Readers
// verify records.pb against the manifest's SHA-256 before returning any record.
//
// Thread-safety: thread-safe; uploads use distinct temporary directories.
#ifndef ETHSCAN_SERVICES_DATASET_FILE_RECORD_STORE_H_
#define ETHSCAN_SERVICES_DATASET_FILE_RECORD_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/dataset/record_store.h"

namespace ethscan::dataset {

struct FileRecordStoreOptions {
  // Root directory; created when missing.
  std::string data_dir = ".ethscan/data/dataset";
  // Upload directories in tmp/ untouched for this long are removed by Create.
  absl::Duration stale_upload_age = absl::Hours(1);
};

class FileRecordStore final : public RecordStore {
 public:
  // Creates tmp/ and datasets/ under the data directory and removes upload directories in tmp/
  // that nothing has written to for an hour (left by a process that died mid-upload).
  // INVALID_ARGUMENT for an empty path, INTERNAL when the directories cannot be created.
  static absl::StatusOr<std::unique_ptr<FileRecordStore>> Create(
      const FileRecordStoreOptions& options);

  absl::StatusOr<std::unique_ptr<RecordWriter>> NewWriter() override;
  absl::StatusOr<std::unique_ptr<RecordReader>> Open(absl::string_view id) override;
  absl::Status Remove(absl::string_view id) override;

  // datasets/<id>, for tests and tools.
  std::string DatasetDir(absl::string_view id) const;
  const std::string& tmp_dir() const { return tmp_dir_; }

 private:
  explicit FileRecordStore(std::string data_dir);

  const std::string data_dir_;
  const std::string tmp_dir_;
  const std::string datasets_dir_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_FILE_RECORD_STORE_H_

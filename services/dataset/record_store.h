// Storage of a dataset's canonical records, behind an interface so that the logic can be
// tested against a temporary directory or a fake. Records are written once, while an upload
// streams, and become visible under the dataset id only when committed; a writer that is
// destroyed without Commit leaves nothing behind.
//
// Thread-safety: RecordStore implementations are thread-safe. A RecordWriter or RecordReader
// is used by one thread at a time.
#ifndef ETHSCAN_SERVICES_DATASET_RECORD_STORE_H_
#define ETHSCAN_SERVICES_DATASET_RECORD_STORE_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/common/v1/common.pb.h"

namespace ethscan::dataset {

// Receives records in order. Implemented by RecordWriter; tests may implement it directly.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual absl::Status Write(const common::v1::AddressRecord& record) = 0;
};

// Writes one dataset's records to a temporary place until Commit.
class RecordWriter : public RecordSink {
 public:
  // Aborts when not committed.
  ~RecordWriter() override = default;

  // Makes the written records durable under `id`, atomically. Returns true when records for
  // `id` already existed (identical content: the new ones are discarded), false when they
  // were stored now. The writer cannot be used afterwards.
  virtual absl::StatusOr<bool> Commit(absl::string_view id) = 0;
  // Discards everything written. Idempotent.
  virtual void Abort() = 0;
};

// Reads one dataset's records in the order they were written.
class RecordReader {
 public:
  virtual ~RecordReader() = default;
  // Reads the next record into `record`; false at the end. DATA_LOSS when the file is corrupt.
  virtual absl::StatusOr<bool> Next(common::v1::AddressRecord* record) = 0;
};

// The records of all datasets.
class RecordStore {
 public:
  virtual ~RecordStore() = default;
  // Starts writing a new dataset's records.
  virtual absl::StatusOr<std::unique_ptr<RecordWriter>> NewWriter() = 0;
  // Opens dataset `id` after checking its integrity. NOT_FOUND when no records are stored for
  // it; DATA_LOSS when the records fail their integrity check.
  virtual absl::StatusOr<std::unique_ptr<RecordReader>> Open(absl::string_view id) = 0;
  // Deletes dataset `id`'s records; OK when there were none.
  virtual absl::Status Remove(absl::string_view id) = 0;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_RECORD_STORE_H_

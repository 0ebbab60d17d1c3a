// Client of the dataset service for the training service: dataset metadata and the streamed
// records of a dataset, each call with a deadline. Codes against the generated StubInterface,
// so tests can hand in a mock stub or a stub over an in-process channel.
//
// Thread-safety: thread-safe (gRPC stubs are).
#ifndef ETHSCAN_SERVICES_TRAINING_DATASET_CLIENT_H_
#define ETHSCAN_SERVICES_TRAINING_DATASET_CLIENT_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"

namespace ethscan::training {

class DatasetClient {
 public:
  struct Options {
    // Deadline of GetDataset.
    absl::Duration metadata_deadline = absl::Seconds(5);
    // Deadline of ReadRecords: a base plus a share per record of the dataset.
    absl::Duration read_deadline_base = absl::Minutes(1);
    absl::Duration read_deadline_per_record = absl::Milliseconds(2);
    // Records per streamed message.
    int batch_size = 1000;
  };

  DatasetClient(std::shared_ptr<dataset::v1::DatasetService::StubInterface> stub, Options options)
      : stub_(std::move(stub)), options_(options) {}
  explicit DatasetClient(std::shared_ptr<dataset::v1::DatasetService::StubInterface> stub)
      : DatasetClient(std::move(stub), Options()) {}

  // The dataset's metadata. The dataset service's status, its message prefixed with
  // "dataset service: " (NOT_FOUND for an unknown id, UNAVAILABLE when unreachable).
  absl::StatusOr<dataset::v1::Dataset> GetDataset(absl::string_view id);

  // Streams the records of `dataset` in file order, one batch per call of `on_batch`. When
  // `on_batch` returns an error the call is cancelled and that error is returned.
  absl::Status ReadRecords(
      const dataset::v1::Dataset& dataset,
      const std::function<absl::Status(const dataset::v1::ReadRecordsResponse&)>& on_batch);

  // Deadline of ReadRecords for a dataset of `record_count` records.
  absl::Duration ReadDeadline(uint64_t record_count) const;

 private:
  const std::shared_ptr<dataset::v1::DatasetService::StubInterface> stub_;
  const Options options_;
};

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_DATASET_CLIENT_H_

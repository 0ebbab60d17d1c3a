// Client of the dataset service for the training service: dataset metadata, the streamed
// records of a dataset, and the references that keep a dataset from being deleted while a job
// or model uses it, each call with a deadline. Codes against the generated StubInterface, so
// tests can hand in a mock stub or a stub over an in-process channel.
//
// References: a job holds "job/<job id>" on every dataset it names (training, extra training
// and validation) from CreateJob until it finishes; a published model holds "model/<model
// name>" on the datasets it was trained on until it is deleted.
//
// Thread-safety: thread-safe (gRPC stubs are).
#ifndef ETHSCAN_SERVICES_TRAINING_DATASET_CLIENT_H_
#define ETHSCAN_SERVICES_TRAINING_DATASET_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

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

  // The dataset's OpenAI chat fine-tuning JSONL (ExportDataset, one example per address).
  // FAILED_PRECONDITION when it is over `max_bytes` or an example is over the token limit;
  // the dataset service's status otherwise, prefixed with "dataset service: ".
  absl::StatusOr<std::string> ExportChat(const dataset::v1::Dataset& dataset, uint64_t max_bytes);

  // Deadline of ReadRecords for a dataset of `record_count` records.
  absl::Duration ReadDeadline(uint64_t record_count) const;

  // Records that `holder` uses dataset `id` and returns the dataset. Idempotent. The dataset
  // service's status, prefixed with "dataset service: " (NOT_FOUND for an unknown id).
  absl::StatusOr<dataset::v1::Dataset> AddReference(absl::string_view id, absl::string_view holder);
  // Drops the reference. Idempotent; OK when the dataset no longer exists.
  absl::Status RemoveReference(absl::string_view id, absl::string_view holder);
  // Drops `holder`'s reference on each of `ids`; failures are logged, not returned (for
  // clean-ups after a job or model is gone). False when one could not be dropped.
  bool RemoveReferencesLogged(const std::vector<std::string>& ids, absl::string_view holder);

 private:
  const std::shared_ptr<dataset::v1::DatasetService::StubInterface> stub_;
  const Options options_;
};

// "job/<job id>".
std::string JobHolder(absl::string_view job_id);
// "model/<model name>".
std::string ModelHolder(absl::string_view model_name);

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_DATASET_CLIENT_H_

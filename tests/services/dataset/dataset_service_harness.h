// Test harness: the dataset service wired to a FileRecordStore in a fresh temporary directory
// and an in-memory FakeDatasetIndex, served by common::Server on a free loopback port and
// reached through the server's in-process channel (stub()) or a real TCP connection
// (loopback_stub()). Also a client-side helper that uploads bytes as a metadata message
// followed by chunks.
//
// Thread-safety: one harness per test; the stub may be used from several threads.
#ifndef ETHSCAN_TESTS_SERVICES_DATASET_DATASET_SERVICE_HARNESS_H_
#define ETHSCAN_TESTS_SERVICES_DATASET_DATASET_SERVICE_HARNESS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/grpc/server.h"
#include "common/time/clock.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "services/dataset/dataset_manager.h"
#include "services/dataset/dataset_service.h"
#include "tests/services/dataset/fake_dataset_index.h"

namespace ethscan::dataset {

class DatasetServiceHarness {
 public:
  // Starts the server; the data directory is removed on destruction.
  static absl::StatusOr<std::unique_ptr<DatasetServiceHarness>> Start(
      DatasetManagerOptions options = {});
  // The same, with the server accepting request messages of at most
  // `max_receive_message_bytes`.
  static absl::StatusOr<std::unique_ptr<DatasetServiceHarness>> Start(
      DatasetManagerOptions options, int max_receive_message_bytes);
  ~DatasetServiceHarness();

  v1::DatasetService::Stub& stub() { return *stub_; }
  // A stub over a TCP connection to the server's loopback port.
  v1::DatasetService::Stub& loopback_stub() { return *loopback_stub_; }
  // A new in-process channel to the server, for clients that make their own stubs.
  std::shared_ptr<grpc::Channel> NewChannel();
  FakeDatasetIndex& index() { return *index_; }
  common::FakeClock& clock() { return clock_; }
  const std::string& data_dir() const { return data_dir_; }
  // The server's loopback port.
  int port() const { return server_->port(); }
  // Shuts the server down, waiting for calls in flight to finish.
  void Shutdown();

 private:
  DatasetServiceHarness() = default;

  std::string data_dir_;
  common::FakeClock clock_;
  FakeDatasetIndex* index_ = nullptr;
  std::unique_ptr<DatasetManager> manager_;
  std::unique_ptr<DatasetServiceImpl> service_;
  std::unique_ptr<common::Server> server_;
  std::unique_ptr<v1::DatasetService::Stub> stub_;
  std::unique_ptr<v1::DatasetService::Stub> loopback_stub_;
};

// Streams `data` to UploadDataset as `metadata` plus chunks of `chunk_size` bytes.
grpc::Status UploadBytes(v1::DatasetService::StubInterface& stub,
                         const v1::UploadMetadata& metadata, absl::string_view data,
                         size_t chunk_size, v1::UploadDatasetResponse* response);

// The same for ValidateDataset.
grpc::Status ValidateBytes(v1::DatasetService::StubInterface& stub,
                           const v1::UploadMetadata& metadata, absl::string_view data,
                           size_t chunk_size, v1::ValidateDatasetResponse* response);

}  // namespace ethscan::dataset

#endif  // ETHSCAN_TESTS_SERVICES_DATASET_DATASET_SERVICE_HARNESS_H_

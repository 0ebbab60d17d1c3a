#include "tests/services/dataset/dataset_service_harness.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "services/dataset/file_record_store.h"
#include "tests/testing/test_paths.h"

namespace ethscan::dataset {
namespace {

grpc::Status Stream(std::unique_ptr<grpc::ClientWriterInterface<v1::UploadDatasetRequest>> writer,
                    const v1::UploadMetadata& metadata, absl::string_view data, size_t chunk_size) {
  v1::UploadDatasetRequest request;
  *request.mutable_metadata() = metadata;
  bool open = writer->Write(request);
  for (size_t i = 0; open && i < data.size(); i += chunk_size) {
    request.set_chunk(static_cast<std::string>(data.substr(i, chunk_size)));
    open = writer->Write(request);
  }
  writer->WritesDone();
  return writer->Finish();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DatasetServiceHarness>> DatasetServiceHarness::Start(
    DatasetManagerOptions options) {
  return Start(options, common::ServerOptions().max_receive_message_bytes);
}

absl::StatusOr<std::unique_ptr<DatasetServiceHarness>> DatasetServiceHarness::Start(
    DatasetManagerOptions options, int max_receive_message_bytes) {
  auto harness = std::unique_ptr<DatasetServiceHarness>(new DatasetServiceHarness());
  harness->data_dir_ = ethscan::testing::MakeTempDir("dataset-service");
  absl::StatusOr<std::unique_ptr<FileRecordStore>> store =
      FileRecordStore::Create(FileRecordStoreOptions{harness->data_dir_});
  if (!store.ok()) return store.status();
  auto index = std::make_unique<FakeDatasetIndex>();
  harness->index_ = index.get();
  absl::StatusOr<std::unique_ptr<DatasetManager>> manager =
      DatasetManager::Create(options, std::move(index), *std::move(store), &harness->clock_);
  if (!manager.ok()) return manager.status();
  harness->manager_ = *std::move(manager);
  harness->service_ = std::make_unique<DatasetServiceImpl>(harness->manager_.get());
  common::ServerOptions server_options;
  server_options.listen_address = "127.0.0.1:0";
  server_options.shutdown_deadline = absl::Seconds(5);
  server_options.max_receive_message_bytes = max_receive_message_bytes;
  absl::StatusOr<std::unique_ptr<common::Server>> server =
      common::Server::Start(server_options, {harness->service_.get()});
  if (!server.ok()) return server.status();
  harness->server_ = *std::move(server);
  harness->stub_ = v1::DatasetService::NewStub(
      harness->server_->grpc_server()->InProcessChannel(grpc::ChannelArguments()));
  harness->loopback_stub_ = v1::DatasetService::NewStub(
      common::CreateChannel(absl::StrCat("127.0.0.1:", harness->server_->port())));
  return harness;
}

std::shared_ptr<grpc::Channel> DatasetServiceHarness::NewChannel() {
  return server_->grpc_server()->InProcessChannel(grpc::ChannelArguments());
}

DatasetServiceHarness::~DatasetServiceHarness() {
  Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
}

void DatasetServiceHarness::Shutdown() {
  if (server_ == nullptr) return;
  server_->Shutdown();
  server_->Wait();
}

grpc::Status UploadBytes(v1::DatasetService::StubInterface& stub,
                         const v1::UploadMetadata& metadata, absl::string_view data,
                         size_t chunk_size, v1::UploadDatasetResponse* response) {
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(60));
  return Stream(stub.UploadDataset(&context, response), metadata, data, chunk_size);
}

grpc::Status ValidateBytes(v1::DatasetService::StubInterface& stub,
                           const v1::UploadMetadata& metadata, absl::string_view data,
                           size_t chunk_size, v1::ValidateDatasetResponse* response) {
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(60));
  return Stream(stub.ValidateDataset(&context, response), metadata, data, chunk_size);
}

}  // namespace ethscan::dataset

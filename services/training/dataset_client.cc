#include "services/training/dataset_client.h"

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "common/text/quote.h"

namespace ethscan::training {

absl::StatusOr<dataset::v1::Dataset> DatasetClient::GetDataset(absl::string_view id) {
  grpc::ClientContext context;
  common::SetDeadline(&context, options_.metadata_deadline);
  dataset::v1::GetDatasetRequest request;
  request.set_id(std::string{id});
  dataset::v1::GetDatasetResponse response;
  grpc::Status status = stub_->GetDataset(&context, request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status, "dataset service");
  return response.dataset();
}

absl::Duration DatasetClient::ReadDeadline(uint64_t record_count) const {
  return options_.read_deadline_base +
         options_.read_deadline_per_record * static_cast<int64_t>(record_count);
}

absl::Status DatasetClient::ReadRecords(
    const dataset::v1::Dataset& dataset,
    const std::function<absl::Status(const dataset::v1::ReadRecordsResponse&)>& on_batch) {
  grpc::ClientContext context;
  common::SetDeadline(&context, ReadDeadline(dataset.record_count()));
  dataset::v1::ReadRecordsRequest request;
  request.set_id(dataset.id());
  request.set_batch_size(options_.batch_size);
  std::unique_ptr<grpc::ClientReaderInterface<dataset::v1::ReadRecordsResponse>> reader =
      stub_->ReadRecords(&context, request);
  dataset::v1::ReadRecordsResponse batch;
  absl::Status stopped;
  while (reader->Read(&batch)) {
    stopped = on_batch(batch);
    if (!stopped.ok()) {
      context.TryCancel();
      while (reader->Read(&batch)) {
      }
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!stopped.ok()) return stopped;
  if (!status.ok()) return common::FromGrpcStatus(status, "dataset service");
  return absl::OkStatus();
}

absl::StatusOr<std::string> DatasetClient::ExportChat(const dataset::v1::Dataset& dataset,
                                                      uint64_t max_bytes) {
  grpc::ClientContext context;
  common::SetDeadline(&context, ReadDeadline(dataset.record_count()));
  dataset::v1::ExportDatasetRequest request;
  request.set_id(dataset.id());
  request.set_format(dataset::v1::EXPORT_FORMAT_CHAT_JSONL);
  std::unique_ptr<grpc::ClientReaderInterface<dataset::v1::ExportDatasetResponse>> reader =
      stub_->ExportDataset(&context, request);
  dataset::v1::ExportDatasetResponse chunk;
  std::string out;
  bool too_big = false;
  while (reader->Read(&chunk)) {
    if (out.size() + chunk.chunk().size() > max_bytes) {
      too_big = true;
      context.TryCancel();
      while (reader->Read(&chunk)) {
      }
      break;
    }
    out.append(chunk.chunk());
  }
  grpc::Status status = reader->Finish();
  if (too_big) {
    return absl::FailedPreconditionError(absl::StrCat("the chat export of dataset ",
                                                      text::Quote(dataset.id()), " is over ",
                                                      max_bytes, " bytes"));
  }
  if (!status.ok()) return common::FromGrpcStatus(status, "dataset service");
  return out;
}

absl::StatusOr<dataset::v1::Dataset> DatasetClient::AddReference(absl::string_view id,
                                                                 absl::string_view holder) {
  grpc::ClientContext context;
  common::SetDeadline(&context, options_.metadata_deadline);
  dataset::v1::DatasetReferenceRequest request;
  request.set_id(std::string{id});
  request.set_holder(std::string{holder});
  dataset::v1::DatasetReferenceResponse response;
  grpc::Status status = stub_->AddDatasetReference(&context, request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status, "dataset service");
  return response.dataset();
}

absl::Status DatasetClient::RemoveReference(absl::string_view id, absl::string_view holder) {
  grpc::ClientContext context;
  common::SetDeadline(&context, options_.metadata_deadline);
  dataset::v1::DatasetReferenceRequest request;
  request.set_id(std::string{id});
  request.set_holder(std::string{holder});
  dataset::v1::DatasetReferenceResponse response;
  grpc::Status status = stub_->RemoveDatasetReference(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return absl::OkStatus();
  if (!status.ok()) return common::FromGrpcStatus(status, "dataset service");
  return absl::OkStatus();
}

bool DatasetClient::RemoveReferencesLogged(const std::vector<std::string>& ids,
                                           absl::string_view holder) {
  bool all = true;
  for (const std::string& id : ids) {
    absl::Status status = RemoveReference(id, holder);
    if (!status.ok()) {
      all = false;
      log::Warning("cannot drop the reference of ", text::Quote(holder), " on dataset ",
                   text::Quote(id), ": ", status.message(),
                   " (the dataset cannot be deleted until it is dropped)");
    }
  }
  return all;
}

std::string JobHolder(absl::string_view job_id) { return absl::StrCat("job/", job_id); }

std::string ModelHolder(absl::string_view model_name) { return absl::StrCat("model/", model_name); }

}  // namespace ethscan::training

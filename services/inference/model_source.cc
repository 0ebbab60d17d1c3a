#include "services/inference/model_source.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/eth/hash.h"
#include "common/grpc/channel.h"
#include "common/model/package.h"
#include "common/status/grpc_status.h"
#include "common/text/quote.h"

namespace ethscan::inference {

absl::StatusOr<training::v1::Model> RegistryModelSource::Resolve(const std::string& name_or_alias) {
  grpc::ClientContext context;
  common::SetDeadline(&context, options_.resolve_timeout);
  training::v1::GetModelRequest request;
  request.set_name(name_or_alias);
  training::v1::GetModelResponse response;
  grpc::Status status = stub_->GetModel(&context, request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status, "model registry");
  return response.model();
}

absl::StatusOr<model::v1::ModelPackage> RegistryModelSource::Fetch(
    const training::v1::Model& model) {
  grpc::ClientContext context;
  common::SetDeadline(&context, options_.download_timeout);
  training::v1::DownloadModelRequest request;
  request.set_name(model.name());
  std::unique_ptr<grpc::ClientReaderInterface<training::v1::DownloadModelResponse>> reader =
      stub_->DownloadModel(&context, request);
  std::string bytes;
  training::v1::DownloadModelResponse message;
  while (reader->Read(&message)) {
    if (message.has_chunk()) bytes.append(message.chunk());
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return common::FromGrpcStatus(status, "model registry");
  if (!model.sha256().empty() && eth::Sha256::HexDigest(bytes) != model.sha256()) {
    return absl::DataLossError(absl::StrCat("model ", text::Quote(model.name()),
                                            ": downloaded bytes do not match SHA-256 ",
                                            model.sha256()));
  }
  absl::StatusOr<model::v1::ModelPackage> parsed =
      model::ParsePackage(bytes, absl::StrCat("model ", text::Quote(model.name())));
  if (!parsed.ok()) return parsed.status();
  if (parsed->manifest().name().empty()) parsed->mutable_manifest()->set_name(model.name());
  return parsed;
}

}  // namespace ethscan::inference

#include "services/training/model_registry.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/eth/hash.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/training/paging.h"

namespace ethscan::training {
namespace {

namespace fs = std::filesystem;

constexpr char kModelFile[] = "model.pb";

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Writes `bytes` to `path` through a temporary file in the same folder, fsynced and renamed.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes) {
  absl::BitGen gen;
  std::string temp = absl::StrCat(path, ".tmp-", getpid(), "-", absl::Uniform<uint64_t>(gen));
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", temp);
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status error = ErrnoError("cannot write", temp);
      close(fd);
      unlink(temp.c_str());
      return error;
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    absl::Status error = ErrnoError("cannot flush", temp);
    unlink(temp.c_str());
    return error;
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status error = ErrnoError("cannot rename to", path);
    unlink(temp.c_str());
    return error;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAlias(absl::string_view alias) {
  if (alias.empty()) return absl::InvalidArgumentError("alias is required");
  if (absl::StartsWith(alias, "ft:")) {
    return absl::InvalidArgumentError(
        absl::StrCat("alias \"", alias, "\" looks like a model name (starts with ft:)"));
  }
  if (alias.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("alias \"", alias, "\" is ", alias.size(), " characters; at most 64"));
  }
  for (char c : alias) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "alias \"", alias, "\" may only contain lowercase letters, digits, '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

std::string SanitiseModelName(absl::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      c = '_';
    }
  }
  if (out.empty() || out == "." || out == "..") out = absl::StrCat("_", out);
  return out;
}

std::string SerializeDeterministic(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

absl::StatusOr<std::unique_ptr<ModelRegistry>> ModelRegistry::Create(Options options,
                                                                     ModelStore* store,
                                                                     DatasetClient* datasets) {
  if (store == nullptr || datasets == nullptr) {
    return absl::InvalidArgumentError(
        "the model registry needs a model store and a dataset client");
  }
  std::error_code error;
  fs::create_directories(options.models_dir, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("models_dir \"", options.models_dir,
                                                      "\" cannot be created: ", error.message()));
  }
  return std::unique_ptr<ModelRegistry>(new ModelRegistry(std::move(options), store, datasets));
}

std::string ModelRegistry::ModelPath(absl::string_view name) const {
  return absl::StrCat(options_.models_dir, "/", SanitiseModelName(name), "/", kModelFile);
}

absl::StatusOr<v1::Model> ModelRegistry::Publish(const v1::KnowledgeModel& model) {
  if (model.name().empty()) return absl::InvalidArgumentError("model name is empty");
  const std::string holder = ModelHolder(model.name());
  std::vector<std::string> referenced;
  for (const std::string& id : model.training_datasets()) {
    absl::StatusOr<dataset::v1::Dataset> dataset = datasets_->AddReference(id, holder);
    if (absl::IsNotFound(dataset.status())) {
      log::Warning("model ", model.name(), ": dataset ", id,
                   " no longer exists; the model keeps its knowledge without a reference");
      continue;
    }
    if (!dataset.ok()) {
      if (absl::IsNotFound(store_->Get(model.name()).status())) {
        datasets_->RemoveReferencesLogged(referenced, holder);
      }
      return absl::Status(dataset.status().code(),
                          absl::StrCat("cannot reference dataset \"", id, "\" for model ",
                                       model.name(), ": ", dataset.status().message()));
    }
    referenced.push_back(id);
  }
  absl::StatusOr<v1::Model> published = WriteAndRecord(model);
  if (!published.ok() && absl::IsNotFound(store_->Get(model.name()).status())) {
    datasets_->RemoveReferencesLogged(referenced, holder);
  }
  return published;
}

absl::StatusOr<v1::Model> ModelRegistry::WriteAndRecord(const v1::KnowledgeModel& model) {
  std::string bytes = SerializeDeterministic(model);
  std::string path = ModelPath(model.name());
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create the folder of ", path, ": ", error.message()));
  }
  RETURN_IF_ERROR(WriteFileAtomically(path, bytes));
  v1::Model meta;
  meta.set_name(model.name());
  meta.set_job_id(model.job_id());
  meta.set_base_model(model.base_model());
  for (const std::string& d : model.training_datasets()) meta.add_training_datasets(d);
  meta.set_address_count(static_cast<uint64_t>(model.entries_size()));
  meta.set_size_bytes(bytes.size());
  meta.set_sha256(eth::Sha256::HexDigest(bytes));
  *meta.mutable_create_time() = model.create_time();
  meta.set_kind("knowledge");
  RETURN_IF_ERROR(store_->Put(meta));
  return store_->Get(meta.name());
}

absl::StatusOr<v1::Model> ModelRegistry::Resolve(absl::string_view name_or_alias) {
  if (name_or_alias.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> production, store_->GetAlias(kProductionAlias));
    if (production.has_value()) {
      absl::StatusOr<v1::Model> model = store_->Get(*production);
      if (model.ok() || !absl::IsNotFound(model.status())) return model;
    }
    ASSIGN_OR_RETURN(ModelPage newest, store_->List(0, 1));
    if (newest.models.empty()) return absl::NotFoundError("no model published yet");
    return newest.models.front();
  }
  absl::StatusOr<v1::Model> model = store_->Get(name_or_alias);
  if (model.ok() || !absl::IsNotFound(model.status())) return model;
  ASSIGN_OR_RETURN(std::optional<std::string> target, store_->GetAlias(name_or_alias));
  if (!target.has_value()) {
    return absl::NotFoundError(absl::StrCat("model or alias \"", name_or_alias, "\" not found"));
  }
  return store_->Get(*target);
}

absl::StatusOr<v1::ListModelsResponse> ModelRegistry::List(int32_t page_size,
                                                           absl::string_view page_token) {
  ASSIGN_OR_RETURN(PageRequest page, ParsePage(page_size, page_token));
  ASSIGN_OR_RETURN(ModelPage models, store_->List(page.offset, page.limit));
  v1::ListModelsResponse response;
  for (v1::Model& m : models.models) *response.add_models() = std::move(m);
  response.set_next_page_token(NextPageToken(page, models.total));
  return response;
}

absl::StatusOr<v1::Model> ModelRegistry::SetAlias(absl::string_view alias,
                                                  absl::string_view model) {
  RETURN_IF_ERROR(ValidateAlias(alias));
  if (model.empty()) return absl::InvalidArgumentError("model is required");
  RETURN_IF_ERROR(store_->SetAlias(alias, model));
  return store_->Get(model);
}

absl::Status ModelRegistry::Delete(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("name is required");
  ASSIGN_OR_RETURN(v1::Model model, store_->Get(name));
  const std::string holder = ModelHolder(model.name());
  for (const std::string& id : model.training_datasets()) {
    absl::Status dropped = datasets_->RemoveReference(id, holder);
    if (!dropped.ok()) {
      return absl::Status(
          dropped.code(),
          absl::StrCat("model ", model.name(), " is kept: its reference on dataset \"", id,
                       "\" cannot be dropped: ", dropped.message()));
    }
  }
  RETURN_IF_ERROR(store_->Delete(name));
  std::error_code error;
  fs::remove_all(fs::path(ModelPath(name)).parent_path(), error);
  if (error) log::Warning("model ", name, " deleted, but its files remain: ", error.message());
  return absl::OkStatus();
}

absl::StatusOr<std::string> ModelRegistry::ReadVerified(const v1::Model& model) {
  std::string path = ModelPath(model.name());
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::DataLossError(
        absl::StrCat("model \"", model.name(), "\": file ", path, " is missing"));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string bytes = buffer.str();
  if (bytes.size() != model.size_bytes() || eth::Sha256::HexDigest(bytes) != model.sha256()) {
    return absl::DataLossError(absl::StrCat("model \"", model.name(), "\": file ", path,
                                            " does not match its recorded size and SHA-256"));
  }
  return bytes;
}

absl::StatusOr<v1::KnowledgeModel> ModelRegistry::Load(absl::string_view name_or_alias) {
  ASSIGN_OR_RETURN(v1::Model meta, Resolve(name_or_alias));
  ASSIGN_OR_RETURN(std::string bytes, ReadVerified(meta));
  v1::KnowledgeModel model;
  if (!model.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("model \"", meta.name(), "\" does not parse"));
  }
  return model;
}

}  // namespace ethscan::training

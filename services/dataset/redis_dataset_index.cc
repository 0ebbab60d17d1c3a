#include "services/dataset/redis_dataset_index.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace ethscan::dataset {
namespace {

constexpr char kProtoField[] = "proto";

int64_t CreateTimeMillis(const v1::Dataset& dataset) {
  return dataset.create_time().seconds() * 1000 + dataset.create_time().nanos() / 1000000;
}

absl::StatusOr<v1::Dataset> ParseDataset(absl::string_view id, const std::string& bytes) {
  v1::Dataset dataset;
  if (!dataset.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("metadata of dataset \"", id, "\" is corrupt"));
  }
  return dataset;
}

}  // namespace

RedisDatasetIndex::RedisDatasetIndex(std::shared_ptr<redis::Client> client,
                                     RedisDatasetIndexOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

std::string RedisDatasetIndex::DatasetKey(absl::string_view id) const {
  return absl::StrCat(options_.key_prefix, "dataset:", id);
}

std::string RedisDatasetIndex::AllKey() const {
  return absl::StrCat(options_.key_prefix, "datasets");
}

std::string RedisDatasetIndex::NameKey(absl::string_view name) const {
  return absl::StrCat(options_.key_prefix, "dataset:by-name:", name);
}

absl::Status RedisDatasetIndex::Put(const v1::Dataset& dataset) {
  const std::string score = absl::StrCat(CreateTimeMillis(dataset));
  std::vector<std::vector<std::string>> commands = {
      {"MULTI"},
      {"HSET", DatasetKey(dataset.id()), kProtoField, dataset.SerializeAsString()},
      {"ZADD", AllKey(), score, dataset.id()},
      {"ZADD", NameKey(dataset.name()), score, dataset.id()},
      {"EXEC"},
  };
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, client_->Pipeline(commands));
  const redis::Reply& exec = replies.back();
  if (exec.type != redis::Reply::Type::kArray) {
    return absl::UnavailableError(
        absl::StrCat("redis did not commit the metadata of dataset \"", dataset.id(), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Dataset>> RedisDatasetIndex::Get(absl::string_view id) {
  ASSIGN_OR_RETURN(redis::Reply reply, client_->Command({"HGET", DatasetKey(id), kProtoField}));
  if (reply.is_nil()) return std::optional<v1::Dataset>();
  ASSIGN_OR_RETURN(v1::Dataset dataset, ParseDataset(id, reply.str));
  return std::optional<v1::Dataset>(std::move(dataset));
}

absl::StatusOr<ListPage> RedisDatasetIndex::List(const ListQuery& query) {
  const std::string key = query.name.empty() ? AllKey() : NameKey(query.name);
  // One extra id tells whether another page follows.
  const uint64_t stop = query.offset + query.limit;
  ASSIGN_OR_RETURN(redis::Reply ids, client_->Command({"ZREVRANGE", key, absl::StrCat(query.offset),
                                                       absl::StrCat(stop)}));
  ListPage page;
  if (ids.type != redis::Reply::Type::kArray || ids.elements.empty()) return page;
  size_t count = ids.elements.size();
  if (count > query.limit) {
    page.has_more = true;
    count = query.limit;
  }
  std::vector<std::vector<std::string>> commands;
  for (size_t i = 0; i < count; ++i) {
    commands.push_back({"HGET", DatasetKey(ids.elements[i].str), kProtoField});
  }
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, client_->Pipeline(commands));
  for (size_t i = 0; i < replies.size(); ++i) {
    const std::string& id = ids.elements[i].str;
    if (replies[i].is_nil()) {
      log::Warning("dataset \"", id, "\" is listed but has no metadata; skipped");
      continue;
    }
    ASSIGN_OR_RETURN(v1::Dataset dataset, ParseDataset(id, replies[i].str));
    page.datasets.push_back(std::move(dataset));
  }
  return page;
}

}  // namespace ethscan::dataset

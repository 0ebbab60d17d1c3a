#include "services/dataset/redis_dataset_index.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"

namespace ethscan::dataset {
namespace {

constexpr char kProtoField[] = "proto";

int64_t CreateTimeMillis(const v1::Dataset& dataset) {
  return dataset.create_time().seconds() * 1000 + dataset.create_time().nanos() / 1000000;
}

// KEYS: dataset hash, refs set. ARGV: holder, "add" or "remove". Nil when the dataset is not
// listed, else {proto, {holders…}}.
constexpr char kReferenceScript[] = R"lua(
local proto = redis.call('HGET', KEYS[1], 'proto')
if not proto then return false end
if ARGV[2] == 'add' then
  redis.call('SADD', KEYS[2], ARGV[1])
else
  redis.call('SREM', KEYS[2], ARGV[1])
end
return {proto, redis.call('SMEMBERS', KEYS[2])}
)lua";

// KEYS: dataset hash, listing, name listing, then for each lineage parent its hash and its
// refs set. ARGV: proto, score, id, lineage holder, then the parent ids. {"missing", parent id}
// with nothing written when a parent is not listed, else {"stored"}.
constexpr char kPutScript[] = R"lua(
local parents = (#KEYS - 3) / 2
for j = 1, parents do
  if redis.call('HEXISTS', KEYS[2 + 2 * j], 'proto') == 0 then return {'missing', ARGV[4 + j]} end
end
redis.call('HSET', KEYS[1], 'proto', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
for j = 1, parents do redis.call('SADD', KEYS[3 + 2 * j], ARGV[4]) end
return {'stored'}
)lua";

// KEYS: dataset hash, refs set, listing, name listing, then the refs set of each lineage
// parent. ARGV: id, lineage holder. {"missing"}, {"referenced", {holders…}} or {"deleted"}.
constexpr char kDeleteScript[] = R"lua(
if redis.call('HEXISTS', KEYS[1], 'proto') == 0 then return {'missing'} end
local holders = redis.call('SMEMBERS', KEYS[2])
if #holders > 0 then return {'referenced', holders} end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
for i = 5, #KEYS do redis.call('SREM', KEYS[i], ARGV[2]) end
return {'deleted'}
)lua";

absl::StatusOr<v1::Dataset> ParseDataset(absl::string_view id, const std::string& bytes) {
  v1::Dataset dataset;
  if (!dataset.ParseFromString(bytes)) {
    return absl::DataLossError(
        absl::StrCat("metadata of dataset ", text::Quote(id), " is corrupt"));
  }
  return dataset;
}

// The sorted members of a SMEMBERS reply.
std::vector<std::string> Holders(const redis::Reply& reply) {
  std::vector<std::string> holders;
  for (const redis::Reply& element : reply.elements) holders.push_back(element.str);
  std::sort(holders.begin(), holders.end());
  return holders;
}

// The metadata with its references.
absl::StatusOr<v1::Dataset> WithHolders(absl::string_view id, const std::string& bytes,
                                        const redis::Reply& holders) {
  ASSIGN_OR_RETURN(v1::Dataset dataset, ParseDataset(id, bytes));
  dataset.clear_referenced_by();
  for (std::string& holder : Holders(holders)) dataset.add_referenced_by(std::move(holder));
  return dataset;
}

absl::Status UnexpectedReply(absl::string_view what, absl::string_view id) {
  return absl::InternalError(
      absl::StrCat("redis gave an unexpected reply to ", what, " of dataset ", text::Quote(id)));
}

}  // namespace

RedisDatasetIndex::RedisDatasetIndex(std::shared_ptr<redis::Client> client,
                                     RedisDatasetIndexOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

std::string RedisDatasetIndex::DatasetKey(absl::string_view id) const {
  return absl::StrCat(options_.key_prefix, "dataset:", id);
}

std::string RedisDatasetIndex::RefsKey(absl::string_view id) const {
  return absl::StrCat(options_.key_prefix, "dataset:", id, ":refs");
}

std::string RedisDatasetIndex::AllKey() const {
  return absl::StrCat(options_.key_prefix, "datasets");
}

std::string RedisDatasetIndex::NameKey(absl::string_view name) const {
  return absl::StrCat(options_.key_prefix, "dataset:by-name:", name);
}

absl::Status RedisDatasetIndex::Put(const v1::Dataset& dataset) {
  const std::string& id = dataset.id();
  v1::Dataset stored = dataset;
  stored.clear_referenced_by();
  const std::vector<std::string> parents = LineageParents(dataset);
  std::vector<std::string> command = {
      "EVAL",         kPutScript, absl::StrCat(3 + 2 * parents.size()),
      DatasetKey(id), AllKey(),   NameKey(dataset.name())};
  for (const std::string& parent : parents) {
    command.push_back(DatasetKey(parent));
    command.push_back(RefsKey(parent));
  }
  command.insert(command.end(), {stored.SerializeAsString(),
                                 absl::StrCat(CreateTimeMillis(dataset)), id, LineageHolder(id)});
  command.insert(command.end(), parents.begin(), parents.end());
  ASSIGN_OR_RETURN(redis::Reply reply, client_->Command(command));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.empty()) {
    return UnexpectedReply("storing the metadata", id);
  }
  if (reply.elements[0].str == "missing" && reply.elements.size() == 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("dataset ", text::Quote(reply.elements[1].str), ", which dataset ",
                     text::Quote(id), " is derived from, is no longer listed; nothing stored"));
  }
  if (reply.elements[0].str != "stored") return UnexpectedReply("storing the metadata", id);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Dataset>> RedisDatasetIndex::Get(absl::string_view id) {
  ASSIGN_OR_RETURN(
      std::vector<redis::Reply> replies,
      client_->Pipeline({{"HGET", DatasetKey(id), kProtoField}, {"SMEMBERS", RefsKey(id)}}));
  if (replies.size() != 2) return UnexpectedReply("a lookup", id);
  if (replies[0].is_nil()) return std::optional<v1::Dataset>();
  ASSIGN_OR_RETURN(v1::Dataset dataset, WithHolders(id, replies[0].str, replies[1]));
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
    commands.push_back({"SMEMBERS", RefsKey(ids.elements[i].str)});
  }
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, client_->Pipeline(commands));
  if (replies.size() != 2 * count) return UnexpectedReply("a listing", query.name);
  for (size_t i = 0; i < count; ++i) {
    const std::string& id = ids.elements[i].str;
    const redis::Reply& proto = replies[2 * i];
    if (proto.is_nil()) {
      log::Warning("dataset ", text::Quote(id), " is listed but has no metadata; skipped");
      continue;
    }
    ASSIGN_OR_RETURN(v1::Dataset dataset, WithHolders(id, proto.str, replies[2 * i + 1]));
    page.datasets.push_back(std::move(dataset));
  }
  return page;
}

absl::StatusOr<DeleteOutcome> RedisDatasetIndex::Delete(const v1::Dataset& dataset) {
  const std::string& id = dataset.id();
  const std::vector<std::string> parents = LineageParents(dataset);
  std::vector<std::string> command = {
      "EVAL",      kDeleteScript, absl::StrCat(4 + parents.size()), DatasetKey(id),
      RefsKey(id), AllKey(),      NameKey(dataset.name())};
  for (const std::string& parent : parents) command.push_back(RefsKey(parent));
  command.push_back(id);
  command.push_back(LineageHolder(id));
  ASSIGN_OR_RETURN(redis::Reply reply, client_->Command(command));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.empty()) {
    return UnexpectedReply("a deletion", id);
  }
  DeleteOutcome outcome;
  const std::string& result = reply.elements[0].str;
  if (result == "deleted") {
    outcome.result = DeleteOutcome::Result::kDeleted;
  } else if (result == "missing") {
    outcome.result = DeleteOutcome::Result::kNotFound;
  } else if (result == "referenced" && reply.elements.size() == 2) {
    outcome.result = DeleteOutcome::Result::kReferenced;
    outcome.holders = Holders(reply.elements[1]);
  } else {
    return UnexpectedReply("a deletion", id);
  }
  return outcome;
}

absl::StatusOr<std::optional<v1::Dataset>> RedisDatasetIndex::ChangeReference(
    absl::string_view id, absl::string_view holder, absl::string_view op) {
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"EVAL", kReferenceScript, "2", DatasetKey(id), RefsKey(id),
                                     std::string(holder), std::string(op)}));
  if (reply.is_nil()) return std::optional<v1::Dataset>();
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 2) {
    return UnexpectedReply("a reference change", id);
  }
  ASSIGN_OR_RETURN(v1::Dataset dataset, WithHolders(id, reply.elements[0].str, reply.elements[1]));
  return std::optional<v1::Dataset>(std::move(dataset));
}

absl::StatusOr<std::optional<v1::Dataset>> RedisDatasetIndex::AddReference(
    absl::string_view id, absl::string_view holder) {
  return ChangeReference(id, holder, "add");
}

absl::StatusOr<std::optional<v1::Dataset>> RedisDatasetIndex::RemoveReference(
    absl::string_view id, absl::string_view holder) {
  return ChangeReference(id, holder, "remove");
}

}  // namespace ethscan::dataset

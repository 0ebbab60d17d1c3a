#include "services/training/redis_model_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "services/training/job_store.h"

namespace ethscan::training {
namespace {

// KEYS: model hash, aliases hash. ARGV: alias, model name.
// KEYS: model, claim, job. ARGV: token, ttl (ms), fence state.
// Returns 0 granted, 1 published, 2 fenced, 3 busy.
constexpr char kClaimPublishScript[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if redis.call('HGET', KEYS[3], 'state') ~= ARGV[3] then return 2 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 0
end
return 3
)lua";

// KEYS: claim, model, models zset, job. ARGV: token, model bytes, score, name, fence state.
// Returns 1 stored, 0 claim lost, 2 fenced.
constexpr char kPutClaimedScript[] = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[4], 'state') ~= ARGV[5] then
  redis.call('DEL', KEYS[1])
  return 2
end
redis.call('HSET', KEYS[2], 'model', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('DEL', KEYS[1])
return 1
)lua";

// KEYS: model, aliases, alias history. ARGV: alias, model, history kept.
constexpr char kSetAliasScript[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local before = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if before and before ~= ARGV[2] then
  redis.call('LPUSH', KEYS[3], before)
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
end
return 1
)lua";

// KEYS: aliases, alias history. ARGV: alias, model key prefix. Returns the model pointed at,
// or false when the history has none left.
constexpr char kRollbackAliasScript[] = R"lua(
while true do
  local previous = redis.call('LPOP', KEYS[2])
  if not previous then return false end
  if redis.call('EXISTS', ARGV[2] .. previous) == 1 then
    redis.call('HSET', KEYS[1], ARGV[1], previous)
    return previous
  end
end
)lua";

// Deletes a model or a checkpoint. KEYS: model hash, the zset that lists it ("models" or the
// job's "checkpoints"), aliases hash. ARGV: model name. The zset entry goes even when the hash
// is already gone, so no listing keeps a name without a record.
// With ARGV[2] "refuse", an alias pointing at it keeps it: returns {2, alias}.
constexpr char kDeleteScript[] = R"lua(
local all = redis.call('HGETALL', KEYS[3])
if ARGV[2] == 'refuse' then
  for i = 1, #all, 2 do
    if all[i + 1] == ARGV[1] then return {2, all[i]} end
  end
end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('DEL', KEYS[1]) == 0 then return {0, ''} end
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then redis.call('HDEL', KEYS[3], all[i]) end
end
return {1, ''}
)lua";

absl::Status NotFound(absl::string_view name) {
  return absl::NotFoundError(absl::StrCat("model ", text::Quote(name), " not found"));
}

absl::StatusOr<v1::Model> ParseModel(absl::string_view name, const redis::Reply& reply) {
  if (reply.is_nil()) return NotFound(name);
  v1::Model model;
  if (!model.ParseFromString(reply.str)) {
    return absl::DataLossError(absl::StrCat("stored model ", text::Quote(name), " does not parse"));
  }
  return model;
}

void FillAliases(const std::vector<std::pair<std::string, std::string>>& aliases,
                 v1::Model* model) {
  model->clear_aliases();
  std::vector<std::string> names;
  for (const auto& [alias, target] : aliases) {
    if (target == model->name()) names.push_back(alias);
  }
  std::sort(names.begin(), names.end());
  for (std::string& a : names) model->add_aliases(std::move(a));
}

}  // namespace

absl::Status RedisModelStore::Put(const v1::Model& model) {
  v1::Model stored = model;
  stored.clear_aliases();
  std::string bytes;
  stored.SerializeToString(&bytes);
  const RedisKeys& k = options_.keys;
  return client_
      ->Pipeline(
          {{"MULTI"},
           {"HSET", k.Model(model.name()), "model", bytes},
           {"ZADD", k.Models(),
            absl::StrCat(absl::ToUnixMicros(FromTimestamp(model.create_time()))), model.name()},
           {"EXEC"}})
      .status();
}

absl::StatusOr<PublishClaim> RedisModelStore::ClaimPublish(absl::string_view name,
                                                           const PublishFence& fence,
                                                           absl::string_view token,
                                                           absl::Duration ttl) {
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(
      redis::Reply reply,
      client_->Command({"EVAL", kClaimPublishScript, "3", k.Model(name), k.PublishClaim(name),
                        k.Job(fence.job_id), std::string{token},
                        absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl))),
                        fence.state}));
  switch (reply.integer) {
    case 0:
      return PublishClaim::kGranted;
    case 1:
      return PublishClaim::kPublished;
    case 2:
      return PublishClaim::kFenced;
    default:
      return PublishClaim::kBusy;
  }
}

absl::Status RedisModelStore::PutClaimed(const v1::Model& model, const PublishFence& fence,
                                         absl::string_view token) {
  v1::Model stored = model;
  stored.clear_aliases();
  std::string bytes;
  stored.SerializeToString(&bytes);
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(
      redis::Reply reply,
      client_->Command({"EVAL", kPutClaimedScript, "4", k.PublishClaim(model.name()),
                        k.Model(model.name()), k.Models(), k.Job(fence.job_id), std::string{token},
                        bytes, absl::StrCat(absl::ToUnixMicros(FromTimestamp(model.create_time()))),
                        model.name(), fence.state}));
  if (reply.integer == 1) return absl::OkStatus();
  return absl::AbortedError(
      reply.integer == 2
          ? absl::StrCat("job ", text::Quote(fence.job_id),
                         " changed hands while its model was published")
          : absl::StrCat("the claim to publish ", text::Quote(model.name()), " expired"));
}

absl::Status RedisModelStore::ReleaseClaim(absl::string_view name, absl::string_view token) {
  return client_
      ->Command(
          {"EVAL", kDeleteIfEqualScript, "1", options_.keys.PublishClaim(name), std::string{token}})
      .status();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RedisModelStore::AllAliases() {
  ASSIGN_OR_RETURN(redis::Reply reply, client_->Command({"HGETALL", options_.keys.Aliases()}));
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    out.emplace_back(reply.elements[i].str, reply.elements[i + 1].str);
  }
  return out;
}

absl::StatusOr<v1::Model> RedisModelStore::Get(absl::string_view name) {
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"HGET", options_.keys.Model(name), "model"}));
  ASSIGN_OR_RETURN(v1::Model model, ParseModel(name, reply));
  ASSIGN_OR_RETURN(auto aliases, AllAliases());
  FillAliases(aliases, &model);
  return model;
}

absl::StatusOr<std::optional<std::string>> RedisModelStore::GetAlias(absl::string_view alias) {
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"HGET", options_.keys.Aliases(), std::string{alias}}));
  if (reply.is_nil()) return std::optional<std::string>();
  return std::optional<std::string>(reply.str);
}

absl::StatusOr<ModelPage> RedisModelStore::List(int64_t offset, int64_t limit) {
  ModelPage page;
  if (limit <= 0) return page;
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies,
                   client_->Pipeline({{"ZCARD", k.Models()},
                                      {"ZREVRANGE", k.Models(), absl::StrCat(offset),
                                       absl::StrCat(offset + limit - 1)}}));
  page.total = replies[0].integer;
  std::vector<std::vector<std::string>> gets;
  for (const redis::Reply& name : replies[1].elements) {
    gets.push_back({"HGET", k.Model(name.str), "model"});
  }
  if (gets.empty()) return page;
  ASSIGN_OR_RETURN(std::vector<redis::Reply> models, client_->Pipeline(gets));
  ASSIGN_OR_RETURN(auto aliases, AllAliases());
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i].is_nil()) continue;  // Deleted between the two round trips.
    ASSIGN_OR_RETURN(v1::Model model, ParseModel(replies[1].elements[i].str, models[i]));
    FillAliases(aliases, &model);
    page.models.push_back(std::move(model));
  }
  return page;
}

absl::Status RedisModelStore::SetAlias(absl::string_view alias, absl::string_view name) {
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"EVAL", kSetAliasScript, "3", k.Model(name), k.Aliases(),
                                     k.AliasHistory(alias), std::string{alias}, std::string{name},
                                     absl::StrCat(kAliasHistoryKept)}));
  if (reply.integer == 0) return NotFound(name);
  return absl::OkStatus();
}

absl::Status RedisModelStore::Delete(absl::string_view name) {
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"EVAL", kDeleteScript, "3", k.Model(name), k.Models(),
                                     k.Aliases(), std::string{name}, "refuse"}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 2) {
    return absl::InternalError("redis: unexpected reply to the model delete script");
  }
  if (reply.elements[0].integer == 0) return NotFound(name);
  if (reply.elements[0].integer == 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model ", text::Quote(name), " is kept: alias ", text::Quote(reply.elements[1].str),
        " points at it (move or delete the alias first)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RedisModelStore::RollbackAlias(absl::string_view alias) {
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"EVAL", kRollbackAliasScript, "2", k.Aliases(),
                                     k.AliasHistory(alias), std::string{alias}, k.Model("")}));
  if (reply.is_nil() || reply.type != redis::Reply::Type::kString) {
    return absl::NotFoundError(
        absl::StrCat("alias ", text::Quote(alias), " has no earlier model to go back to"));
  }
  return reply.str;
}

absl::Status RedisModelStore::DeleteAlias(absl::string_view alias) {
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"HDEL", options_.keys.Aliases(), std::string{alias}}));
  if (reply.integer == 0) {
    return absl::NotFoundError(absl::StrCat("alias ", text::Quote(alias), " is not set"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RedisModelStore::AliasHistory(absl::string_view alias) {
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"LRANGE", options_.keys.AliasHistory(alias), "0", "-1"}));
  std::vector<std::string> out;
  for (const redis::Reply& e : reply.elements) out.push_back(e.str);
  return out;
}

absl::Status RedisModelStore::PutCheckpoint(const v1::Model& model, int step) {
  v1::Model stored = model;
  stored.clear_aliases();
  std::string bytes;
  stored.SerializeToString(&bytes);
  const RedisKeys& k = options_.keys;
  return client_
      ->Pipeline({{"MULTI"},
                  {"HSET", k.Model(model.name()), "model", bytes},
                  {"ZADD", k.Checkpoints(model.job_id()), absl::StrCat(step), model.name()},
                  {"EXEC"}})
      .status();
}

absl::StatusOr<std::vector<v1::Model>> RedisModelStore::ListCheckpoints(absl::string_view job_id) {
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(redis::Reply names,
                   client_->Command({"ZRANGE", k.Checkpoints(job_id), "0", "-1"}));
  std::vector<v1::Model> out;
  std::vector<std::vector<std::string>> gets;
  for (const redis::Reply& name : names.elements)
    gets.push_back({"HGET", k.Model(name.str), "model"});
  if (gets.empty()) return out;
  ASSIGN_OR_RETURN(std::vector<redis::Reply> models, client_->Pipeline(gets));
  ASSIGN_OR_RETURN(auto aliases, AllAliases());
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i].is_nil()) continue;  // Deleted meanwhile.
    ASSIGN_OR_RETURN(v1::Model model, ParseModel(names.elements[i].str, models[i]));
    FillAliases(aliases, &model);
    out.push_back(std::move(model));
  }
  return out;
}

absl::Status RedisModelStore::DeleteCheckpoint(absl::string_view job_id, absl::string_view name) {
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"EVAL", kDeleteScript, "3", k.Model(name),
                                     k.Checkpoints(job_id), k.Aliases(), std::string{name}, ""}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.empty() ||
      reply.elements[0].integer == 0) {
    return NotFound(name);
  }
  return absl::OkStatus();
}

}  // namespace ethscan::training

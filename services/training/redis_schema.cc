#include "services/training/redis_schema.h"

#include "absl/strings/str_cat.h"
#include "common/eth/hash.h"

namespace ethscan::training {

std::string RedisKeys::Job(absl::string_view id) const { return absl::StrCat(prefix, "job:", id); }
std::string RedisKeys::Jobs() const { return absl::StrCat(prefix, "jobs"); }
std::string RedisKeys::QueuedJobs() const { return absl::StrCat(prefix, "jobs:queued"); }
std::string RedisKeys::PendingReleases() const {
  return absl::StrCat(prefix, "jobs:pending-releases");
}
std::string RedisKeys::IdempotencyKey(absl::string_view key) const {
  return absl::StrCat(prefix, "idempotency:", eth::Sha256::HexDigest(key));
}
std::string RedisKeys::JobEvents(absl::string_view id) const {
  return absl::StrCat(prefix, "job:", id, ":events");
}
std::string RedisKeys::Queue() const { return absl::StrCat(prefix, "queue"); }
std::string RedisKeys::DeadLetter() const { return absl::StrCat(prefix, "deadletter"); }
std::string RedisKeys::RetrySet() const { return absl::StrCat(prefix, "queue:retry"); }
std::string RedisKeys::Model(absl::string_view name) const {
  return absl::StrCat(prefix, "model:", name);
}
std::string RedisKeys::Models() const { return absl::StrCat(prefix, "models"); }
std::string RedisKeys::PublishClaim(absl::string_view name) const {
  return absl::StrCat(prefix, "publishing:", name);
}
std::string RedisKeys::Aliases() const { return absl::StrCat(prefix, "aliases"); }
std::string RedisKeys::AliasHistory(absl::string_view alias) const {
  return absl::StrCat(prefix, "alias-history:", alias);
}
std::string RedisKeys::Checkpoints(absl::string_view job_id) const {
  return absl::StrCat(prefix, "checkpoints:", job_id);
}

absl::StatusOr<std::vector<StreamEntry>> ParseStreamEntries(const redis::Reply& reply) {
  std::vector<StreamEntry> entries;
  if (reply.is_nil()) return entries;
  if (reply.type != redis::Reply::Type::kArray) {
    return absl::InternalError("redis: stream reply is not an array");
  }
  entries.reserve(reply.elements.size());
  for (const redis::Reply& e : reply.elements) {
    if (e.type != redis::Reply::Type::kArray || e.elements.size() != 2 ||
        e.elements[0].type != redis::Reply::Type::kString) {
      return absl::InternalError("redis: malformed stream entry");
    }
    StreamEntry entry;
    entry.id = e.elements[0].str;
    const redis::Reply& fields = e.elements[1];
    if (fields.type == redis::Reply::Type::kArray) {
      if (fields.elements.size() % 2 != 0) {
        return absl::InternalError(
            absl::StrCat("redis: stream entry ", entry.id, " has an odd number of field elements"));
      }
      for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        entry.fields.emplace_back(fields.elements[i].str, fields.elements[i + 1].str);
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace ethscan::training

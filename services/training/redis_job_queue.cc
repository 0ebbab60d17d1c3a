#include "services/training/redis_job_queue.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace ethscan::training {
namespace {

constexpr char kJobIdField[] = "job_id";

// KEYS: queue, retry set. ARGV: group, entry id, due (ms), job id.
constexpr char kRetryLaterScript[] = R"lua(
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
)lua";

// KEYS: retry set, queue. ARGV: now (ms), at most this many. Returns how many moved.
constexpr char kPromoteScript[] = R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('ZREM', KEYS[1], job)
  redis.call('XADD', KEYS[2], '*', 'job_id', job)
end
return #due
)lua";

QueueEntry ToQueueEntry(const StreamEntry& e) {
  QueueEntry entry;
  entry.entry_id = e.id;
  for (const auto& [field, value] : e.fields) {
    if (field == kJobIdField) entry.job_id = value;
  }
  return entry;
}

}  // namespace

RedisJobQueue::RedisJobQueue(redis::Client* client, redis::Client* blocking, Options options)
    : client_(client), blocking_(blocking), options_(std::move(options)) {}

absl::Status RedisJobQueue::EnsureGroup() {
  // "0": entries enqueued before the group existed are delivered too.
  absl::StatusOr<redis::Reply> reply =
      client_->Command({"XGROUP", "CREATE", options_.keys.Queue(), kWorkersGroup, "0", "MKSTREAM"});
  if (!reply.ok() && absl::StrContains(reply.status().message(), "BUSYGROUP")) {
    return absl::OkStatus();
  }
  return reply.status();
}

absl::StatusOr<std::string> RedisJobQueue::Enqueue(absl::string_view job_id) {
  ASSIGN_OR_RETURN(redis::Reply reply, client_->Command({"XADD", options_.keys.Queue(), "*",
                                                         kJobIdField, std::string{job_id}}));
  return reply.str;
}

absl::StatusOr<std::optional<QueueEntry>> RedisJobQueue::ClaimStale(absl::string_view consumer,
                                                                    absl::Duration min_idle) {
  absl::MutexLock lock(&mu_);
  // A scan looks at a bounded part of the pending list; the cursor walks the rest on later
  // calls and wraps to the start at the end.
  for (int scans = 0; scans < 2; ++scans) {
    ASSIGN_OR_RETURN(
        redis::Reply reply,
        client_->Command({"XAUTOCLAIM", options_.keys.Queue(), kWorkersGroup, std::string{consumer},
                          absl::StrCat(std::max<int64_t>(0, absl::ToInt64Milliseconds(min_idle))),
                          claim_cursor_, "COUNT", "1"}));
    // [next cursor, [entries], [deleted ids] (Redis 7)]
    if (reply.type != redis::Reply::Type::kArray || reply.elements.size() < 2) {
      return absl::InternalError("redis: malformed XAUTOCLAIM reply");
    }
    bool wrapped = claim_cursor_ == "0-0";
    claim_cursor_ = reply.elements[0].str.empty() ? "0-0" : reply.elements[0].str;
    ASSIGN_OR_RETURN(std::vector<StreamEntry> entries, ParseStreamEntries(reply.elements[1]));
    if (!entries.empty()) return std::optional<QueueEntry>(ToQueueEntry(entries.front()));
    if (wrapped && claim_cursor_ == "0-0") break;  // Scanned everything from the start.
  }
  return std::optional<QueueEntry>();
}

absl::StatusOr<std::optional<QueueEntry>> RedisJobQueue::ReadNew(absl::string_view consumer,
                                                                 absl::Duration block) {
  int64_t block_ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(block));
  ASSIGN_OR_RETURN(
      redis::Reply reply,
      blocking_->Command({"XREADGROUP", "GROUP", kWorkersGroup, std::string{consumer}, "COUNT", "1",
                          "BLOCK", absl::StrCat(block_ms), "STREAMS", options_.keys.Queue(), ">"}));
  if (reply.is_nil() || reply.elements.empty()) return std::optional<QueueEntry>();
  const redis::Reply& stream = reply.elements[0];
  if (stream.type != redis::Reply::Type::kArray || stream.elements.size() != 2) {
    return absl::InternalError("redis: malformed XREADGROUP reply");
  }
  ASSIGN_OR_RETURN(std::vector<StreamEntry> entries, ParseStreamEntries(stream.elements[1]));
  if (entries.empty()) return std::optional<QueueEntry>();
  return std::optional<QueueEntry>(ToQueueEntry(entries.front()));
}

absl::Status RedisJobQueue::Heartbeat(absl::string_view consumer, absl::string_view entry_id) {
  return client_
      ->Command({"XCLAIM", options_.keys.Queue(), kWorkersGroup, std::string{consumer}, "0",
                 std::string{entry_id}, "JUSTID"})
      .status();
}

absl::Status RedisJobQueue::Ack(absl::string_view entry_id) {
  return client_
      ->Pipeline({{"XACK", options_.keys.Queue(), kWorkersGroup, std::string{entry_id}},
                  {"XDEL", options_.keys.Queue(), std::string{entry_id}}})
      .status();
}

absl::Status RedisJobQueue::RetryLater(absl::string_view entry_id, absl::string_view job_id,
                                       absl::Time at) {
  return client_
      ->Command({"EVAL", kRetryLaterScript, "2", options_.keys.Queue(), options_.keys.RetrySet(),
                 kWorkersGroup, std::string{entry_id}, absl::StrCat(absl::ToUnixMillis(at)),
                 std::string{job_id}})
      .status();
}

absl::StatusOr<int> RedisJobQueue::PromoteDue(absl::Time now) {
  ASSIGN_OR_RETURN(
      redis::Reply reply,
      client_->Command({"EVAL", kPromoteScript, "2", options_.keys.RetrySet(),
                        options_.keys.Queue(), absl::StrCat(absl::ToUnixMillis(now)), "100"}));
  return static_cast<int>(reply.integer);
}

absl::StatusOr<std::vector<DeadLetterRecord>> RedisJobQueue::ListDeadLetters(
    absl::string_view before, int64_t limit) {
  // XREVRANGE end start: "(" makes `before` exclusive (Redis 6.2).
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"XREVRANGE", options_.keys.DeadLetter(),
                                     before.empty() ? "+" : absl::StrCat("(", before), "-", "COUNT",
                                     absl::StrCat(std::max<int64_t>(1, limit))}));
  ASSIGN_OR_RETURN(std::vector<StreamEntry> entries, ParseStreamEntries(reply));
  std::vector<DeadLetterRecord> out;
  for (const StreamEntry& e : entries) {
    DeadLetterRecord r;
    r.id = e.id;
    for (const auto& [field, value] : e.fields) {
      if (field == kJobIdField) r.job_id = value;
      if (field == "error") r.reason = value;
      if (field == "attempts" && !absl::SimpleAtoi(value, &r.attempts)) r.attempts = 0;
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::Status RedisJobQueue::DeadLetter(absl::string_view job_id, absl::string_view reason,
                                       int attempts) {
  return client_
      ->Command({"XADD", options_.keys.DeadLetter(), "MAXLEN", "~",
                 absl::StrCat(options_.dead_letter_max_len), "*", kJobIdField, std::string{job_id},
                 "error", std::string{reason}, "attempts", absl::StrCat(attempts)})
      .status();
}

}  // namespace ethscan::training

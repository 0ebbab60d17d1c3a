#include "services/training/redis_job_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"

namespace ethscan::training {
namespace {

constexpr absl::string_view kMetricPrefix = "m:";
constexpr absl::string_view kLargestStreamId = "18446744073709551615-18446744073709551615";

// KEYS: job, jobs zset, events. ARGV: job bytes, state, score, id, event fields….
constexpr char kCreateScript[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'job', ARGV[1], 'state', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 5))
return 1
)lua";

// KEYS: job, events, queued zset. ARGV: expected state, job bytes, new state, "1" when the
// job is now queued, its create time, its id, event fields….
// Returns {0} when the job is missing, {1, state} when it changed, {2, event id} when done.
constexpr char kUpdateScript[] = R"lua(
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return {0, ''} end
if current ~= ARGV[1] then return {1, current} end
redis.call('HSET', KEYS[1], 'job', ARGV[2], 'state', ARGV[3])
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
else
  redis.call('ZREM', KEYS[3], ARGV[6])
end
local id = ''
if #ARGV > 6 then id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 7)) end
return {2, id}
)lua";

// KEYS: job, jobs zset, events, queued zset. ARGV: id. Returns 0 when the job is missing.
constexpr char kDeleteScript[] = R"lua(
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
)lua";

absl::Status NotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("job ", text::Quote(id), " not found"));
}

std::string Serialize(const v1::Job& job) {
  std::string bytes;
  job.SerializeToString(&bytes);
  return bytes;
}

absl::StatusOr<v1::Job> ParseJob(absl::string_view id, const redis::Reply& reply) {
  if (reply.is_nil()) return NotFound(id);
  v1::Job job;
  if (!job.ParseFromString(reply.str)) {
    return absl::DataLossError(absl::StrCat("stored job ", text::Quote(id), " does not parse"));
  }
  return job;
}

absl::StatusOr<std::vector<v1::JobEvent>> ParseEvents(const redis::Reply& reply) {
  ASSIGN_OR_RETURN(std::vector<StreamEntry> entries, ParseStreamEntries(reply));
  std::vector<v1::JobEvent> events;
  events.reserve(entries.size());
  for (const StreamEntry& e : entries) events.push_back(EventFromStreamEntry(e));
  return events;
}

}  // namespace

std::vector<std::string> EventFields(const v1::JobEvent& event) {
  std::vector<std::string> fields = {
      "time",    absl::StrCat(absl::ToUnixMicros(FromTimestamp(event.create_time()))),
      "level",   event.level(),
      "message", event.message(),
      "type",    event.type().empty() ? "message" : event.type(),
  };
  if (event.status() != v1::JOB_STATUS_UNSPECIFIED) {
    fields.push_back("status");
    fields.push_back(v1::JobStatus_Name(event.status()));
  }
  if (!event.remote_id().empty()) {
    fields.push_back("remote_id");
    fields.push_back(event.remote_id());
  }
  // Sorted for a stable field order.
  std::vector<std::pair<std::string, double>> metrics(event.metrics().begin(),
                                                      event.metrics().end());
  std::sort(metrics.begin(), metrics.end());
  for (const auto& [name, value] : metrics) {
    fields.push_back(absl::StrCat(kMetricPrefix, name));
    fields.push_back(absl::StrFormat("%.17g", value));
  }
  return fields;
}

v1::JobEvent EventFromStreamEntry(const StreamEntry& entry) {
  v1::JobEvent event;
  event.set_id(entry.id);
  for (const auto& [field, value] : entry.fields) {
    if (field == "time") {
      int64_t micros = 0;
      if (absl::SimpleAtoi(value, &micros)) {
        SetTimestamp(absl::FromUnixMicros(micros), event.mutable_create_time());
      }
    } else if (field == "level") {
      event.set_level(value);
    } else if (field == "message") {
      event.set_message(value);
    } else if (field == "type") {
      event.set_type(value);
    } else if (field == "remote_id") {
      event.set_remote_id(value);
    } else if (field == "status") {
      v1::JobStatus status = v1::JOB_STATUS_UNSPECIFIED;
      if (v1::JobStatus_Parse(value, &status)) event.set_status(status);
    } else if (absl::StartsWith(field, kMetricPrefix)) {
      double number = 0;
      if (absl::SimpleAtod(value, &number)) {
        (*event.mutable_metrics())[field.substr(kMetricPrefix.size())] = number;
      }
    }
  }
  return event;
}

RedisJobStore::RedisJobStore(redis::Client* client, RedisConnector connect, Options options)
    : client_(client), connect_(std::move(connect)), options_(std::move(options)) {}

absl::Status RedisJobStore::Create(const v1::Job& job, const v1::JobEvent& event) {
  const RedisKeys& k = options_.keys;
  std::vector<std::string> args = {
      "EVAL",
      kCreateScript,
      "3",
      k.Job(job.id()),
      k.Jobs(),
      k.JobEvents(job.id()),
      Serialize(job),
      JobState(job),
      absl::StrCat(absl::ToUnixMicros(FromTimestamp(job.create_time()))),
      job.id()};
  for (std::string& f : EventFields(event)) args.push_back(std::move(f));
  ASSIGN_OR_RETURN(redis::Reply reply, client_->Command(args));
  if (reply.integer == 0) {
    return absl::AlreadyExistsError(absl::StrCat("job ", text::Quote(job.id()), " already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Job> RedisJobStore::Get(absl::string_view id) {
  ASSIGN_OR_RETURN(redis::Reply reply, client_->Command({"HGET", options_.keys.Job(id), "job"}));
  return ParseJob(id, reply);
}

absl::Status RedisJobStore::Update(const v1::Job& expected, const v1::Job& job,
                                   const v1::JobEvent* event) {
  const RedisKeys& k = options_.keys;
  std::vector<std::string> args = {
      "EVAL",
      kUpdateScript,
      "3",
      k.Job(job.id()),
      k.JobEvents(job.id()),
      k.QueuedJobs(),
      JobState(expected),
      Serialize(job),
      JobState(job),
      job.status() == v1::JOB_STATUS_QUEUED ? "1" : "0",
      absl::StrCat(absl::ToUnixMicros(FromTimestamp(job.create_time()))),
      job.id()};
  if (event != nullptr) {
    for (std::string& f : EventFields(*event)) args.push_back(std::move(f));
  }
  ASSIGN_OR_RETURN(redis::Reply reply, client_->Command(args));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.empty()) {
    return absl::InternalError("redis: unexpected reply to the job update script");
  }
  switch (reply.elements[0].integer) {
    case 0:
      return NotFound(job.id());
    case 1:
      return absl::AbortedError(absl::StrCat("job ", text::Quote(job.id()),
                                             " changed concurrently (state ",
                                             reply.elements.size() > 1 ? reply.elements[1].str : "",
                                             ", expected ", JobState(expected), ")"));
    default:
      return absl::OkStatus();
  }
}

absl::Status RedisJobStore::Delete(absl::string_view id) {
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"EVAL", kDeleteScript, "4", k.Job(id), k.Jobs(),
                                     k.JobEvents(id), k.QueuedJobs(), std::string{id}}));
  if (reply.integer == 0) return NotFound(id);
  return absl::OkStatus();
}

absl::Status RedisJobStore::AppendEvent(absl::string_view id, const v1::JobEvent& event) {
  std::vector<std::string> args = {"XADD", options_.keys.JobEvents(id), "*"};
  for (std::string& f : EventFields(event)) args.push_back(std::move(f));
  return client_->Command(args).status();
}

absl::Status RedisJobStore::AppendEvents(absl::string_view id,
                                         const std::vector<v1::JobEvent>& events) {
  if (events.empty()) return absl::OkStatus();
  std::vector<std::vector<std::string>> commands;
  commands.reserve(events.size());
  for (const v1::JobEvent& event : events) {
    std::vector<std::string> args = {"XADD", options_.keys.JobEvents(id), "*"};
    for (std::string& f : EventFields(event)) args.push_back(std::move(f));
    commands.push_back(std::move(args));
  }
  return client_->Pipeline(commands).status();
}

absl::StatusOr<std::optional<int64_t>> RedisJobStore::IndexOf(absl::string_view id) {
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"ZREVRANK", options_.keys.Jobs(), std::string{id}}));
  if (reply.is_nil()) return std::optional<int64_t>();
  return std::optional<int64_t>(reply.integer);
}

absl::StatusOr<int64_t> RedisJobStore::QueuePosition(absl::string_view id) {
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"ZRANK", options_.keys.QueuedJobs(), std::string{id}}));
  return reply.is_nil() ? 0 : reply.integer + 1;
}

absl::StatusOr<std::optional<std::string>> RedisJobStore::ReserveIdempotencyKey(
    absl::string_view key, absl::string_view value, absl::Duration ttl) {
  const std::string name = options_.keys.IdempotencyKey(key);
  const std::string ms = absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)));
  // SET NX GET would answer in one round trip but needs Redis 7; a failed SET NX is
  // followed by a GET, and a reservation that expired in between is tried again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(redis::Reply set,
                     client_->Command({"SET", name, std::string{value}, "NX", "PX", ms}));
    if (!set.is_nil()) return std::optional<std::string>();
    ASSIGN_OR_RETURN(redis::Reply held, client_->Command({"GET", name}));
    if (!held.is_nil()) return std::optional<std::string>(held.str);
  }
  return absl::AbortedError("the idempotency key kept changing; try again");
}

absl::Status RedisJobStore::ReleaseIdempotencyKey(absl::string_view key, absl::string_view value) {
  return client_
      ->Command({"EVAL", kDeleteIfEqualScript, "1", options_.keys.IdempotencyKey(key),
                 std::string{value}})
      .status();
}

absl::Status RedisJobStore::AddPendingRelease(absl::string_view job_id) {
  return client_->Command({"SADD", options_.keys.PendingReleases(), std::string{job_id}}).status();
}

absl::StatusOr<std::vector<std::string>> RedisJobStore::PendingReleases(int64_t limit) {
  ASSIGN_OR_RETURN(redis::Reply reply,
                   client_->Command({"SRANDMEMBER", options_.keys.PendingReleases(),
                                     absl::StrCat(std::max<int64_t>(1, limit))}));
  std::vector<std::string> out;
  for (const redis::Reply& e : reply.elements) out.push_back(e.str);
  return out;
}

absl::Status RedisJobStore::RemovePendingRelease(absl::string_view job_id) {
  return client_->Command({"SREM", options_.keys.PendingReleases(), std::string{job_id}}).status();
}

absl::StatusOr<JobPage> RedisJobStore::List(int64_t offset, int64_t limit) {
  JobPage page;
  if (limit <= 0) return page;
  const RedisKeys& k = options_.keys;
  ASSIGN_OR_RETURN(std::vector<redis::Reply> replies,
                   client_->Pipeline({{"ZCARD", k.Jobs()},
                                      {"ZREVRANGE", k.Jobs(), absl::StrCat(offset),
                                       absl::StrCat(offset + limit - 1)}}));
  page.total = replies[0].integer;
  std::vector<std::vector<std::string>> gets;
  for (const redis::Reply& id : replies[1].elements) gets.push_back({"HGET", k.Job(id.str), "job"});
  if (gets.empty()) return page;
  ASSIGN_OR_RETURN(std::vector<redis::Reply> jobs, client_->Pipeline(gets));
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].is_nil()) continue;  // Removed between the two round trips.
    ASSIGN_OR_RETURN(v1::Job job, ParseJob(replies[1].elements[i].str, jobs[i]));
    page.jobs.push_back(std::move(job));
  }
  return page;
}

absl::StatusOr<std::vector<v1::JobEvent>> RedisJobStore::ListEvents(absl::string_view id,
                                                                    absl::string_view after,
                                                                    int64_t limit) {
  if (!after.empty()) RETURN_IF_ERROR(ValidateEventId("after", after));
  // Nothing follows the largest id, and Redis refuses an exclusive range starting there.
  if (after == kLargestStreamId) return std::vector<v1::JobEvent>();
  std::vector<std::string> args = {"XRANGE", options_.keys.JobEvents(id),
                                   after.empty() ? "-" : absl::StrCat("(", after), "+"};
  if (limit > 0) {
    args.push_back("COUNT");
    args.push_back(absl::StrCat(limit));
  }
  ASSIGN_OR_RETURN(redis::Reply reply, client_->Command(args));
  return ParseEvents(reply);
}

absl::StatusOr<std::vector<v1::JobEvent>> RedisJobStore::WaitForEvents(absl::string_view id,
                                                                       absl::string_view after,
                                                                       absl::Duration timeout) {
  if (!after.empty()) RETURN_IF_ERROR(ValidateEventId("after", after));
  ASSIGN_OR_RETURN(std::unique_ptr<redis::Client> connection, TakeBlockingConnection());
  int64_t block_ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout));
  absl::StatusOr<redis::Reply> reply = connection->Command(
      {"XREAD", "COUNT", "100", "BLOCK", absl::StrCat(block_ms), "STREAMS",
       options_.keys.JobEvents(id), after.empty() ? "0-0" : std::string{after}});
  if (!reply.ok()) return reply.status();  // The connection may be broken: drop it.
  ReturnBlockingConnection(std::move(connection));
  if (reply->is_nil() || reply->elements.empty()) return std::vector<v1::JobEvent>();
  // [[stream, entries]]
  const redis::Reply& stream = reply->elements[0];
  if (stream.type != redis::Reply::Type::kArray || stream.elements.size() != 2) {
    return absl::InternalError("redis: malformed XREAD reply");
  }
  return ParseEvents(stream.elements[1]);
}

absl::StatusOr<std::unique_ptr<redis::Client>> RedisJobStore::TakeBlockingConnection() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      std::unique_ptr<redis::Client> client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  return connect_();
}

void RedisJobStore::ReturnBlockingConnection(std::unique_ptr<redis::Client> client) {
  absl::MutexLock lock(&mu_);
  if (idle_.size() < options_.max_idle_blocking_connections) idle_.push_back(std::move(client));
}

}  // namespace ethscan::training

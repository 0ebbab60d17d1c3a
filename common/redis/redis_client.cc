#include "common/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/text/quote.h"

namespace ethscan::redis {
namespace {

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

}  // namespace

Options Options::FromEnv() {
  Options options;
  if (const char* url = std::getenv("REDIS_URL"); url != nullptr && *url != '\0') {
    options.url = url;
  }
  return options;
}

absl::StatusOr<Endpoint> ParseUrl(const std::string& url) {
  constexpr absl::string_view kScheme = "redis://";
  // Messages quote the URL with its password redacted.
  const std::string shown = text::Quote(text::RedactUrl(url), 256);
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("REDIS_URL ", shown, " must start with redis://"));
  }
  absl::string_view rest = absl::string_view(url).substr(kScheme.size());
  Endpoint endpoint;
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view auth = rest.substr(0, at);
    if (size_t colon = auth.find(':'); colon != absl::string_view::npos)
      auth.remove_prefix(colon + 1);
    endpoint.password = std::string(auth);
    rest.remove_prefix(at + 1);
  }
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !absl::SimpleAtoi(db, &endpoint.db)) {
      return absl::InvalidArgumentError(
          absl::StrCat("REDIS_URL ", shown, ": database ", text::Quote(db), " is not a number"));
    }
    rest = rest.substr(0, slash);
  }
  absl::string_view host = rest;
  if (size_t colon = rest.rfind(':'); colon != absl::string_view::npos && rest.back() != ']') {
    host = rest.substr(0, colon);
    if (!absl::SimpleAtoi(rest.substr(colon + 1), &endpoint.port) || endpoint.port <= 0 ||
        endpoint.port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("REDIS_URL ", shown, ": bad port ", text::Quote(rest.substr(colon + 1))));
    }
  }
  if (!host.empty() && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  endpoint.host = host.empty() ? "127.0.0.1" : std::string(host);
  return endpoint;
}

absl::StatusOr<std::unique_ptr<HiredisClient>> HiredisClient::Create(const Options& options) {
  absl::StatusOr<Endpoint> endpoint = ParseUrl(options.url);
  if (!endpoint.ok()) return endpoint.status();
  std::unique_ptr<HiredisClient> client(new HiredisClient(options, *std::move(endpoint)));
  absl::MutexLock lock(&client->mu_);
  absl::Status status = client->ConnectLocked();
  if (!status.ok()) return status;
  return client;
}

absl::StatusOr<std::unique_ptr<HiredisClient>> HiredisClient::CreateLazy(const Options& options) {
  absl::StatusOr<Endpoint> endpoint = ParseUrl(options.url);
  if (!endpoint.ok()) return endpoint.status();
  return std::unique_ptr<HiredisClient>(new HiredisClient(options, *std::move(endpoint)));
}

HiredisClient::~HiredisClient() {
  absl::MutexLock lock(&mu_);
  DropConnectionLocked();
}

absl::Status HiredisClient::ConnectLocked() {
  DropConnectionLocked();
  timeval connect_timeout = absl::ToTimeval(options_.connect_timeout);
  redisContext* context =
      redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, connect_timeout);
  if (context == nullptr || context->err != 0) {
    std::string error = context != nullptr ? context->errstr : "out of memory";
    if (context != nullptr) redisFree(context);
    return absl::UnavailableError(absl::StrCat("cannot connect to redis at ", endpoint_.host, ":",
                                               endpoint_.port, ": ", error));
  }
  timeval command_timeout = absl::ToTimeval(options_.command_timeout);
  redisSetTimeout(context, command_timeout);
  redisEnableKeepAlive(context);
  context_ = context;
  std::vector<std::vector<std::string>> setup;
  if (!endpoint_.password.empty()) setup.push_back({"AUTH", endpoint_.password});
  if (endpoint_.db != 0) setup.push_back({"SELECT", absl::StrCat(endpoint_.db)});
  if (!setup.empty()) {
    absl::StatusOr<std::vector<Reply>> replies = RunLocked(setup);
    if (!replies.ok()) {
      DropConnectionLocked();
      return replies.status();
    }
  }
  return absl::OkStatus();
}

void HiredisClient::DropConnectionLocked() {
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
}

absl::StatusOr<std::vector<Reply>> HiredisClient::RunLocked(
    const std::vector<std::vector<std::string>>& commands) {
  for (const std::vector<std::string>& args : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> argvlen;
    argv.reserve(args.size());
    argvlen.reserve(args.size());
    for (const std::string& a : args) {
      argv.push_back(a.data());
      argvlen.push_back(a.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), argv.data(),
                               argvlen.data()) != REDIS_OK) {
      std::string error = context_->errstr;
      DropConnectionLocked();
      return absl::UnavailableError(absl::StrCat("redis: ", error));
    }
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  absl::Status first_error;
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      std::string error = context_->errstr;
      DropConnectionLocked();
      return absl::UnavailableError(absl::StrCat("redis: ", error.empty() ? "no reply" : error));
    }
    auto* reply = static_cast<redisReply*>(raw);
    if (reply->type == REDIS_REPLY_ERROR && first_error.ok()) {
      absl::string_view error(reply->str, reply->len);
      std::string message = absl::StrCat("redis ", commands[i].front(), ": ", error);
      // A Redis that is still loading its append-only file, or a replica that lost its
      // primary, will answer soon: that is a dependency not yet available, not a bad command.
      first_error = absl::StartsWith(error, "LOADING") || absl::StartsWith(error, "MASTERDOWN")
                        ? absl::UnavailableError(message)
                        : absl::FailedPreconditionError(message);
    }
    replies.push_back(Convert(reply));
    freeReplyObject(reply);
  }
  if (!first_error.ok()) return first_error;
  return replies;
}

absl::StatusOr<Reply> HiredisClient::Command(const std::vector<std::string>& args) {
  absl::StatusOr<std::vector<Reply>> replies = Pipeline({args});
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

absl::StatusOr<std::vector<Reply>> HiredisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return std::vector<Reply>();
  absl::MutexLock lock(&mu_);
  // One reconnect attempt per call: after a Redis restart the first command reconnects and
  // succeeds instead of failing once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (context_ == nullptr) {
      absl::Status status = ConnectLocked();
      if (!status.ok()) return status;
    }
    absl::StatusOr<std::vector<Reply>> replies = RunLocked(commands);
    // Only a broken connection (RunLocked dropped it) is tried again; a reply such as LOADING
    // came over a working one, and running the batch again would repeat its other commands.
    if (replies.ok() || !absl::IsUnavailable(replies.status()) || context_ != nullptr ||
        attempt == 1) {
      return replies;
    }
    log::Warning("redis connection lost (", replies.status().message(), "); reconnecting");
  }
  return absl::UnavailableError("redis: unreachable");
}

absl::Status Ping(Client& client) {
  absl::StatusOr<Reply> reply = client.Command({"PING"});
  if (!reply.ok()) return reply.status();
  return absl::OkStatus();
}

}  // namespace ethscan::redis

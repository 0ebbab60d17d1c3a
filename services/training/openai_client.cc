#include "services/training/openai_client.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/text/quote.h"
#include "nlohmann/json.hpp"

namespace ethscan::training::openai {
namespace {

using nlohmann::json;

// Longest API message kept in a status.
constexpr size_t kMaxMessageChars = 500;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->is_number_integer() ? it->get<int64_t>()
                                 : static_cast<int64_t>(std::llround(it->get<double>()));
}

std::map<std::string, double> Numbers(const json& j) {
  std::map<std::string, double> out;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_number()) out[it.key()] = it.value().get<double>();
  }
  return out;
}

ApiError ErrorFrom(const json& e) {
  ApiError error;
  error.message = Str(e, "message");
  error.type = Str(e, "type");
  error.code = Str(e, "code");
  error.param = Str(e, "param");
  return error;
}

Job JobFrom(const json& j) {
  Job job;
  job.id = Str(j, "id");
  job.status = Str(j, "status");
  job.model = Str(j, "model");
  job.fine_tuned_model = Str(j, "fine_tuned_model");
  job.training_file = Str(j, "training_file");
  job.validation_file = Str(j, "validation_file");
  job.created_at = Int(j, "created_at");
  job.finished_at = Int(j, "finished_at");
  job.estimated_finish = Int(j, "estimated_finish");
  job.trained_tokens = Int(j, "trained_tokens");
  job.seed = Int(j, "seed");
  if (auto e = j.find("error"); e != j.end() && e->is_object() && !Str(*e, "message").empty()) {
    job.error = ErrorFrom(*e);
  }
  const json* hp = nullptr;
  if (auto m = j.find("method"); m != j.end() && m->is_object()) {
    const std::string type = Str(*m, "type");
    if (auto s = m->find(type); !type.empty() && s != m->end() && s->is_object()) {
      if (auto h = s->find("hyperparameters"); h != s->end()) hp = &*h;
    }
  }
  if (hp == nullptr) {
    if (auto h = j.find("hyperparameters"); h != j.end()) hp = &*h;
  }
  if (hp != nullptr) job.hyperparameters = Numbers(*hp);
  if (auto r = j.find("result_files"); r != j.end() && r->is_array()) {
    for (const json& f : *r) {
      if (f.is_string()) job.result_files.push_back(f.get<std::string>());
    }
  }
  if (auto m = j.find("metadata"); m != j.end() && m->is_object()) {
    for (auto it = m->begin(); it != m->end(); ++it) {
      if (it.value().is_string()) job.metadata[it.key()] = it.value().get<std::string>();
    }
  }
  return job;
}

absl::StatusOr<json> ParseJson(const std::string& body, absl::string_view what) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::UnavailableError(
        absl::StrCat(what, ": the answer is not a JSON object: ", text::Quote(body, 120)));
  }
  return j;
}

absl::StatusCode CodeFor(int http_status, absl::string_view api_code) {
  switch (http_status) {
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAborted;
    case 429:
      return api_code == "insufficient_quota" ? absl::StatusCode::kFailedPrecondition
                                              : absl::StatusCode::kResourceExhausted;
    default:
      return http_status >= 500 ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown;
  }
}

// "?" and the query, or "" without parameters.
std::string Query(const std::vector<std::pair<std::string, std::string>>& params) {
  return params.empty() ? "" : absl::StrCat("?", http::QueryString(params));
}

}  // namespace

std::optional<ApiError> ApiErrorOf(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorPayload);
  if (!payload.has_value()) return std::nullopt;
  json j = json::parse(std::string(*payload), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  return ErrorFrom(j);
}

std::optional<absl::Duration> RetryAfter(const http::Response& response, absl::Time now) {
  double value = 0;
  if (std::string ms = response.Header("retry-after-ms");
      !ms.empty() && absl::SimpleAtod(ms, &value) && value >= 0) {
    return absl::Milliseconds(value);
  }
  const std::string after = std::string(absl::StripAsciiWhitespace(response.Header("retry-after")));
  if (after.empty()) return std::nullopt;
  if (absl::SimpleAtod(after, &value) && value >= 0) return absl::Seconds(value);
  // An HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT".
  absl::Time when;
  std::string error;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", after, absl::UTCTimeZone(), &when, &error)) {
    return std::max(absl::ZeroDuration(), when - now);
  }
  return std::nullopt;
}

Client::Client(Options options, http::Client* http)
    : options_(std::move(options)),
      http_(http),
      backoff_(options_.initial_backoff, options_.max_backoff) {}

std::string Client::Endpoint() const { return Redact(text::RedactUrl(options_.base_url)); }

std::string Client::Redact(absl::string_view text) const {
  std::string out(text);
  if (!options_.api_key.empty()) out = absl::StrReplaceAll(out, {{options_.api_key, "***"}});
  // Anything shaped like an OpenAI key: "sk-" and at least 8 key characters.
  std::string result;
  size_t i = 0;
  while (i < out.size()) {
    const size_t at = out.find("sk-", i);
    if (at == std::string::npos) break;
    size_t end = at + 3;
    while (end < out.size() && (absl::ascii_isalnum(out[end]) || out[end] == '-' ||
                                out[end] == '_' || out[end] == '*')) {
      ++end;
    }
    result.append(out, i, at - i);
    result.append(end - at - 3 >= 8 ? "sk-***" : out.substr(at, end - at));
    i = end;
  }
  result.append(out, i, std::string::npos);
  return result;
}

bool Client::Sleep(absl::Duration d) const {
  if (options_.sleep) return options_.sleep(d);
  absl::SleepFor(d);
  return true;
}

absl::Status Client::ErrorStatus(const std::string& what, const http::Response& response) const {
  ApiError error;
  json j = json::parse(response.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    error = ErrorFrom(j["error"]);
  } else if (j.is_object() && j.contains("message")) {
    error = ErrorFrom(j);
  } else {
    // A proxy's HTML page or plain text.
    error.message = std::string(absl::StripAsciiWhitespace(response.body.substr(0, 200)));
  }
  std::string detail;
  if (!error.type.empty()) absl::StrAppend(&detail, " ", error.type);
  std::vector<std::string> extra;
  if (!error.code.empty()) extra.push_back(absl::StrCat("code ", error.code));
  if (!error.param.empty()) extra.push_back(absl::StrCat("param ", error.param));
  if (!extra.empty()) absl::StrAppend(&detail, " (", absl::StrJoin(extra, ", "), ")");
  error.message = text::SingleLine(Redact(error.message), kMaxMessageChars);
  absl::Status status(CodeFor(response.status, error.code),
                      absl::StrCat(what, ": HTTP ", response.status, detail, ": ",
                                   error.message.empty() ? "(no message)" : error.message));
  json payload = {{"message", error.message},
                  {"type", error.type},
                  {"code", error.code},
                  {"param", error.param}};
  status.SetPayload(kErrorPayload, absl::Cord(payload.dump()));
  return status;
}

absl::StatusOr<std::string> Client::Call(const std::string& method, const std::string& path,
                                         const std::string& json_body,
                                         const std::vector<http::FormPart>& form, Retry retry,
                                         absl::Duration timeout) {
  http::Request request;
  request.method = method;
  request.url = absl::StrCat(absl::StripSuffix(options_.base_url, "/"), path);
  request.headers = {{"Authorization", absl::StrCat("Bearer ", options_.api_key)},
                     {"Accept", "application/json"}};
  if (form.empty() && !json_body.empty()) {
    request.headers.push_back({"Content-Type", "application/json"});
    request.body = json_body;
  }
  request.form = form;
  request.timeout = timeout;
  // The path without its query, for messages (a query may carry user metadata).
  const std::string what =
      absl::StrCat(method, " ", path.substr(0, std::min(path.find('?'), path.size())));
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<http::Response> response = http_->Send(request, options_.cancelled);
    std::optional<absl::Duration> wait;
    absl::Status failure;
    if (!response.ok()) {
      if (absl::IsCancelled(response.status())) return response.status();
      failure = absl::Status(
          response.status().code(),
          absl::StrCat(what, " at ", Endpoint(), ": ", Redact(response.status().message())));
      if (retry == Retry::kRateLimitOnly ||
          (!absl::IsUnavailable(failure) && !absl::IsDeadlineExceeded(failure))) {
        return failure;
      }
    } else if (response->status >= 200 && response->status < 300) {
      return std::move(response->body);
    } else {
      failure = ErrorStatus(what, *response);
      const int s = response->status;
      const bool rate_limited = s == 429 && !absl::IsFailedPrecondition(failure);
      const bool repeatable = s == 408 || s == 409 || s >= 500;
      if (!rate_limited && !(retry == Retry::kAll && repeatable)) return failure;
      wait = RetryAfter(*response, absl::Now());
    }
    if (attempt >= options_.max_retries) {
      return absl::Status(failure.code(),
                          absl::StrCat(failure.message(), " (after ", attempt + 1, " tries)"));
    }
    absl::Duration delay =
        wait.has_value() ? std::min(*wait, options_.max_retry_after) : backoff_.Delay(attempt);
    if (!Sleep(delay)) return absl::CancelledError(absl::StrCat(what, ": cancelled"));
  }
}

absl::StatusOr<File> Client::UploadFile(absl::string_view filename, const std::string& content) {
  std::vector<http::FormPart> form = {
      {"purpose", "fine-tune", "", ""},
      {"file", content, std::string(filename), "application/jsonl"},
  };
  absl::StatusOr<std::string> body =
      Call("POST", "/files", "", form, Retry::kAll, options_.upload_timeout);
  if (!body.ok()) return body.status();
  absl::StatusOr<json> j = ParseJson(*body, "POST /files");
  if (!j.ok()) return j.status();
  File file;
  file.id = Str(*j, "id");
  file.bytes = static_cast<uint64_t>(Int(*j, "bytes"));
  file.filename = Str(*j, "filename");
  if (file.id.empty()) return absl::UnavailableError("POST /files: the answer has no file id");
  return file;
}

absl::StatusOr<Job> Client::CreateJob(const CreateJobParams& params) {
  json hp = json::object();
  hp["n_epochs"] = params.n_epochs.has_value() ? json(*params.n_epochs) : json("auto");
  hp["batch_size"] = params.batch_size.has_value() ? json(*params.batch_size) : json("auto");
  hp["learning_rate_multiplier"] = params.learning_rate_multiplier.has_value()
                                       ? json(*params.learning_rate_multiplier)
                                       : json("auto");
  json body = {{"model", params.model},
               {"training_file", params.training_file},
               {"method", {{"type", "supervised"}, {"supervised", {{"hyperparameters", hp}}}}}};
  if (!params.validation_file.empty()) body["validation_file"] = params.validation_file;
  if (!params.suffix.empty()) body["suffix"] = params.suffix;
  if (params.seed.has_value()) body["seed"] = *params.seed;
  if (!params.metadata.empty()) body["metadata"] = params.metadata;
  absl::StatusOr<std::string> answer =
      Call("POST", "/fine_tuning/jobs", body.dump(), {}, Retry::kRateLimitOnly, options_.timeout);
  if (!answer.ok()) return answer.status();
  absl::StatusOr<json> j = ParseJson(*answer, "POST /fine_tuning/jobs");
  if (!j.ok()) return j.status();
  Job job = JobFrom(*j);
  if (job.id.empty()) return absl::UnavailableError("POST /fine_tuning/jobs: the answer has no id");
  return job;
}

absl::StatusOr<Job> Client::GetJob(absl::string_view id) {
  const std::string path = absl::StrCat("/fine_tuning/jobs/", http::UrlEncode(id));
  absl::StatusOr<std::string> answer = Call("GET", path, "", {}, Retry::kAll, options_.timeout);
  if (!answer.ok()) return answer.status();
  absl::StatusOr<json> j = ParseJson(*answer, "GET /fine_tuning/jobs/{id}");
  if (!j.ok()) return j.status();
  return JobFrom(*j);
}

absl::StatusOr<std::optional<Job>> Client::FindJobByMetadata(absl::string_view key,
                                                             absl::string_view value) {
  const std::string path = absl::StrCat(
      "/fine_tuning/jobs",
      Query({{"limit", "10"}, {absl::StrCat("metadata[", key, "]"), std::string(value)}}));
  absl::StatusOr<std::string> answer = Call("GET", path, "", {}, Retry::kAll, options_.timeout);
  if (!answer.ok()) return answer.status();
  absl::StatusOr<json> j = ParseJson(*answer, "GET /fine_tuning/jobs");
  if (!j.ok()) return j.status();
  auto data = j->find("data");
  if (data == j->end() || !data->is_array()) return std::optional<Job>();
  for (const json& item : *data) {
    Job job = JobFrom(item);
    // A server that ignores the filter lists every job: check the metadata here.
    auto it = job.metadata.find(std::string(key));
    if (it != job.metadata.end() && it->second == value) return std::optional<Job>(job);
  }
  return std::optional<Job>();
}

absl::StatusOr<Job> Client::CancelJob(absl::string_view id) {
  const std::string path = absl::StrCat("/fine_tuning/jobs/", http::UrlEncode(id), "/cancel");
  absl::StatusOr<std::string> answer = Call("POST", path, "", {}, Retry::kAll, options_.timeout);
  if (!answer.ok()) return answer.status();
  absl::StatusOr<json> j = ParseJson(*answer, "POST /fine_tuning/jobs/{id}/cancel");
  if (!j.ok()) return j.status();
  return JobFrom(*j);
}

absl::StatusOr<std::vector<Event>> Client::NewEvents(
    absl::string_view job_id, const std::function<bool(const std::string&)>& seen) {
  std::vector<Event> newest_first;
  std::string after;
  // Pages of 100, newest first, back to the last event seen.
  for (int page = 0; page < 1000; ++page) {
    std::vector<std::pair<std::string, std::string>> q = {{"limit", "100"}};
    if (!after.empty()) q.push_back({"after", after});
    const std::string path =
        absl::StrCat("/fine_tuning/jobs/", http::UrlEncode(job_id), "/events", Query(q));
    absl::StatusOr<std::string> answer = Call("GET", path, "", {}, Retry::kAll, options_.timeout);
    if (!answer.ok()) return answer.status();
    absl::StatusOr<json> j = ParseJson(*answer, "GET /fine_tuning/jobs/{id}/events");
    if (!j.ok()) return j.status();
    auto data = j->find("data");
    if (data == j->end() || !data->is_array() || data->empty()) break;
    bool reached = false;
    for (const json& item : *data) {
      Event e;
      e.id = Str(item, "id");
      if (e.id.empty()) continue;
      if (seen(e.id)) {
        reached = true;
        break;
      }
      e.created_at = Int(item, "created_at");
      e.level = Str(item, "level");
      e.message = Str(item, "message");
      e.type = Str(item, "type");
      if (auto d = item.find("data"); d != item.end()) e.data = Numbers(*d);
      after = e.id;
      newest_first.push_back(std::move(e));
    }
    auto more = j->find("has_more");
    if (reached || more == j->end() || !more->is_boolean() || !more->get<bool>()) break;
  }
  std::reverse(newest_first.begin(), newest_first.end());
  return newest_first;
}

absl::StatusOr<std::vector<Checkpoint>> Client::ListCheckpoints(absl::string_view job_id) {
  std::vector<Checkpoint> out;
  std::string after;
  for (int page = 0; page < 100; ++page) {
    std::vector<std::pair<std::string, std::string>> q = {{"limit", "100"}};
    if (!after.empty()) q.push_back({"after", after});
    const std::string path =
        absl::StrCat("/fine_tuning/jobs/", http::UrlEncode(job_id), "/checkpoints", Query(q));
    absl::StatusOr<std::string> answer = Call("GET", path, "", {}, Retry::kAll, options_.timeout);
    if (!answer.ok()) return answer.status();
    absl::StatusOr<json> j = ParseJson(*answer, "GET /fine_tuning/jobs/{id}/checkpoints");
    if (!j.ok()) return j.status();
    auto data = j->find("data");
    if (data == j->end() || !data->is_array() || data->empty()) break;
    for (const json& item : *data) {
      Checkpoint c;
      c.id = Str(item, "id");
      c.model = Str(item, "fine_tuned_model_checkpoint");
      c.step = static_cast<int>(Int(item, "step_number"));
      c.created_at = Int(item, "created_at");
      if (auto m = item.find("metrics"); m != item.end()) c.metrics = Numbers(*m);
      if (!c.id.empty()) after = c.id;
      if (!c.model.empty() && c.step > 0) out.push_back(std::move(c));
    }
    auto more = j->find("has_more");
    if (more == j->end() || !more->is_boolean() || !more->get<bool>()) break;
  }
  std::sort(out.begin(), out.end(),
            [](const Checkpoint& a, const Checkpoint& b) { return a.step < b.step; });
  return out;
}

absl::StatusOr<std::string> Client::FileContent(absl::string_view id) {
  const std::string path = absl::StrCat("/files/", http::UrlEncode(id), "/content");
  return Call("GET", path, "", {}, Retry::kAll, options_.upload_timeout);
}

}  // namespace ethscan::training::openai

// Client of an OpenAI-compatible fine-tuning API (the "openai" backend): files upload
// (POST /files, purpose "fine-tune", multipart), fine-tuning jobs (create, retrieve, list by
// metadata, cancel), their events and checkpoints, and file contents (the results CSV),
// under the base URL the operator configures (OPENAI_BASE_URL, e.g.
// "https://api.openai.com/v1"), authenticated with OPENAI_API_KEY as a bearer token.
//
// Retries: 429 (rate limited) and, for requests that are safe to repeat, 408, 409, 5xx and
// transport failures are retried up to `max_retries` times. The wait honours the server's
// `retry-after-ms` or `retry-after` (seconds or an HTTP date) when it sends one, else it is
// an exponential backoff with jitter (each wait drawn from the upper half of its range).
// A 429 whose code is "insufficient_quota" is not retried: the account is out of quota
// until someone pays. Creating a job is not repeated after a 5xx or a lost connection (the
// job may exist); the caller looks it up by metadata first (FindJobByMetadata).
//
// Errors keep the API's own words: "POST /fine_tuning/jobs: HTTP 400 invalid_request_error
// (code model_not_available, param model): Model … does not exist.", mapped onto a status
// code (400/422 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND,
// 429 RESOURCE_EXHAUSTED, or FAILED_PRECONDITION for insufficient quota, 5xx UNAVAILABLE),
// with the API's code and param in the status payload kErrorPayload (ApiErrorOf reads it).
//
// The key never leaves the Authorization header: every message this client makes has the
// key, and anything that looks like an OpenAI key ("sk-…"), replaced by "***", since APIs
// echo a rejected key in their 401 message.
//
// Thread-safety: thread-safe when the http::Client is.
#ifndef ETHSCAN_SERVICES_TRAINING_OPENAI_CLIENT_H_
#define ETHSCAN_SERVICES_TRAINING_OPENAI_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/time/backoff.h"

namespace ethscan::training::openai {

// The status payload URL under which an API error's code and param travel.
inline constexpr char kErrorPayload[] = "type.ethscan.dev/openai.ApiError";

// An error object as the API writes it ({"error": {"message", "type", "code", "param"}}), or
// the `error` of a failed fine-tuning job.
struct ApiError {
  std::string message;
  std::string type;
  std::string code;
  std::string param;
};

// The code and param an error status carries (kErrorPayload), if any.
std::optional<ApiError> ApiErrorOf(const absl::Status& status);

struct File {
  std::string id;
  uint64_t bytes = 0;
  std::string filename;
};

// A fine-tuning job as the API reports it.
struct Job {
  std::string id;
  // validating_files, queued, running, succeeded, failed, cancelled.
  std::string status;
  std::string model;
  std::string fine_tuned_model;
  std::string training_file;
  std::string validation_file;
  int64_t created_at = 0;
  int64_t finished_at = 0;
  int64_t estimated_finish = 0;
  int64_t trained_tokens = 0;
  int64_t seed = 0;
  // Set when the job failed.
  std::optional<ApiError> error;
  // The hyperparameters it runs with (method.supervised.hyperparameters, else the top-level
  // ones), numbers only ("auto" left out).
  std::map<std::string, double> hyperparameters;
  std::vector<std::string> result_files;
  std::map<std::string, std::string> metadata;

  bool finished() const {
    return status == "succeeded" || status == "failed" || status == "cancelled";
  }
};

// A job event ("message" or "metrics"; a metrics event's numbers in `data`).
struct Event {
  std::string id;
  int64_t created_at = 0;
  std::string level;
  std::string message;
  std::string type;
  std::map<std::string, double> data;
};

struct Checkpoint {
  std::string id;
  // The loadable model name, "ft:…:ckpt-step-N".
  std::string model;
  int step = 0;
  int64_t created_at = 0;
  std::map<std::string, double> metrics;
};

// What CreateJob sends; an unset hyperparameter is sent as "auto".
struct CreateJobParams {
  std::string model;
  std::string training_file;
  std::string validation_file;  // Empty for none.
  std::string suffix;           // Empty for none.
  std::optional<int64_t> seed;
  std::map<std::string, std::string> metadata;
  std::optional<int> n_epochs;
  std::optional<int> batch_size;
  std::optional<double> learning_rate_multiplier;
};

class Client {
 public:
  struct Options {
    // "https://api.openai.com/v1": the paths below are appended to it.
    std::string base_url;
    std::string api_key;
    int max_retries = 4;
    absl::Duration initial_backoff = absl::Milliseconds(500);
    absl::Duration max_backoff = absl::Seconds(20);
    // A longer retry-after than this is cut to it.
    absl::Duration max_retry_after = absl::Seconds(60);
    absl::Duration timeout = absl::Seconds(60);
    absl::Duration upload_timeout = absl::Minutes(10);
    // Waits between retries; returns false when the wait was cut short (the caller is
    // stopping), which ends the call with CANCELLED. Empty: absl::SleepFor.
    std::function<bool(absl::Duration)> sleep;
    // Polled during a transfer; true aborts it with CANCELLED. Empty: never.
    std::function<bool()> cancelled;
  };

  // `http` is not owned.
  Client(Options options, http::Client* http);

  absl::StatusOr<File> UploadFile(absl::string_view filename, const std::string& content);
  absl::StatusOr<Job> CreateJob(const CreateJobParams& params);
  absl::StatusOr<Job> GetJob(absl::string_view id);
  // The newest job whose metadata has `key` = `value`, or nullopt.
  absl::StatusOr<std::optional<Job>> FindJobByMetadata(absl::string_view key,
                                                       absl::string_view value);
  absl::StatusOr<Job> CancelJob(absl::string_view id);
  // The job's events not yet seen, oldest first: pages back from the newest until an event
  // for which `seen` is true (or the first one).
  absl::StatusOr<std::vector<Event>> NewEvents(absl::string_view job_id,
                                               const std::function<bool(const std::string&)>& seen);
  // Every checkpoint the job keeps, lowest step first.
  absl::StatusOr<std::vector<Checkpoint>> ListCheckpoints(absl::string_view job_id);
  // A file's bytes (a job's results CSV).
  absl::StatusOr<std::string> FileContent(absl::string_view id);

  // The base URL, credentials redacted: safe for logs and events.
  std::string Endpoint() const;
  // `text` with the key and anything like an OpenAI key replaced by "***".
  std::string Redact(absl::string_view text) const;

 private:
  enum class Retry { kAll, kRateLimitOnly };
  absl::StatusOr<std::string> Call(const std::string& method, const std::string& path,
                                   const std::string& json_body,
                                   const std::vector<http::FormPart>& form, Retry retry,
                                   absl::Duration timeout);
  absl::Status ErrorStatus(const std::string& what, const http::Response& response) const;
  bool Sleep(absl::Duration d) const;

  const Options options_;
  http::Client* const http_;
  common::Backoff backoff_;
};

// How long a retry-after-ms / retry-after header asks to wait, or nullopt without one.
std::optional<absl::Duration> RetryAfter(const http::Response& response, absl::Time now);

}  // namespace ethscan::training::openai

#endif  // ETHSCAN_SERVICES_TRAINING_OPENAI_CLIENT_H_

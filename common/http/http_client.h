// HTTP requests over libcurl, for the adapters that call outside APIs (the OpenAI-compatible
// fine-tuning backend, block explorers): one request in, the status, headers and body out.
// Retries, rate limits and the meaning of a status are the caller's; this layer only moves
// bytes and turns transport failures into statuses.
//
// Credentials: request headers are never logged or put into a status; a URL in a status is
// redacted (text::RedactUrl).
//
// Thread-safety: CurlHttpClient is thread-safe (each Send uses its own curl handle).
#ifndef ETHSCAN_COMMON_HTTP_HTTP_CLIENT_H_
#define ETHSCAN_COMMON_HTTP_HTTP_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ethscan::http {

// One part of a multipart/form-data body.
struct FormPart {
  std::string name;
  std::string value;
  // Set for a file part: the file name the server sees, and its content type.
  std::string filename;
  std::string content_type;
};

struct Request {
  std::string method = "GET";
  std::string url;
  // Sent as given ("Authorization", "Bearer …").
  std::vector<std::pair<std::string, std::string>> headers;
  // The body of a POST/PUT/PATCH; ignored when `form` is not empty.
  std::string body;
  // A multipart/form-data body, when not empty.
  std::vector<FormPart> form;
  // The whole exchange, and connecting alone.
  absl::Duration timeout = absl::Seconds(60);
  absl::Duration connect_timeout = absl::Seconds(10);
  // A response body over this is a RESOURCE_EXHAUSTED error.
  uint64_t max_response_bytes = uint64_t{256} << 20;
};

struct Response {
  int status = 0;
  // Header names in lower case; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;

  // The header's value, or "" (`name` in lower case).
  std::string Header(absl::string_view name) const;
};

class Client {
 public:
  virtual ~Client() = default;
  // Sends the request and returns the server's answer, whatever its status. Fails with
  // DEADLINE_EXCEEDED when the timeout passed, UNAVAILABLE when the server cannot be reached
  // or the connection broke, CANCELLED when `cancelled` (polled while waiting) returned true,
  // INVALID_ARGUMENT for a malformed request.
  virtual absl::StatusOr<Response> Send(const Request& request,
                                        const std::function<bool()>& cancelled = nullptr) = 0;
};

// Connections (and DNS answers) are kept and reused across calls and threads through one
// curl share; HTTP/2 is used over TLS where the server offers it.
class CurlClient final : public Client {
 public:
  CurlClient();
  ~CurlClient() override;
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  absl::StatusOr<Response> Send(const Request& request,
                                const std::function<bool()>& cancelled = nullptr) override;

 private:
  struct Share;
  std::unique_ptr<Share> share_;
};

// Gives `request` `timeout`, cut to what is left before `deadline`, and a connect timeout of
// at most 5 s of that; false (nothing changed) when the deadline has passed.
bool FitToDeadline(absl::Duration timeout, absl::Time deadline, Request* request);

// "scheme://host[:port]" of `url` with credentials redacted, for messages.
std::string Origin(absl::string_view url);

// A query string component, percent-encoded (RFC 3986 unreserved characters kept).
std::string UrlEncode(absl::string_view text);

// "name=value&name=value", each part percent-encoded (no leading "?").
std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace ethscan::http

#endif  // ETHSCAN_COMMON_HTTP_HTTP_CLIENT_H_

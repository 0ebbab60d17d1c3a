#include "common/http/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/text/quote.h"

namespace ethscan::http {
namespace {

struct Transfer {
  Response response;
  uint64_t max_bytes = 0;
  bool too_big = false;
  const std::function<bool()>* cancelled = nullptr;
  bool was_cancelled = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->response.body.size() + n > t->max_bytes) {
    t->too_big = true;
    return 0;  // Aborts the transfer.
  }
  t->response.body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    t->response.headers.clear();  // A new response (after a redirect or a 100 Continue).
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)));
  t->response.headers[name] = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancelled != nullptr && *t->cancelled && (*t->cancelled)()) {
    t->was_cancelled = true;
    return 1;  // Aborts the transfer.
  }
  return 0;
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};
struct MimeDeleter {
  void operator()(curl_mime* m) const { curl_mime_free(m); }
};

long Millis(absl::Duration d) { return static_cast<long>(absl::ToInt64Milliseconds(d)); }

}  // namespace

std::string Response::Header(absl::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? "" : it->second;
}

// The curl share of one client: its connection and DNS caches, each behind a mutex.
struct CurlClient::Share {
  CURLSH* handle = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Share*>(user)->locks[data].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Share*>(user)->locks[data].unlock();
  }
};

CurlClient::CurlClient() : share_(std::make_unique<Share>()) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  share_->handle = curl_share_init();
  if (share_->handle != nullptr) {
    curl_share_setopt(share_->handle, CURLSHOPT_LOCKFUNC, &Share::Lock);
    curl_share_setopt(share_->handle, CURLSHOPT_UNLOCKFUNC, &Share::Unlock);
    curl_share_setopt(share_->handle, CURLSHOPT_USERDATA, share_.get());
    curl_share_setopt(share_->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share_->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  }
}

CurlClient::~CurlClient() {
  if (share_->handle != nullptr) curl_share_cleanup(share_->handle);
}

absl::StatusOr<Response> CurlClient::Send(const Request& request,
                                          const std::function<bool()>& cancelled) {
  if (!absl::StartsWith(request.url, "http://") && !absl::StartsWith(request.url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL ", text::Quote(text::RedactUrl(request.url)), " is not http(s)"));
  }
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (curl == nullptr) return absl::InternalError("cannot start a curl transfer");
  CURL* c = curl.get();
  Transfer transfer;
  transfer.max_bytes = request.max_response_bytes;
  transfer.cancelled = &cancelled;

  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // No SIGALRM from the resolver in threads.
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, Millis(request.timeout));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, Millis(request.connect_timeout));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // Every encoding curl decodes.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  if (share_->handle != nullptr) curl_easy_setopt(c, CURLOPT_SHARE, share_->handle);

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  curl_slist* list = nullptr;
  for (const auto& [name, value] : request.headers) {
    list = curl_slist_append(list, absl::StrCat(name, ": ", value).c_str());
  }
  // No "Expect: 100-continue" round trip before an upload.
  list = curl_slist_append(list, "Expect:");
  headers.reset(list);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);

  std::unique_ptr<curl_mime, MimeDeleter> mime;
  if (!request.form.empty()) {
    mime.reset(curl_mime_init(c));
    for (const FormPart& p : request.form) {
      curl_mimepart* part = curl_mime_addpart(mime.get());
      curl_mime_name(part, p.name.c_str());
      curl_mime_data(part, p.value.data(), p.value.size());
      if (!p.filename.empty()) curl_mime_filename(part, p.filename.c_str());
      if (!p.content_type.empty()) curl_mime_type(part, p.content_type.c_str());
    }
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime.get());
  } else if (request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  if (request.method != "GET" && request.method != "POST") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method == "POST" && request.form.empty() && request.body.empty()) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  }

  const CURLcode code = curl_easy_perform(c);
  const std::string where = absl::StrCat(request.method, " ", Origin(request.url));
  if (transfer.was_cancelled) {
    return absl::CancelledError(absl::StrCat(where, ": cancelled"));
  }
  if (transfer.too_big) {
    return absl::ResourceExhaustedError(
        absl::StrCat(where, ": the response is over ", request.max_response_bytes, " bytes"));
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(
        absl::StrCat(where, ": no answer within ", absl::FormatDuration(request.timeout)));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(where, ": ", curl_easy_strerror(code)));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  transfer.response.status = static_cast<int>(status);
  return std::move(transfer.response);
}

bool FitToDeadline(absl::Duration timeout, absl::Time deadline, Request* request) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return false;
  request->timeout = std::min(timeout, left);
  request->connect_timeout = std::min(request->timeout, absl::Seconds(5));
  return true;
}

std::string Origin(absl::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == absl::string_view::npos) return text::RedactUrl(url);
  const size_t path = url.find_first_of("/?#", scheme + 3);
  return text::RedactUrl(url.substr(0, path));
}

std::string UrlEncode(absl::string_view text) {
  std::string out;
  for (unsigned char ch : text) {
    if (absl::ascii_isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", ch);
    }
  }
  return out;
}

std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    absl::StrAppend(&out, out.empty() ? "" : "&", UrlEncode(name), "=", UrlEncode(value));
  }
  return out;
}

}  // namespace ethscan::http

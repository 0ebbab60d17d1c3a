// Safe quoting of untrusted text for log lines and error messages: control characters,
// quotes, backslashes and bytes that are not UTF-8 are escaped, and long input is cut to a
// few characters with an ellipsis and its full size, so that a client's string can neither
// forge a log line nor blow up a status message. Credentials in URLs are redacted.
#ifndef ETHSCAN_COMMON_TEXT_QUOTE_H_
#define ETHSCAN_COMMON_TEXT_QUOTE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace ethscan::text {

// How many characters of user input an error message or a log line quotes by default.
inline constexpr size_t kDefaultQuoteChars = 64;

// `text` made printable on one line: \n, \r, \t, \", \\ and other control bytes as \xNN,
// bytes that are not part of well-formed UTF-8 as \xNN. When `text` has more than
// `max_chars` characters (UTF-8 code points), the first `max_chars` are kept, followed by
// "…" and the full size, e.g. `abc… (5242880 bytes)`. Well-formed non-ASCII UTF-8 is kept.
// Characters (UTF-8 code points, counting a stray byte as one) in `text`.
size_t CountChars(absl::string_view text);

std::string Escape(absl::string_view text, size_t max_chars = kDefaultQuoteChars);

// Escape(text, max_chars) between double quotes: `"abc"`, `"abc…" (5242880 bytes)`.
std::string Quote(absl::string_view text, size_t max_chars = kDefaultQuoteChars);

// Like Escape, but '"' and '\\' are kept: for whole messages that already quote their parts
// (a log line, a status message), so that nothing in them can start a new line.
std::string SingleLine(absl::string_view text, size_t max_chars);

// `url` with the password of its user information and the values of credential-like query
// parameters (key, apikey, api_key, token, access_token, password, secret, auth) replaced by
// "***": "redis://:SECRET@host:6379" -> "redis://:***@host:6379". A user name without a
// password is redacted too ("https://TOKEN@host" -> "https://***@host"), since many services
// put the secret there. Text that is not a URL is returned unchanged.
std::string RedactUrl(absl::string_view url);

}  // namespace ethscan::text

#endif  // ETHSCAN_COMMON_TEXT_QUOTE_H_

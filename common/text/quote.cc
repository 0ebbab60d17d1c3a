#include "common/text/quote.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace ethscan::text {

size_t CountChars(absl::string_view text) {
  size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}
namespace {

// The length of the well-formed UTF-8 sequence at the start of `s` (2 to 4 bytes), or 0 when
// it does not start with one (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
size_t MultiByteLength(absl::string_view s) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  const uint8_t c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void AppendEscapedByte(std::string* out, unsigned char c) {
  switch (c) {
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    default:
      absl::StrAppendFormat(out, "\\x%02X", c);
  }
}

bool IsCredentialParameter(absl::string_view name) {
  static constexpr absl::string_view kNames[] = {"key",    "apikey",       "api_key",  "api-key",
                                                 "token",  "access_token", "password", "pass",
                                                 "secret", "auth",         "sig",      "signature"};
  for (absl::string_view known : kNames) {
    if (absl::EqualsIgnoreCase(name, known)) return true;
  }
  return false;
}

// Appends the escaped form of at most `max_chars` characters of `text` to `out`; returns
// whether characters were left out.
// With `quotes` false, '"' and '\\' are kept as they are.
bool AppendEscaped(absl::string_view text, size_t max_chars, bool quotes, std::string* out) {
  out->reserve(out->size() + std::min(text.size(), max_chars) + 8);
  size_t chars = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (chars == max_chars) return true;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && (!quotes || (c != '"' && c != '\\'))) {
      out->push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x80) {
      AppendEscapedByte(out, c);
      ++i;
    } else if (size_t n = MultiByteLength(text.substr(i)); n > 0) {
      // U+0080..U+009F (C1 controls) and the line and paragraph separators break lines in
      // some viewers: escape them too.
      const auto at = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
      const bool c1 = c == 0xC2 && at(1) < 0xA0;
      const bool separator =
          n == 3 && c == 0xE2 && at(1) == 0x80 && (at(2) == 0xA8 || at(2) == 0xA9);
      if (c1 || separator) {
        for (size_t k = 0; k < n; ++k) AppendEscapedByte(out, at(k));
      } else {
        out->append(text.data() + i, n);
      }
      i += n;
    } else {
      AppendEscapedByte(out, c);
      ++i;
    }
    ++chars;
  }
  return false;
}

constexpr absl::string_view kEllipsis = "\xE2\x80\xA6";

}  // namespace

std::string Escape(absl::string_view text, size_t max_chars) {
  std::string out;
  if (AppendEscaped(text, max_chars, /*quotes=*/true, &out)) {
    absl::StrAppend(&out, kEllipsis, " (", text.size(), " bytes)");
  }
  return out;
}

std::string Quote(absl::string_view text, size_t max_chars) {
  std::string out = "\"";
  const bool cut = AppendEscaped(text, max_chars, /*quotes=*/true, &out);
  if (cut) out.append(kEllipsis.data(), kEllipsis.size());
  out.push_back('"');
  if (cut) absl::StrAppend(&out, " (", text.size(), " bytes)");
  return out;
}

std::string SingleLine(absl::string_view text, size_t max_chars) {
  std::string out;
  if (AppendEscaped(text, max_chars, /*quotes=*/false, &out)) {
    absl::StrAppend(&out, kEllipsis, " (", text.size(), " bytes)");
  }
  return out;
}

std::string RedactUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return std::string(url);
  std::string out(url.substr(0, scheme_end + 3));
  absl::string_view rest = url.substr(scheme_end + 3);
  // User information ends at the last '@' before any query or fragment: a password may hold
  // '/' (parsers that take the last '@' accept it), so the authority is not cut at '/' first.
  const absl::string_view before_query = rest.substr(0, rest.find_first_of("?#"));
  if (size_t at = before_query.rfind('@'); at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    if (size_t colon = userinfo.find(':'); colon != absl::string_view::npos) {
      absl::StrAppend(&out, userinfo.substr(0, colon), ":***");
    } else {
      out.append("***");
    }
    out.push_back('@');
    rest.remove_prefix(at + 1);
  }
  // The host ends at the first '/', '?' or '#'.
  const size_t host_end = rest.find_first_of("/?#");
  out.append(rest.data(), host_end == absl::string_view::npos ? rest.size() : host_end);
  absl::string_view tail =
      host_end == absl::string_view::npos ? absl::string_view() : rest.substr(host_end);
  const size_t query = tail.find('?');
  if (query == absl::string_view::npos) {
    out.append(tail.data(), tail.size());
    return out;
  }
  out.append(tail.data(), query + 1);
  absl::string_view params = tail.substr(query + 1);
  absl::string_view fragment;
  if (size_t hash = params.find('#'); hash != absl::string_view::npos) {
    fragment = params.substr(hash);
    params = params.substr(0, hash);
  }
  bool first = true;
  for (absl::string_view param : absl::StrSplit(params, '&')) {
    if (!first) out.push_back('&');
    first = false;
    const size_t eq = param.find('=');
    if (eq != absl::string_view::npos && IsCredentialParameter(param.substr(0, eq))) {
      absl::StrAppend(&out, param.substr(0, eq), "=***");
    } else {
      out.append(param.data(), param.size());
    }
  }
  out.append(fragment.data(), fragment.size());
  return out;
}

}  // namespace ethscan::text

#include "common/log/log.h"

#include <cstdio>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/text/quote.h"

namespace ethscan::log {
namespace {

// The longest message one log line carries, in characters.
constexpr size_t kMaxMessageChars = 8192;

absl::Mutex& LogMutex() {
  static absl::Mutex* mu = new absl::Mutex();
  return *mu;
}

std::string& Component() {
  static std::string* component = new std::string("ethscan");
  return *component;
}

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "I";
    case Severity::kWarning:
      return "W";
    case Severity::kError:
      return "E";
  }
  return "?";
}

}  // namespace

void SetComponent(absl::string_view component) {
  absl::MutexLock lock(&LogMutex());
  Component() = std::string(component);
}

void Write(Severity severity, absl::string_view message) {
  std::string line =
      absl::StrCat(SeverityName(severity), " ",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ");
  absl::MutexLock lock(&LogMutex());
  // Whatever a caller passes, one call writes one line: control characters and bytes that are
  // not UTF-8 are escaped, and the message is capped.
  absl::StrAppend(&line, Component(), "] ", text::SingleLine(message, kMaxMessageChars), "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace ethscan::log

// A thin, thread-safe logger writing one timestamped line per call to stderr, until
// absl/log is available in the toolchain.
#ifndef ETHSCAN_COMMON_LOG_LOG_H_
#define ETHSCAN_COMMON_LOG_LOG_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ethscan::log {

enum class Severity { kInfo, kWarning, kError };

// Sets the component name printed on every line ("dataset", "training-worker", …).
void SetComponent(absl::string_view component);

// Writes one line. Control characters and bytes that are not UTF-8 in `message` are escaped
// and a message over 8192 characters is cut, so no input can forge a second line; quote
// user-supplied parts with text::Quote all the same, which also caps each at a few dozen
// characters. Safe to call from any thread.
void Write(Severity severity, absl::string_view message);

template <typename... Args>
void Info(const Args&... args) {
  Write(Severity::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void Warning(const Args&... args) {
  Write(Severity::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void Error(const Args&... args) {
  Write(Severity::kError, absl::StrCat(args...));
}

}  // namespace ethscan::log

#endif  // ETHSCAN_COMMON_LOG_LOG_H_

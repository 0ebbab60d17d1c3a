#include "services/training/job_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/text/quote.h"

namespace ethscan::training {

bool IsFinished(v1::JobStatus status) {
  return status == v1::JOB_STATUS_SUCCEEDED || status == v1::JOB_STATUS_FAILED ||
         status == v1::JOB_STATUS_CANCELLED;
}

std::string StatusWord(v1::JobStatus status) {
  std::string name = v1::JobStatus_Name(status);
  constexpr absl::string_view kPrefix = "JOB_STATUS_";
  if (absl::StartsWith(name, kPrefix)) name = name.substr(kPrefix.size());
  return absl::AsciiStrToLower(name);
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  int64_t micros = absl::ToUnixMicros(time);
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string JobState(const v1::Job& job) {
  return absl::StrCat(static_cast<int>(job.status()), ":", job.attempts());
}

namespace {

// True when `s` is a decimal number without leading zeros whose value fits in a uint64.
bool IsUint64(absl::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  uint64_t value = 0;
  return absl::SimpleAtoi(s, &value);
}

}  // namespace

absl::Status ValidateEventId(absl::string_view field, absl::string_view id) {
  size_t dash = id.find('-');
  if (dash != absl::string_view::npos && IsUint64(id.substr(0, dash)) &&
      IsUint64(id.substr(dash + 1))) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, " ", text::Quote(id),
      " is not an event id: need <ms>-<seq>, two decimal numbers below 2^64 without leading "
      "zeros, like 1700000000000-0"));
}

v1::JobEvent MessageEvent(absl::Time time, absl::string_view level, absl::string_view message,
                          v1::JobStatus status) {
  v1::JobEvent event;
  SetTimestamp(time, event.mutable_create_time());
  event.set_level(std::string{level});
  event.set_message(std::string{message});
  event.set_status(status);
  event.set_type("message");
  return event;
}

}  // namespace ethscan::training

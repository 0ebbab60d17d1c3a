#include "services/training/job_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

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

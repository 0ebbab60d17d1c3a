#include "tools/cli/upload_progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/cli/output.h"

namespace ethscan::cli {
namespace {

// "0:07", "1:05:09".
std::string FormatClock(int64_t seconds) {
  if (seconds >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
  }
  return absl::StrFormat("%d:%02d", seconds / 60, seconds % 60);
}

}  // namespace

std::string FormatByteRate(uint64_t bytes, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  if (seconds <= 0) return "- MB/s";
  return absl::StrFormat("%.1f MB/s", static_cast<double>(bytes) / 1e6 / seconds);
}

UploadProgress::UploadProgress(std::ostream& out, const common::Clock& clock, uint64_t total_bytes,
                               Options options)
    : out_(out), clock_(clock), total_bytes_(total_bytes), options_(options), start_(clock.Now()) {}

std::string UploadProgress::Line(uint64_t bytes_sent, absl::Duration elapsed, bool all_sent) const {
  std::string line;
  if (total_bytes_ > 0) {
    const double fraction =
        std::min(1.0, static_cast<double>(bytes_sent) / static_cast<double>(total_bytes_));
    const int width = std::max(1, options_.bar_width);
    const int filled = static_cast<int>(fraction * width);
    line = absl::StrFormat("[%s%s] %3d%%  %s / %s", std::string(filled, '#'),
                           std::string(width - filled, '.'), static_cast<int>(fraction * 100),
                           FormatBytes(static_cast<double>(bytes_sent)),
                           FormatBytes(static_cast<double>(total_bytes_)));
  } else {
    line = FormatBytes(static_cast<double>(bytes_sent));
  }
  absl::StrAppend(&line, "  ", FormatByteRate(bytes_sent, elapsed));
  const double seconds = absl::ToDoubleSeconds(elapsed);
  if (all_sent) {
    absl::StrAppend(&line, "  sent; the service is validating");
  } else if (total_bytes_ > bytes_sent && bytes_sent > 0 && seconds > 0) {
    const double left =
        static_cast<double>(total_bytes_ - bytes_sent) * seconds / static_cast<double>(bytes_sent);
    absl::StrAppend(&line, "  ", FormatClock(static_cast<int64_t>(std::ceil(left))), " left");
  }
  return line;
}

void UploadProgress::Update(uint64_t bytes_sent) {
  bytes_sent_ = bytes_sent;
  const absl::Time now = clock_.Now();
  if (now - last_draw_ < options_.refresh_interval) return;
  last_draw_ = now;
  Draw(Line(bytes_sent, now - start_, /*all_sent=*/false));
}

void UploadProgress::AllSent() {
  const absl::Time now = clock_.Now();
  sent_time_ = now;
  last_draw_ = now;
  Draw(Line(bytes_sent_, now - start_, /*all_sent=*/true));
}

void UploadProgress::Finish(uint64_t records) {
  const absl::Time now = clock_.Now();
  const absl::Duration total = now - start_;
  const absl::Duration sending = (sent_time_ == absl::InfinitePast() ? now : sent_time_) - start_;
  const double seconds = absl::ToDoubleSeconds(total);
  std::string line = absl::StrFormat(
      "Sent %s in %.1f s (%s); %d record%s in %.1f s (%s records/s)",
      FormatBytes(static_cast<double>(bytes_sent_)), absl::ToDoubleSeconds(sending),
      FormatByteRate(bytes_sent_, sending), records, records == 1 ? "" : "s", seconds,
      seconds > 0 ? absl::StrFormat("%.0f", static_cast<double>(records) / seconds) : "-");
  Draw(line);
  out_ << "\n";
  out_.flush();
  drawn_width_ = 0;
}

void UploadProgress::Abort() {
  if (drawn_width_ == 0) return;
  out_ << "\r" << std::string(drawn_width_, ' ') << "\r";
  out_.flush();
  drawn_width_ = 0;
}

void UploadProgress::Draw(const std::string& line) {
  out_ << "\r" << line;
  if (line.size() < drawn_width_) out_ << std::string(drawn_width_ - line.size(), ' ');
  out_.flush();
  drawn_width_ = std::max(drawn_width_, line.size());
}

}  // namespace ethscan::cli

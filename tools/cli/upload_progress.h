// The progress bar of a streaming upload, drawn on one terminal line of stderr:
//   [##########··········]  48%  480.0 MB / 1.00 GB  85.3 MB/s  1:05 left
// While the bytes stream it shows bytes sent, the byte rate and the time left (the service
// reports records only when the upload ends); once every byte is sent it says the service is
// still validating; Finish replaces the bar with a closing line that adds records per second.
// The caller decides whether to draw at all (a terminal, --progress, --no-progress). Time comes
// from an injected Clock. Not thread-safe: one upload on one thread.
#ifndef ETHSCAN_TOOLS_CLI_UPLOAD_PROGRESS_H_
#define ETHSCAN_TOOLS_CLI_UPLOAD_PROGRESS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "common/time/clock.h"

namespace ethscan::cli {

class UploadProgress {
 public:
  struct Options {
    // The bar is redrawn at most this often (the first and the last state always are).
    absl::Duration refresh_interval = absl::Milliseconds(100);
    // Cells of the bar between the brackets.
    int bar_width = 20;
  };

  // `total_bytes` is the file size (0 when unknown: no bar, no percentage, no time left).
  // `out` and `clock` must outlive the object. The clock is read now: the upload starts.
  UploadProgress(std::ostream& out, const common::Clock& clock, uint64_t total_bytes,
                 Options options);
  UploadProgress(std::ostream& out, const common::Clock& clock, uint64_t total_bytes)
      : UploadProgress(out, clock, total_bytes, Options()) {}

  // `bytes_sent` bytes of the file are on their way; redraws when the refresh interval passed.
  void Update(uint64_t bytes_sent);
  // Every byte is sent and the service is validating and storing; redraws.
  void AllSent();
  // The upload succeeded: replaces the bar with the closing line, e.g.
  //   "Sent 1.00 GB in 11.7 s (85.3 MB/s); 1234567 records in 12.3 s (100372 records/s)"
  // (bytes per second while sending, records per second over the whole call).
  // `records` is the record count the service reported.
  void Finish(uint64_t records);
  // The upload failed or was refused: erases the bar so the error starts a clean line.
  void Abort();

  // The bar line for `bytes_sent` after `elapsed` (no terminal control characters). Public
  // for tests.
  std::string Line(uint64_t bytes_sent, absl::Duration elapsed, bool all_sent) const;

 private:
  void Draw(const std::string& line);

  std::ostream& out_;
  const common::Clock& clock_;
  const uint64_t total_bytes_;
  const Options options_;
  const absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  // When AllSent was called; InfinitePast before.
  absl::Time sent_time_ = absl::InfinitePast();
  uint64_t bytes_sent_ = 0;
  size_t drawn_width_ = 0;
};

// "85.3 MB/s" for `bytes` over `elapsed`; "- MB/s" when no time has passed.
std::string FormatByteRate(uint64_t bytes, absl::Duration elapsed);

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_UPLOAD_PROGRESS_H_

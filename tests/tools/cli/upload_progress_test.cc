#include "tools/cli/upload_progress.h"

#include <sstream>
#include <string>

#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ethscan::cli {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class UploadProgressTest : public ::testing::Test {
 protected:
  common::FakeClock clock_;
  std::ostringstream out_;
};

TEST_F(UploadProgressTest, LineShowsBarPercentBytesRateAndTimeLeft) {
  UploadProgress progress(out_, clock_, 1'000'000'000);
  EXPECT_EQ(progress.Line(480'000'000, absl::Seconds(6), false),
            "[#########...........]  48%  480.0 MB / 1.00 GB  80.0 MB/s  0:07 left");
  EXPECT_EQ(progress.Line(0, absl::ZeroDuration(), false),
            "[....................]   0%  0 B / 1.00 GB  - MB/s");
  EXPECT_EQ(progress.Line(1'000'000'000, absl::Seconds(10), true),
            "[####################] 100%  1.00 GB / 1.00 GB  100.0 MB/s  sent; the service is "
            "validating");
  EXPECT_THAT(progress.Line(100'000'000, absl::Seconds(401), false), EndsWith("  1:00:09 left"));
}

TEST_F(UploadProgressTest, LineWithoutAKnownSizeShowsBytesAndRateOnly) {
  UploadProgress progress(out_, clock_, 0);
  EXPECT_EQ(progress.Line(2'500, absl::Seconds(1), false), "2.5 kB  0.0 MB/s");
}

TEST_F(UploadProgressTest, RedrawsAtMostOncePerRefreshInterval) {
  UploadProgress progress(out_, clock_, 4'000'000);
  progress.Update(1'000'000);  // first state: drawn
  const std::string first = out_.str();
  EXPECT_THAT(first, HasSubstr("\r[#####..............."));
  clock_.Advance(absl::Milliseconds(50));
  progress.Update(2'000'000);  // too soon
  EXPECT_EQ(out_.str(), first);
  clock_.Advance(absl::Milliseconds(50));
  progress.Update(3'000'000);
  EXPECT_THAT(out_.str(), HasSubstr("\r[###############.....]  75%  3.0 MB / 4.0 MB  30.0 MB/s"));
}

TEST_F(UploadProgressTest, FinishReplacesTheBarWithRatesOfBytesAndRecords) {
  UploadProgress progress(out_, clock_, 100'000'000);
  clock_.Advance(absl::Seconds(2));
  progress.Update(100'000'000);
  progress.AllSent();
  clock_.Advance(absl::Seconds(2));
  progress.Finish(400'000);
  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("\r[####################] 100%  100.0 MB / 100.0 MB  50.0 MB/s  "
                             "sent; the service is validating"));
  EXPECT_THAT(out, HasSubstr("\rSent 100.0 MB in 2.0 s (50.0 MB/s); 400000 records in 4.0 s "
                             "(100000 records/s)"));
  EXPECT_THAT(out, EndsWith("\n"));
}

TEST_F(UploadProgressTest, AbortErasesWhatWasDrawnAndNothingOtherwise) {
  UploadProgress quiet(out_, clock_, 10);
  quiet.Abort();
  EXPECT_THAT(out_.str(), IsEmpty());
  UploadProgress progress(out_, clock_, 10);
  progress.Update(5);
  const size_t drawn = out_.str().size() - 1;  // without the leading \r
  progress.Abort();
  EXPECT_THAT(out_.str(), EndsWith("\r" + std::string(drawn, ' ') + "\r"));
}

TEST(FormatByteRateTest, DividesBytesBySeconds) {
  EXPECT_EQ(FormatByteRate(85'300'000, absl::Seconds(1)), "85.3 MB/s");
  EXPECT_EQ(FormatByteRate(1, absl::ZeroDuration()), "- MB/s");
}

}  // namespace
}  // namespace ethscan::cli

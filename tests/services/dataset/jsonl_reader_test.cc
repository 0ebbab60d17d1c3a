#include "services/dataset/jsonl_reader.h"

#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Line = std::tuple<uint64_t, std::string, bool>;

class Collector : public JsonlReader::Handler {
 public:
  absl::Status OnLine(uint64_t line, absl::string_view text, bool has_line_break) override {
    lines.emplace_back(line, std::string(text), has_line_break);
    return next_status;
  }
  std::vector<Line> lines;
  absl::Status next_status;
};

// Feeds `data` in chunks of `chunk_size` bytes, then finishes.
absl::Status Read(JsonlReader& reader, absl::string_view data, size_t chunk_size) {
  for (size_t i = 0; i < data.size(); i += chunk_size) {
    absl::Status status = reader.Feed(data.substr(i, chunk_size));
    if (!status.ok()) return status;
  }
  return reader.Finish();
}

TEST(JsonlReaderTest, SplitsLinesAcrossAnyChunking) {
  const std::string data = "\xEF\xBB\xBF{\"a\":1}\r\n\n  \t\n{\"b\":2}\n{\"c\":3}";
  for (size_t chunk_size : {1, 2, 3, 5, 100}) {
    SCOPED_TRACE(chunk_size);
    Collector collector;
    JsonlReader reader(JsonlReaderOptions{"f.jsonl", 100}, &collector);
    ASSERT_THAT(Read(reader, data, chunk_size), IsOk());
    EXPECT_THAT(collector.lines, ElementsAre(Line{1, "{\"a\":1}", true}, Line{4, "{\"b\":2}", true},
                                             Line{5, "{\"c\":3}", false}));
    EXPECT_EQ(reader.line_count(), 3u);
  }
}

TEST(JsonlReaderTest, LongLinesAreRejectedWhileStreaming) {
  Collector collector;
  JsonlReader reader(JsonlReaderOptions{"f.jsonl", 10}, &collector);
  ASSERT_THAT(reader.Feed("{\"a\":1}\n"), IsOk());
  // No line break has arrived yet, and the line is already over the limit.
  EXPECT_THAT(reader.Feed(std::string(20, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("f.jsonl line 2: longer than the limit of 10 bytes")));
  // The error sticks.
  EXPECT_THAT(reader.Feed("\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader.Finish(), StatusIs(absl::StatusCode::kInvalidArgument));

  Collector complete;
  JsonlReader whole(JsonlReaderOptions{"f.jsonl", 10}, &complete);
  EXPECT_THAT(whole.Feed("0123456789\n01234567890\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_EQ(complete.lines.size(), 1u);
}

TEST(JsonlReaderTest, EmptyInputIsRejected) {
  for (const char* data : {"", "\n\n", "\xEF\xBB\xBF", "  \r\n"}) {
    Collector collector;
    JsonlReader reader(JsonlReaderOptions{"f.jsonl", 100}, &collector);
    EXPECT_THAT(Read(reader, data, 1),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f.jsonl: empty file")));
  }
}

TEST(JsonlReaderTest, HandlerErrorsStopTheReader) {
  Collector collector;
  collector.next_status = absl::InternalError("sink full");
  JsonlReader reader(JsonlReaderOptions{"f.jsonl", 100}, &collector);
  EXPECT_THAT(reader.Feed("{}\n{}\n"), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(collector.lines.size(), 1u);
  EXPECT_THAT(reader.Finish(), StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace ethscan::dataset

#include "services/dataset/csv_reader.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Collects everything the reader reports, in one comparable shape.
class Recorder : public CsvReader::Handler {
 public:
  absl::Status OnHeader(uint64_t line, const std::vector<std::string>& columns) override {
    events.push_back(absl::StrCat("header@", line, ":", absl::StrJoin(columns, "|")));
    return absl::OkStatus();
  }
  absl::Status OnRow(const CsvRow& row) override {
    events.push_back(absl::StrCat("row@", row.line, ":", absl::StrJoin(row.fields, "|")));
    rows.push_back(row);
    return absl::OkStatus();
  }
  absl::Status OnMalformedRow(uint64_t line, absl::string_view reason) override {
    events.push_back(absl::StrCat("bad@", line, ":", reason));
    return absl::OkStatus();
  }

  std::vector<std::string> events;
  std::vector<CsvRow> rows;
};

// Feeds `input` cut at `cuts` (increasing offsets) and finishes. Returns the first error.
absl::Status Parse(absl::string_view input, const std::vector<size_t>& cuts, Recorder* recorder) {
  CsvReader reader(CsvReaderOptions{"test.csv", 1 << 20}, recorder);
  size_t start = 0;
  for (size_t cut : cuts) {
    absl::Status status = reader.Feed(input.substr(start, cut - start));
    if (!status.ok()) return status;
    start = cut;
  }
  absl::Status status = reader.Feed(input.substr(start));
  if (!status.ok()) return status;
  return reader.Finish();
}

absl::Status ParseWhole(absl::string_view input, Recorder* recorder) {
  return Parse(input, {}, recorder);
}

// A small file with every feature: a BOM, padded header names, quoted commas, doubled quotes, a
// line break inside quotes, CRLF and LF endings, a blank line, an empty quoted field and no
// final line break.
constexpr absl::string_view kTricky =
    "\xEF\xBB\xBF"
    " address , name ,note\r\n"
    "0xabc,\"Akropolis: AKRO, Token\",plain\r\n"
    "0xdef,\"say \"\"hi\"\"\",\"two\nlines\"\n"
    "\n"
    "0x123,,\"\"\n"
    "0x456,last,row";

const std::vector<std::string> kTrickyEvents = {
    "header@1:address|name|note",
    "row@2:0xabc|Akropolis: AKRO, Token|plain",
    "row@3:0xdef|say \"hi\"|two\nlines",
    "row@6:0x123||",
    "row@7:0x456|last|row",
};

TEST(CsvReaderTest, ParsesQuotesCrlfBomAndPaddedHeader) {
  Recorder recorder;
  ASSERT_THAT(ParseWhole(kTricky, &recorder), IsOk());
  EXPECT_EQ(recorder.events, kTrickyEvents);
}

TEST(CsvReaderTest, SameResultForEveryChunkBoundary) {
  for (size_t i = 0; i <= kTricky.size(); ++i) {
    Recorder recorder;
    ASSERT_THAT(Parse(kTricky, {i}, &recorder), IsOk()) << "cut at " << i;
    EXPECT_EQ(recorder.events, kTrickyEvents) << "cut at " << i;
  }
}

TEST(CsvReaderTest, SameResultForEveryPairOfChunkBoundaries) {
  for (size_t i = 0; i <= kTricky.size(); ++i) {
    for (size_t j = i; j <= kTricky.size(); ++j) {
      Recorder recorder;
      ASSERT_THAT(Parse(kTricky, {i, j}, &recorder), IsOk()) << "cuts " << i << "," << j;
      ASSERT_EQ(recorder.events, kTrickyEvents) << "cuts " << i << "," << j;
    }
  }
}

TEST(CsvReaderTest, SameResultFedOneByteAtATime) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < kTricky.size(); ++i) cuts.push_back(i);
  Recorder recorder;
  ASSERT_THAT(Parse(kTricky, cuts, &recorder), IsOk());
  EXPECT_EQ(recorder.events, kTrickyEvents);
}

TEST(CsvReaderTest, TrailingLineBreakMakesNoExtraRow) {
  Recorder recorder;
  ASSERT_THAT(ParseWhole("a,b\n1,2\n", &recorder), IsOk());
  EXPECT_THAT(recorder.events, ElementsAre("header@1:a|b", "row@2:1|2"));
}

TEST(CsvReaderTest, CrlfAtChunkEndAndLoneCr) {
  Recorder recorder;
  ASSERT_THAT(Parse("a,b\r\n1,2\r3,4\r", {4, 9}, &recorder), IsOk());
  EXPECT_THAT(recorder.events, ElementsAre("header@1:a|b", "row@2:1|2", "row@3:3|4"));
}

TEST(CsvReaderTest, KeepsCrInsideQuotes) {
  Recorder recorder;
  ASSERT_THAT(ParseWhole("a\n\"x\r\ny\"\n", &recorder), IsOk());
  ASSERT_EQ(recorder.rows.size(), 1u);
  EXPECT_EQ(recorder.rows[0].fields[0], "x\r\ny");
}

TEST(CsvReaderTest, ShortBomPrefixIsData) {
  Recorder recorder;
  // Two bytes of a BOM and then something else: not a BOM, kept as header text.
  ASSERT_THAT(Parse("\xEF\xBB"
                    "a\n1\n",
                    {1}, &recorder),
              IsOk());
  EXPECT_EQ(recorder.events[0],
            "header@1:\xEF\xBB"
            "a");
}

TEST(CsvReaderTest, WrongFieldCountIsReportedAndReadingGoesOn) {
  Recorder recorder;
  ASSERT_THAT(ParseWhole("a,b\n1,2,3\n4\n5,6\n", &recorder), IsOk());
  EXPECT_THAT(recorder.events, ElementsAre("header@1:a|b", "bad@2:3 fields, the header has 2",
                                           "bad@3:1 fields, the header has 2", "row@4:5|6"));
}

TEST(CsvReaderTest, TruncatedLastLineIsAnError) {
  Recorder recorder;
  EXPECT_THAT(ParseWhole("a,b,c\n1,2,3\n4,5", &recorder),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("test.csv line 3: truncated last line: 2 fields")));
}

TEST(CsvReaderTest, UnterminatedQuoteAtEndIsAnError) {
  Recorder recorder;
  EXPECT_THAT(ParseWhole("a,b\n1,2\n3,\"open\nstill open", &recorder),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("test.csv line 3: unterminated quoted field")));
}

TEST(CsvReaderTest, QuoteInsideUnquotedFieldIsAnError) {
  Recorder recorder;
  EXPECT_THAT(ParseWhole("a,b\n1,2\n3,ab\"c\"\n", &recorder),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("test.csv line 3: malformed quoting")));
}

TEST(CsvReaderTest, TextAfterClosingQuoteIsAnErrorWithItsLine) {
  Recorder recorder;
  // The bad character sits on line 3 of a row that starts on line 2.
  EXPECT_THAT(ParseWhole("a,b\n1,\"x\ny\"z\n", &recorder),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("test.csv line 3: malformed quoting: unexpected 'z'")));
}

TEST(CsvReaderTest, ErrorIsStickyAcrossLaterFeeds) {
  Recorder recorder;
  CsvReader reader(CsvReaderOptions{"f.csv", 1 << 20}, &recorder);
  EXPECT_THAT(reader.Feed("a\nx\"y\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader.Feed("b\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader.Finish(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CsvReaderTest, EmptyInputHasNoHeader) {
  Recorder recorder;
  EXPECT_THAT(ParseWhole("", &recorder),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test.csv: empty file")));
  Recorder bom_only;
  EXPECT_THAT(ParseWhole("\xEF\xBB\xBF\n\n", &bom_only),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty file")));
}

TEST(CsvReaderTest, RejectsEmptyAndDuplicateHeaderNames) {
  Recorder recorder;
  EXPECT_THAT(ParseWhole("a,,c\n", &recorder),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 1: header column 2 has an empty name")));
  Recorder duplicate;
  EXPECT_THAT(ParseWhole("a, A \n", &duplicate),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("appears twice")));
}

TEST(CsvReaderTest, UnnamedFirstColumnOnlyWhenAllowed) {
  CsvReaderOptions options{"pandas.csv", 1 << 20};
  options.allow_unnamed_first_column = true;
  Recorder recorder;
  CsvReader reader(options, &recorder);
  ASSERT_THAT(reader.Feed(",Index,Address\n0,1,0xab\n"), IsOk());
  ASSERT_THAT(reader.Finish(), IsOk());
  EXPECT_THAT(recorder.events, ElementsAre("header@1:|Index|Address", "row@2:0|1|0xab"));
  Recorder second;
  CsvReader strict_after_first(options, &second);
  EXPECT_THAT(
      strict_after_first.Feed("a,,c\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("header column 2 has an empty name")));
}

TEST(CsvReaderTest, RowLongerThanLimitIsAnError) {
  Recorder recorder;
  CsvReader reader(CsvReaderOptions{"big.csv", 16}, &recorder);
  ASSERT_THAT(reader.Feed("a\n"), IsOk());
  EXPECT_THAT(reader.Feed("\"0123456789"), IsOk());
  EXPECT_THAT(reader.Feed("0123456789"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("big.csv line 2: row longer than 16 bytes")));
}

TEST(CsvReaderTest, HandlerErrorStopsTheReader) {
  class Failing : public Recorder {
   public:
    absl::Status OnRow(const CsvRow& row) override {
      return absl::ResourceExhaustedError("sink full");
    }
  } failing;
  CsvReader reader(CsvReaderOptions{"f.csv", 1 << 20}, &failing);
  EXPECT_THAT(reader.Feed("a\n1\n2\n"), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(reader.row_count(), 1u);
}

TEST(CsvReaderTest, CountsRowsAndSkipsBlankLines) {
  Recorder recorder;
  CsvReader reader(CsvReaderOptions{"f.csv", 1 << 20}, &recorder);
  ASSERT_THAT(reader.Feed("\n\na\n1\n\n2\n"), IsOk());
  ASSERT_THAT(reader.Finish(), IsOk());
  EXPECT_TRUE(reader.has_header());
  EXPECT_EQ(reader.row_count(), 2u);
  EXPECT_THAT(recorder.events, ElementsAre("header@3:a", "row@4:1", "row@6:2"));
}

}  // namespace
}  // namespace ethscan::dataset

#include "services/dataset/ingest_pipeline.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/eth/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// Collects the records handed to the sink.
class VectorSink : public RecordSink {
 public:
  absl::Status Write(const common::v1::AddressRecord& record) override {
    records.push_back(record);
    return absl::OkStatus();
  }
  std::vector<common::v1::AddressRecord> records;
};

constexpr char kDarklist[] =
    "address,comment,date\n"
    "0xF193a9aFb00715AaCF7ca9Ebffafe02C77517C2E,Fake copy of ROCK2PAY token,2018-11-06\n"
    "0xa153a6eF80fb5d60de18688bdC82684d48FC8De1,Fake copy of ROCK2 token,2018-10-28\n"
    "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,same address in lowercase,2018-10-28\n";

IngestOptions Options(const std::string& name = "darklist") {
  IngestOptions options;
  options.name = name;
  options.filename = "dark.csv";
  return options;
}

// Runs a whole file through a pipeline in chunks of `chunk_size` bytes.
absl::Status Ingest(IngestPipeline& pipeline, absl::string_view data, size_t chunk_size = 1 << 20) {
  for (size_t i = 0; i < data.size(); i += chunk_size) {
    absl::Status status = pipeline.AddChunk(data.substr(i, chunk_size));
    if (!status.ok()) return status;
  }
  return pipeline.Finish();
}

std::string ExpectedId(absl::string_view format, absl::string_view name, uint64_t chain,
                       absl::string_view bytes) {
  return absl::StrCat(
      "ds-", eth::Sha256::HexDigest(absl::StrCat(format, "\n", name, "\n", chain, "\n", bytes))
                 .substr(0, 16));
}

TEST(IngestPipelineTest, CountsRecordsAddressesAndLabels) {
  VectorSink sink;
  IngestPipeline pipeline(Options(), &sink);
  ASSERT_THAT(Ingest(pipeline, kDarklist), IsOk());
  const v1::Dataset& dataset = pipeline.result().dataset;
  EXPECT_EQ(dataset.format(), v1::DATASET_FORMAT_MEW_DARKLIST);
  EXPECT_EQ(dataset.line_count(), 3u);
  EXPECT_EQ(dataset.record_count(), 3u);
  EXPECT_EQ(dataset.address_count(), 2u);
  EXPECT_EQ(dataset.invalid_line_count(), 0u);
  EXPECT_EQ(dataset.size_bytes(), sizeof(kDarklist) - 1);
  EXPECT_EQ(dataset.sha256(), eth::Sha256::HexDigest(kDarklist));
  EXPECT_EQ(dataset.name(), "darklist");
  EXPECT_EQ(dataset.filename(), "dark.csv");
  EXPECT_EQ(dataset.chain_id(), 1u);
  EXPECT_THAT(dataset.label_counts(), UnorderedElementsAre(Pair("Scam", 3u)));
  EXPECT_EQ(pipeline.result().format_detection,
            "detected mew_darklist from header columns address,comment,date");
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[0].line(), 2u);
  EXPECT_EQ(sink.records[2].line(), 4u);
  EXPECT_THAT(pipeline.result().rejection, IsEmpty());
}

TEST(IngestPipelineTest, IdIsContentAddressedWhateverTheChunkingOrFormatChoice) {
  IngestPipeline whole(Options(), nullptr);
  ASSERT_THAT(Ingest(whole, kDarklist), IsOk());
  const std::string id = whole.result().dataset.id();
  EXPECT_EQ(id, ExpectedId("mew_darklist", "darklist", 1, kDarklist));

  IngestPipeline bytewise(Options(), nullptr);
  ASSERT_THAT(Ingest(bytewise, kDarklist, 1), IsOk());
  EXPECT_EQ(bytewise.result().dataset.id(), id);

  IngestOptions explicit_format = Options();
  explicit_format.format = v1::DATASET_FORMAT_MEW_DARKLIST;
  IngestPipeline given(explicit_format, nullptr);
  ASSERT_THAT(Ingest(given, kDarklist, 7), IsOk());
  EXPECT_EQ(given.result().dataset.id(), id);

  IngestPipeline renamed(Options("other"), nullptr);
  ASSERT_THAT(Ingest(renamed, kDarklist), IsOk());
  EXPECT_NE(renamed.result().dataset.id(), id);

  IngestOptions polygon = Options();
  polygon.chain_id = 137;
  IngestPipeline other_chain(polygon, nullptr);
  ASSERT_THAT(Ingest(other_chain, kDarklist), IsOk());
  EXPECT_EQ(other_chain.result().dataset.id(),
            ExpectedId("mew_darklist", "darklist", 137, kDarklist));
}

TEST(IngestPipelineTest, SkipsInvalidLinesWithinTheAllowedShare) {
  std::string data = "address,comment,date\n";
  for (int i = 0; i < 19; ++i) {
    absl::StrAppend(&data, "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,ok ", i, ",\n");
  }
  absl::StrAppend(&data, "0x123,too short,\n");
  VectorSink sink;
  IngestPipeline pipeline(Options(), &sink);  // 1 of 20 = 5 %: allowed.
  ASSERT_THAT(Ingest(pipeline, data), IsOk());
  EXPECT_EQ(pipeline.result().dataset.invalid_line_count(), 1u);
  EXPECT_EQ(pipeline.result().dataset.record_count(), 19u);
  EXPECT_EQ(sink.records.size(), 19u);
  ASSERT_EQ(pipeline.result().issues.size(), 1u);
  EXPECT_EQ(pipeline.result().issues[0].line(), 21u);
}

TEST(IngestPipelineTest, RejectsTooManyInvalidLinesNamingTheFirst) {
  std::string data = "address,comment,date\n";
  for (int i = 0; i < 8; ++i) {
    absl::StrAppend(&data, "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,ok,\n");
  }
  absl::StrAppend(&data, "0x123,bad,\n0x456,bad,\n");
  IngestPipeline pipeline(Options(), nullptr);
  EXPECT_THAT(Ingest(pipeline, data),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("dark.csv: 2 of 10 lines are invalid (20%), more than "
                                       "the allowed 5%"),
                             HasSubstr("first: line 10, field address"))));
  EXPECT_THAT(pipeline.result().rejection, HasSubstr("2 of 10 lines are invalid"));
}

TEST(IngestPipelineTest, TinyFractionMakesAnyInvalidLineFatal) {
  std::string data = absl::StrCat(kDarklist, "0x123,bad,\n");
  IngestOptions strict = Options();
  strict.max_invalid_fraction = 1e-9;
  IngestPipeline pipeline(strict, nullptr);
  EXPECT_THAT(Ingest(pipeline, data),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 of 4 lines are invalid")));
}

TEST(IngestPipelineTest, KeepsTheFirstIssuesButCountsAll) {
  std::string data = "address,comment,date\n";
  for (int i = 0; i < 10; ++i) absl::StrAppend(&data, "0xbad,x,\n");
  IngestOptions options = Options();
  options.max_issues = 3;
  options.max_invalid_fraction = 1;
  IngestPipeline pipeline(options, nullptr);
  ASSERT_THAT(Ingest(pipeline, data), IsOk());
  EXPECT_EQ(pipeline.result().issues.size(), 3u);
  EXPECT_EQ(pipeline.result().dataset.invalid_line_count(), 10u);
  EXPECT_EQ(pipeline.result().dataset.record_count(), 0u);
}

TEST(IngestPipelineTest, RowWithWrongFieldCountIsAnInvalidLine) {
  std::string data = absl::StrCat(kDarklist, "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,x\n");
  IngestOptions options = Options();
  options.max_invalid_fraction = 0.5;
  IngestPipeline pipeline(options, nullptr);
  ASSERT_THAT(Ingest(pipeline, absl::StrCat(data, kDarklist + 21)), IsOk());
  EXPECT_EQ(pipeline.result().dataset.invalid_line_count(), 1u);
  ASSERT_EQ(pipeline.result().issues.size(), 1u);
  EXPECT_EQ(pipeline.result().issues[0].line(), 5u);
  EXPECT_THAT(pipeline.result().issues[0].reason(),
              HasSubstr("wrong number of fields: 2 fields, the header has 3"));
}

TEST(IngestPipelineTest, HeaderWithoutRowsIsRejected) {
  IngestPipeline pipeline(Options(), nullptr);
  EXPECT_THAT(Ingest(pipeline, "address,comment,date\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dark.csv: the file has a header but no data rows")));
}

TEST(IngestPipelineTest, StructuralErrorIsTheRejection) {
  IngestPipeline pipeline(Options(), nullptr);
  EXPECT_THAT(Ingest(pipeline, "address,comment,date\n0xabc,\"open,x\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dark.csv line 2: unterminated quoted field")));
  EXPECT_THAT(pipeline.result().rejection, HasSubstr("dark.csv line 2"));
}

TEST(IngestPipelineTest, UsesTheDatasetNameWhenNoFilenameIsGiven) {
  IngestOptions options = Options();
  options.filename.clear();
  IngestPipeline pipeline(options, nullptr);
  EXPECT_THAT(
      Ingest(pipeline, "who,what\n1,2\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("darklist line 1: unknown format")));
}

TEST(IngestPipelineTest, StopsAtTheSizeLimit) {
  IngestOptions options = Options();
  options.max_bytes = 50;
  IngestPipeline pipeline(options, nullptr);
  ASSERT_THAT(pipeline.AddChunk(absl::string_view(kDarklist).substr(0, 50)), IsOk());
  EXPECT_THAT(pipeline.AddChunk("x"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("larger than the upload limit of 50 bytes")));
  EXPECT_THAT(pipeline.Finish(), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(IngestPipelineTest, SinkErrorsStopTheIngest) {
  class FullSink : public RecordSink {
   public:
    absl::Status Write(const common::v1::AddressRecord&) override {
      return absl::ResourceExhaustedError("disk full");
    }
  } sink;
  IngestPipeline pipeline(Options(), &sink);
  EXPECT_THAT(Ingest(pipeline, kDarklist),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("disk full")));
  EXPECT_THAT(pipeline.result().rejection, IsEmpty());
}

}  // namespace
}  // namespace ethscan::dataset

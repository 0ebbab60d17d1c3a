#include "services/dataset/ingest_pipeline.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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

constexpr char kLegacy[] =
    R"({"prompt": "0x8888801af4d980682e47f1a9036e589479e835c5", "completion": "\"Name\": )"
    R"(\" Akropolis (AKRO)\", \"Account Type\": \"Smart Contract\", \"Contract Type\": )"
    R"(\"Token\", \"Entity\": \"DeFi\", \"Label\": \"Legit\", \"Tags\": \"DeFi\""})"
    "\n"
    R"({"prompt": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "completion": "\"Label\": )"
    R"(\"Scam\""})"
    "\n";

constexpr char kChat[] =
    R"({"messages":[{"role":"user","content":"0x8888801aF4d980682e47f1A9036e589479e835C5"},)"
    R"({"role":"assistant","content":"{\"Name\":\"Akropolis (AKRO)\",\"Label\":\"Legit\"}"}]})"
    "\n"
    R"({"messages":[{"role":"system","content":"s"},)"
    R"({"role":"user","content":"0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"},)"
    R"({"role":"assistant","content":"{\"Label\":\"Heist\",\"Tags\":[\"bridge\"]}"}]})"
    "\n";

TEST(IngestPipelineTest, DetectsLegacyPromptCompletionJsonl) {
  VectorSink sink;
  IngestOptions options = Options("legacy");
  options.filename = "legacy.jsonl";
  IngestPipeline pipeline(options, &sink);
  ASSERT_THAT(Ingest(pipeline, kLegacy, 9), IsOk());
  const v1::Dataset& dataset = pipeline.result().dataset;
  EXPECT_EQ(dataset.format(), v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION);
  EXPECT_EQ(pipeline.result().format_detection,
            "detected legacy_prompt_completion from line 1: a JSON object with "
            "\"prompt\"/\"completion\" keys");
  EXPECT_EQ(dataset.line_count(), 2u);
  EXPECT_EQ(dataset.record_count(), 2u);
  EXPECT_EQ(dataset.address_count(), 2u);
  EXPECT_THAT(dataset.label_counts(), UnorderedElementsAre(Pair("Legit", 1u), Pair("Scam", 1u)));
  EXPECT_EQ(dataset.id(), ExpectedId("legacy_prompt_completion", "legacy", 1, kLegacy));
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].name(), "Akropolis (AKRO)");
  EXPECT_EQ(sink.records[1].line(), 2u);
  EXPECT_EQ(sink.records[1].address(), "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
}

TEST(IngestPipelineTest, DetectsOpenAiChatJsonlAfterABomAndBlankLines) {
  const std::string data = absl::StrCat("\xEF\xBB\xBF\r\n", kChat);
  for (size_t chunk_size : {1, 4, 1000}) {
    SCOPED_TRACE(chunk_size);
    VectorSink sink;
    IngestPipeline pipeline(Options("chat"), &sink);
    ASSERT_THAT(Ingest(pipeline, data, chunk_size), IsOk());
    EXPECT_EQ(pipeline.result().dataset.format(), v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
    EXPECT_EQ(pipeline.result().format_detection,
              "detected openai_chat_jsonl from line 2: a JSON object with a \"messages\" key");
    EXPECT_EQ(pipeline.result().dataset.id(), ExpectedId("openai_chat_jsonl", "chat", 1, data));
    ASSERT_EQ(sink.records.size(), 2u);
    EXPECT_EQ(sink.records[0].line(), 2u);
    EXPECT_EQ(sink.records[1].line(), 3u);
    EXPECT_EQ(sink.records[1].label(), "Heist");
    EXPECT_THAT(sink.records[1].tags(), ::testing::ElementsAre("bridge"));
  }
}

TEST(IngestPipelineTest, JsonlWithCrlfLineEndingsAndAGivenFormat) {
  std::string data = kChat;
  absl::StrReplaceAll({{"\n", "\r\n"}}, &data);
  IngestOptions options = Options("chat");
  options.format = v1::DATASET_FORMAT_OPENAI_CHAT_JSONL;
  VectorSink sink;
  IngestPipeline pipeline(options, &sink);
  ASSERT_THAT(Ingest(pipeline, data, 5), IsOk());
  EXPECT_EQ(pipeline.result().format_detection,
            "format openai_chat_jsonl given in the upload metadata");
  EXPECT_EQ(sink.records.size(), 2u);
  EXPECT_THAT(pipeline.result().issues, IsEmpty());
}

TEST(IngestPipelineTest, ATruncatedLastJsonLineIsAnInvalidLine) {
  std::string data = kChat;
  for (int i = 0; i < 18; ++i) absl::StrAppend(&data, kChat);
  data.resize(data.size() - 10);  // Cut the last line short, without its line break.
  IngestPipeline pipeline(Options("chat"), nullptr);
  ASSERT_THAT(Ingest(pipeline, data), IsOk());  // 1 of 38 lines: within the 5 % allowed.
  const v1::Dataset& dataset = pipeline.result().dataset;
  EXPECT_EQ(dataset.line_count(), 38u);
  EXPECT_EQ(dataset.invalid_line_count(), 1u);
  ASSERT_EQ(pipeline.result().issues.size(), 1u);
  const v1::ValidationIssue& issue = pipeline.result().issues[0];
  EXPECT_EQ(issue.line(), 38u);
  EXPECT_EQ(issue.severity(), v1::ValidationIssue::SEVERITY_ERROR);
  EXPECT_THAT(issue.reason(), AllOf(HasSubstr("malformed JSON at the end of the line"),
                                    HasSubstr("the file may be truncated")));
}

TEST(IngestPipelineTest, MismatchedFormatsAreStructuralErrors) {
  IngestOptions chat_csv = Options();
  chat_csv.format = v1::DATASET_FORMAT_OPENAI_CHAT_JSONL;
  IngestPipeline csv_as_chat(chat_csv, nullptr);
  EXPECT_THAT(Ingest(csv_as_chat, kDarklist),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dark.csv line 1: format openai_chat_jsonl is JSON Lines, but the "
                                 "line is not a JSON object: \"address,comment,date\"")));
  IngestOptions sdn = Options();
  sdn.format = v1::DATASET_FORMAT_OFAC_SDN;
  IngestPipeline chat_as_csv(sdn, nullptr);
  EXPECT_THAT(Ingest(chat_as_csv, kChat),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dark.csv line 1")));
  IngestPipeline unknown(Options(), nullptr);
  EXPECT_THAT(Ingest(unknown, "{\"id\": 1}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dark.csv line 1: unknown JSON Lines format")));
  IngestPipeline blank(Options(), nullptr);
  EXPECT_THAT(Ingest(blank, "\r\n\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dark.csv: empty file")));
}

TEST(IngestPipelineTest, JsonLinesOverTheLimitAreRejectedWhileStreaming) {
  IngestOptions options = Options("chat");
  options.max_row_bytes = 64;
  IngestPipeline pipeline(options, nullptr);
  EXPECT_THAT(pipeline.AddChunk(absl::StrCat("{\"messages\": \"", std::string(100, 'x'))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dark.csv line 1: longer than the limit of 64 bytes")));
  EXPECT_THAT(pipeline.result().rejection, HasSubstr("longer than the limit"));
}

}  // namespace
}  // namespace ethscan::dataset

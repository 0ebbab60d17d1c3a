#include "services/dataset/ingest_pipeline.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/eth/hash.h"
#include "gmock/gmock.h"
#include "google/protobuf/wire_format_lite.h"
#include "gtest/gtest.h"
#include "services/dataset/column_mapping.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
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

// The id hashes the identity header (format, name, chain id, parameters) and then the file's
// SHA-256 in hex, not the bytes themselves.
std::string ExpectedIdOverHeader(absl::string_view header, absl::string_view bytes) {
  return absl::StrCat(
      "ds-",
      eth::Sha256::HexDigest(absl::StrCat(header, eth::Sha256::HexDigest(bytes))).substr(0, 16));
}

std::string ExpectedId(absl::string_view format, absl::string_view name, uint64_t chain,
                       absl::string_view bytes) {
  return ExpectedIdOverHeader(absl::StrCat(format, "\n", name, "\n", chain, "\n"), bytes);
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

  // Other bytes (one more data row) under the same settings: another digest, another id.
  const std::string longer = absl::StrCat(
      kDarklist, "0xF193a9aFb00715AaCF7ca9Ebffafe02C77517C2E,Fake copy again,2018-11-07\n");
  IngestPipeline other_bytes(Options(), nullptr);
  ASSERT_THAT(Ingest(other_bytes, longer), IsOk());
  EXPECT_NE(other_bytes.result().dataset.sha256(), whole.result().dataset.sha256());
  EXPECT_NE(other_bytes.result().dataset.id(), id);
  EXPECT_EQ(other_bytes.result().dataset.id(), ExpectedId("mew_darklist", "darklist", 1, longer));
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

// Expected id of a format with parameters (a column mapping, an address list's label and tags).
std::string ExpectedIdWithParameters(absl::string_view format, absl::string_view name,
                                     uint64_t chain, absl::string_view parameters,
                                     absl::string_view bytes) {
  return ExpectedIdOverHeader(
      absl::StrCat(format, "\n", name, "\n", chain, "\n", parameters.size(), "\n", parameters),
      bytes);
}

v1::ColumnMapping WalletMapping() {
  v1::ColumnMapping mapping;
  mapping.set_address_column("wallet");
  mapping.mutable_label()->set_column("verdict");
  (*mapping.mutable_label()->mutable_values())["bad"] = "Scam";
  (*mapping.mutable_label()->mutable_values())["good"] = "Legit";
  mapping.mutable_note()->set_column("notes");
  return mapping;
}

constexpr char kWallets[] =
    "wallet,verdict,notes\n"
    "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,bad,seen in a drainer\n"
    "0x6B175474E89094C44Da98b954EedeAC495271d0F,good,\n";

IngestOptions MappingOptions(v1::ColumnMapping mapping) {
  IngestOptions options = Options("wallets");
  options.filename = "wallets.csv";
  options.format = v1::DATASET_FORMAT_CSV_MAPPING;
  options.column_mapping = std::move(mapping);
  return options;
}

TEST(IngestPipelineTest, ReadsACsvThroughItsColumnMapping) {
  VectorSink sink;
  IngestPipeline pipeline(MappingOptions(WalletMapping()), &sink);
  ASSERT_THAT(Ingest(pipeline, kWallets, 5), IsOk());
  const v1::Dataset& dataset = pipeline.result().dataset;
  EXPECT_EQ(dataset.format(), v1::DATASET_FORMAT_CSV_MAPPING);
  EXPECT_EQ(pipeline.result().format_detection,
            "format csv_mapping given in the upload metadata; the column mapping reads header "
            "columns wallet,verdict,notes");
  EXPECT_EQ(dataset.line_count(), 2u);
  EXPECT_EQ(dataset.record_count(), 2u);
  EXPECT_THAT(dataset.label_counts(), UnorderedElementsAre(Pair("Scam", 1u), Pair("Legit", 1u)));
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].address(), "0xa153a6eF80fb5d60de18688bdC82684d48FC8De1");
  EXPECT_EQ(sink.records[0].original_label(), "bad");
  EXPECT_EQ(sink.records[0].note(), "seen in a drainer");
  EXPECT_EQ(sink.records[0].source(), "wallets");
}

TEST(IngestPipelineTest, TheMappingIsPartOfTheId) {
  IngestPipeline first(MappingOptions(WalletMapping()), nullptr);
  ASSERT_THAT(Ingest(first, kWallets), IsOk());
  const std::string id = first.result().dataset.id();
  EXPECT_EQ(id, ExpectedIdWithParameters("csv_mapping", "wallets", 1,
                                         SerializeMappingForId(WalletMapping()), kWallets));

  // The same mapping built in another order: the same id.
  v1::ColumnMapping reordered;
  reordered.mutable_note()->set_column("notes");
  (*reordered.mutable_label()->mutable_values())["good"] = "Legit";
  (*reordered.mutable_label()->mutable_values())["bad"] = "Scam";
  reordered.mutable_label()->set_column("verdict");
  reordered.set_address_column("wallet");
  IngestPipeline same(MappingOptions(reordered), nullptr);
  ASSERT_THAT(Ingest(same, kWallets, 3), IsOk());
  EXPECT_EQ(same.result().dataset.id(), id);

  // The same bytes under another mapping: another id.
  v1::ColumnMapping other = WalletMapping();
  other.mutable_note()->Clear();
  IngestPipeline different(MappingOptions(other), nullptr);
  ASSERT_THAT(Ingest(different, kWallets), IsOk());
  EXPECT_NE(different.result().dataset.id(), id);
}

TEST(IngestPipelineTest, AMappingWithoutAFormatImpliesCsvMapping) {
  IngestOptions options = MappingOptions(WalletMapping());
  options.format = v1::DATASET_FORMAT_UNSPECIFIED;
  IngestPipeline pipeline(options, nullptr);
  ASSERT_THAT(Ingest(pipeline, kWallets), IsOk());
  EXPECT_EQ(pipeline.result().dataset.format(), v1::DATASET_FORMAT_CSV_MAPPING);
  EXPECT_THAT(pipeline.result().format_detection,
              HasSubstr("format csv_mapping implied by the column mapping in the upload "
                        "metadata"));
}

TEST(IngestPipelineTest, FormatParametersAreCheckedBeforeAnyByte) {
  IngestOptions mapping_with_other_format = MappingOptions(WalletMapping());
  mapping_with_other_format.format = v1::DATASET_FORMAT_OFAC_SDN;
  EXPECT_THAT(ValidateIngestOptions(mapping_with_other_format),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadMetadata.column_mapping is only for format csv_mapping, "
                                 "but the upload names format ofac_sdn")));
  IngestPipeline pipeline(mapping_with_other_format, nullptr);
  EXPECT_THAT(pipeline.AddChunk(kWallets),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("only for format")));
  EXPECT_THAT(pipeline.Finish(), StatusIs(absl::StatusCode::kInvalidArgument));

  IngestOptions no_mapping = Options();
  no_mapping.format = v1::DATASET_FORMAT_CSV_MAPPING;
  EXPECT_THAT(ValidateIngestOptions(no_mapping),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("format csv_mapping needs UploadMetadata.column_mapping")));

  v1::ColumnMapping bad = WalletMapping();
  (*bad.mutable_label()->mutable_values())["bad"] = "Fraud";
  EXPECT_THAT(ValidateIngestOptions(MappingOptions(bad)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadMetadata.column_mapping.label.values[\"bad\"]: \"Fraud\" "
                                 "is not a report label")));

  IngestOptions label_with_other_format = Options();
  label_with_other_format.format = v1::DATASET_FORMAT_MEW_DARKLIST;
  label_with_other_format.label = "Scam";
  EXPECT_THAT(ValidateIngestOptions(label_with_other_format),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadMetadata.label and UploadMetadata.tags are only for "
                                 "format address_list")));
  IngestOptions tags_with_mapping = MappingOptions(WalletMapping());
  tags_with_mapping.tags = {"x"};
  EXPECT_THAT(ValidateIngestOptions(tags_with_mapping),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("column_mapping.tags.value")));

  IngestOptions list_without_label = Options();
  list_without_label.format = v1::DATASET_FORMAT_ADDRESS_LIST;
  EXPECT_THAT(ValidateIngestOptions(list_without_label),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("format address_list needs UploadMetadata.label")));
  IngestOptions unknown_label = Options();
  unknown_label.label = "phishing";
  EXPECT_THAT(
      ValidateIngestOptions(unknown_label),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("did you mean \"Phish / Hack\"?")));

  IngestOptions merged = Options();
  merged.format = v1::DATASET_FORMAT_MERGED;
  EXPECT_THAT(ValidateIngestOptions(merged),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("made by MergeDatasets")));
  EXPECT_THAT(ValidateIngestOptions(Options()), IsOk());
}

TEST(IngestPipelineTest, AMappingNamingAMissingColumnRejectsTheFile) {
  v1::ColumnMapping mapping = WalletMapping();
  mapping.mutable_name()->set_column("owner");
  IngestPipeline pipeline(MappingOptions(mapping), nullptr);
  EXPECT_THAT(Ingest(pipeline, kWallets),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "wallets.csv: column_mapping.name.column names column \"owner\", which is "
                       "not in the header (header: wallet,verdict,notes)"));
  EXPECT_THAT(pipeline.result().rejection, HasSubstr("column_mapping.name.column"));
}

IngestOptions ListOptions(std::string label, std::vector<std::string> tags = {}) {
  IngestOptions options = Options("list");
  options.filename = "list.txt";
  options.format = v1::DATASET_FORMAT_ADDRESS_LIST;
  options.label = std::move(label);
  options.tags = std::move(tags);
  return options;
}

TEST(IngestPipelineTest, ReadsAnAddressListWithAHeader) {
  const std::string data =
      "Address\r\n"
      "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1\r\n"
      "\r\n"
      " 0x6B175474E89094C44Da98b954EedeAC495271d0F\r\n"
      "0x123\r\n"
      "\r\n";
  for (size_t chunk_size : {1, 7, 1000}) {
    SCOPED_TRACE(chunk_size);
    VectorSink sink;
    IngestOptions options = ListOptions("phish / hack", {"drainer", "airdrop"});
    options.max_invalid_fraction = 0.5;
    IngestPipeline pipeline(options, &sink);
    ASSERT_THAT(Ingest(pipeline, data, chunk_size), IsOk());
    const v1::Dataset& dataset = pipeline.result().dataset;
    EXPECT_EQ(dataset.format(), v1::DATASET_FORMAT_ADDRESS_LIST);
    EXPECT_EQ(pipeline.result().format_detection,
              "format address_list given in the upload metadata; line 1 is the single header "
              "column \"Address\"");
    // Blank lines are skipped; the header is not a line.
    EXPECT_EQ(dataset.line_count(), 3u);
    EXPECT_EQ(dataset.invalid_line_count(), 1u);
    EXPECT_EQ(dataset.record_count(), 2u);
    EXPECT_THAT(dataset.label_counts(), UnorderedElementsAre(Pair("Phish / Hack", 2u)));
    ASSERT_EQ(sink.records.size(), 2u);
    EXPECT_EQ(sink.records[0].line(), 2u);
    EXPECT_EQ(sink.records[0].label(), "Phish / Hack");
    EXPECT_EQ(sink.records[0].original_label(), "phish / hack");
    EXPECT_THAT(sink.records[0].tags(), ::testing::ElementsAre("drainer", "airdrop"));
    EXPECT_EQ(sink.records[1].line(), 4u);
    const std::vector<v1::ValidationIssue>& issues = pipeline.result().issues;
    ASSERT_EQ(issues.size(), 2u);
    EXPECT_EQ(issues[0].line(), 4u);
    EXPECT_EQ(issues[0].severity(), v1::ValidationIssue::SEVERITY_WARNING);
    EXPECT_THAT(issues[0].reason(), HasSubstr("whitespace around address"));
    EXPECT_EQ(issues[1].line(), 5u);
    EXPECT_EQ(issues[1].field(), "address");
    EXPECT_EQ(issues[1].severity(), v1::ValidationIssue::SEVERITY_ERROR);
  }
}

TEST(IngestPipelineTest, DetectsAHeaderlessAddressListAndMapsItsFirstLine) {
  const std::string data =
      "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1\n"
      "0xF193a9aFb00715AaCF7ca9Ebffafe02C77517C2E\n";
  IngestOptions options = Options("list");
  options.label = "Scam";
  VectorSink sink;
  IngestPipeline pipeline(options, &sink);
  ASSERT_THAT(Ingest(pipeline, data, 4), IsOk());
  EXPECT_EQ(pipeline.result().dataset.format(), v1::DATASET_FORMAT_ADDRESS_LIST);
  EXPECT_EQ(pipeline.result().format_detection,
            "format address_list implied by the label in the upload metadata; line 1 is a "
            "single address and there is no header");
  EXPECT_EQ(pipeline.result().dataset.line_count(), 2u);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].line(), 1u);
  EXPECT_EQ(sink.records[0].address(), "0xa153a6eF80fb5d60de18688bdC82684d48FC8De1");
  EXPECT_EQ(sink.records[1].line(), 2u);
  EXPECT_THAT(sink.records[0].tags(), IsEmpty());
}

TEST(IngestPipelineTest, ADetectedAddressListWithoutALabelAsksForOne) {
  for (const char* data : {"address\n0xa153a6ef80fb5d60de18688bdc82684d48fc8de1\n",
                           "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1\n"}) {
    IngestPipeline pipeline(Options(), nullptr);
    EXPECT_THAT(Ingest(pipeline, data),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("dark.csv line 1: detected address_list"),
                               HasSubstr("pass the report label of every address in the upload "
                                         "metadata (UploadMetadata.label"))));
  }
}

TEST(IngestPipelineTest, LabelAndTagsArePartOfAnAddressListId) {
  const std::string data = "address\n0xa153a6ef80fb5d60de18688bdc82684d48fc8de1\n";
  IngestPipeline scam(ListOptions("Scam", {"a", "b"}), nullptr);
  ASSERT_THAT(Ingest(scam, data), IsOk());
  EXPECT_EQ(scam.result().dataset.id(),
            ExpectedIdWithParameters("address_list", "list", 1, "label\nScam\ntags\na\nb", data));
  IngestPipeline heist(ListOptions("Heist", {"a", "b"}), nullptr);
  ASSERT_THAT(Ingest(heist, data), IsOk());
  IngestPipeline fewer_tags(ListOptions("Scam", {"a"}), nullptr);
  ASSERT_THAT(Ingest(fewer_tags, data), IsOk());
  EXPECT_NE(heist.result().dataset.id(), scam.result().dataset.id());
  EXPECT_NE(fewer_tags.result().dataset.id(), scam.result().dataset.id());
  EXPECT_NE(fewer_tags.result().dataset.id(), heist.result().dataset.id());
}

// A few Kaggle-layout rows: a flagged address with scientific notation, an unflagged one
// with empty ERC-20 cells and "0"/"None" token names, and a transaction hash in the Address
// column.
std::string KaggleSample() {
  std::string header = "Index,Address,FLAG";
  std::vector<std::string> rows = {
      "1,0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,1",
      "2,0x6B175474E89094C44Da98b954EedeAC495271d0F,0",
      "3,0x11c058c3efbf53939fb6872b09a2b5cf2410a1e2c3f3c867664e43a626d878c0,1"};
  const v1::ColumnMapping& mapping = *BuiltInMapping(v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES);
  for (int i = 0; i < mapping.features_size(); ++i) {
    const v1::FeatureColumn& feature = mapping.features(i);
    absl::StrAppend(&header, i % 2 == 0 ? ", " : ",", feature.column(), i == 9 ? " " : "");
    const bool text = feature.kind() == v1::FeatureColumn::KIND_TEXT;
    const bool erc20 = i >= 22;
    absl::StrAppend(&rows[0], ",", text ? "OmiseGO" : (i == 0 ? "1.00002E+12" : "3.80E-05"));
    absl::StrAppend(&rows[1], ",", text ? (i == 45 ? "None" : "0") : (erc20 ? "" : "7"));
    absl::StrAppend(&rows[2], ",", text ? " " : "0");
  }
  return absl::StrCat(header, "\n", rows[0], "\n", rows[1], "\n", rows[2], "\n");
}

TEST(IngestPipelineTest, DetectsAndReadsTheKaggleFeatureLayout) {
  VectorSink sink;
  IngestOptions options = Options("kaggle");
  options.max_invalid_fraction = 0.5;
  IngestPipeline pipeline(options, &sink);
  ASSERT_THAT(Ingest(pipeline, KaggleSample(), 100), IsOk());
  const v1::Dataset& dataset = pipeline.result().dataset;
  EXPECT_EQ(dataset.format(), v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES);
  EXPECT_EQ(pipeline.result().format_detection,
            "detected kaggle_fraud_features from header columns Index,Address,FLAG and 47 more "
            "columns");
  EXPECT_EQ(dataset.line_count(), 3u);
  EXPECT_EQ(dataset.invalid_line_count(), 1u);
  EXPECT_THAT(dataset.label_counts(), UnorderedElementsAre(Pair("Scam", 1u), Pair("Unknown", 1u)));
  ASSERT_EQ(sink.records.size(), 2u);
  ASSERT_EQ(sink.records[0].features_size(), 47);
  EXPECT_EQ(sink.records[0].features(0).number(), 1.00002e12);
  EXPECT_DOUBLE_EQ(sink.records[0].features(1).number(), 3.8e-05);
  // "max value received " keeps no stray space in its feature name.
  EXPECT_EQ(sink.records[0].features(9).name(), "max value received");
  EXPECT_EQ(sink.records[0].features(46).text(), "OmiseGO");
  EXPECT_EQ(sink.records[1].features_size(), 22);
  EXPECT_THAT(sink.records[1].tags(), ::testing::ElementsAre("not flagged"));
  ASSERT_EQ(pipeline.result().issues.size(), 1u);
  EXPECT_EQ(pipeline.result().issues[0].line(), 4u);
  EXPECT_EQ(pipeline.result().issues[0].field(), "Address");
}

TEST(IngestPipelineTest, DetectsAndReadsTheCanonicalCsv) {
  const std::string data =
      "address,chain_id,name,account_type,contract_type,entity,label,tags,original_label,"
      "source,note,line,feature:Sent tnx\n"
      "0x6B175474E89094C44Da98b954EedeAC495271d0F,137,Dai,Smart Contract,Token,MakerDAO,Legit,"
      "DeFi;Token Contract,uniswap-default-list,uniswap,decimals 18,2,5\n";
  IngestOptions options = Options("reimport");
  options.chain_id = 137;
  VectorSink sink;
  IngestPipeline pipeline(options, &sink);
  ASSERT_THAT(Ingest(pipeline, data), IsOk());
  EXPECT_EQ(pipeline.result().dataset.format(), v1::DATASET_FORMAT_CANONICAL_CSV);
  EXPECT_THAT(pipeline.result().format_detection, HasSubstr("detected canonical_csv"));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].chain_id(), 137u);
  EXPECT_EQ(sink.records[0].source(), "uniswap");
  EXPECT_EQ(sink.records[0].features(0).number(), 5);
  EXPECT_EQ(pipeline.result().dataset.id(), ExpectedId("canonical_csv", "reimport", 137, data));
}

TEST(IngestPipelineTest, NonUtf8CellsAreErrorsNamingLineFieldAndByte) {
  // Line 3 was saved as Latin-1: "caf\xE9" is not UTF-8.
  const std::string data =
      absl::StrCat("address,comment,date\n",
                   "0xF193a9aFb00715AaCF7ca9Ebffafe02C77517C2E,Fake token,2018-11-06\n",
                   "0xa153a6eF80fb5d60de18688bdC82684d48FC8De1,caf\xE9 scam,2018-10-28\n",
                   "0x8888801aF4d980682e47f1A9036e589479e835C5,caf\xC3\xA9 is UTF-8,2018-10-28\n");
  VectorSink sink;
  IngestOptions options = Options();
  options.max_invalid_fraction = 0.5;
  IngestPipeline pipeline(options, &sink);
  ASSERT_THAT(Ingest(pipeline, data), IsOk());
  EXPECT_EQ(pipeline.result().dataset.line_count(), 3u);
  EXPECT_EQ(pipeline.result().dataset.invalid_line_count(), 1u);
  EXPECT_EQ(sink.records.size(), 2u);
  ASSERT_EQ(pipeline.result().issues.size(), 1u);
  const v1::ValidationIssue& issue = pipeline.result().issues[0];
  EXPECT_EQ(issue.severity(), v1::ValidationIssue::SEVERITY_ERROR);
  EXPECT_EQ(issue.file(), "dark.csv");
  EXPECT_EQ(issue.line(), 3u);
  EXPECT_EQ(issue.field(), "comment");
  EXPECT_THAT(issue.reason(), AllOf(HasSubstr("not UTF-8"), HasSubstr("byte 0xE9 at byte 4")));
}

TEST(IngestPipelineTest, NonUtf8JsonLineIsAnError) {
  const std::string data = absl::StrCat(
      R"({"prompt": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "completion": "\"Name\": )",
      "\"caf\xE9\", \\\"Label\\\": \\\"Scam\\\"\"}\n");
  IngestOptions options = Options("legacy");
  options.max_invalid_fraction = 1;
  IngestPipeline pipeline(options, nullptr);
  // The first line decides the format, so the file is rejected; the message quotes the bad
  // byte escaped, so that it stays a valid protobuf string.
  EXPECT_THAT(Ingest(pipeline, data), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(pipeline.result().rejection, AllOf(HasSubstr("line 1"), Not(HasSubstr("\xE9"))));
  EXPECT_TRUE(google::protobuf::internal::WireFormatLite::VerifyUtf8String(
      pipeline.result().rejection.data(), static_cast<int>(pipeline.result().rejection.size()),
      google::protobuf::internal::WireFormatLite::PARSE, "rejection"));
}

TEST(IngestPipelineTest, DuplicateAddressesWithConflictingFieldsAreFlagged) {
  // Forta-style rows: the same address in two spellings with different names, and an exact
  // repeat that needs no warning.
  constexpr char kPhishing[] =
      "address,etherscan_tag,etherscan_labels,is_contract\n"
      "0xa153a6eF80fb5d60de18688bdC82684d48FC8De1,Fake_Phishing1,phish-hack,False\n"
      "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,Fake_Phishing2,phish-hack,True\n"
      "0xF193a9aFb00715AaCF7ca9Ebffafe02C77517C2E,Fake_Phishing3,phish-hack,False\n"
      "0xF193a9aFb00715AaCF7ca9Ebffafe02C77517C2E,Fake_Phishing3,phish-hack,False\n";
  VectorSink sink;
  IngestPipeline pipeline(Options("phishing"), &sink);
  ASSERT_THAT(Ingest(pipeline, kPhishing), IsOk());
  EXPECT_EQ(sink.records.size(), 4u);
  EXPECT_EQ(pipeline.result().dataset.address_count(), 2u);
  ASSERT_EQ(pipeline.result().issues.size(), 1u);
  const v1::ValidationIssue& issue = pipeline.result().issues[0];
  EXPECT_EQ(issue.severity(), v1::ValidationIssue::SEVERITY_WARNING);
  EXPECT_EQ(issue.line(), 3u);
  EXPECT_EQ(issue.field(), "name");
  EXPECT_THAT(issue.reason(),
              AllOf(HasSubstr("duplicate address 0xa153a6eF80fb5d60de18688bdC82684d48FC8De1"),
                    HasSubstr("first on line 2"), HasSubstr("conflicting name, account_type")));
}

TEST(IngestPipelineTest, RecordLimitIsEnforcedWhileStreaming) {
  VectorSink sink;
  IngestOptions options = Options();
  options.max_records = 2;
  IngestPipeline pipeline(options, &sink);
  // The third record arrives with the first chunk's last line: the pipeline stops there.
  EXPECT_THAT(pipeline.AddChunk(kDarklist),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("dark.csv: line 4"), HasSubstr("past 2 records"),
                             HasSubstr("--max_records"))));
  EXPECT_EQ(sink.records.size(), 2u);
  EXPECT_THAT(pipeline.Finish(), StatusIs(absl::StatusCode::kResourceExhausted));
}

// --- Untrusted input in messages, record size limits, issue kinds ----------------------------

// A message or issue that quotes the file or the request: one line, a few hundred bytes.
void ExpectShortLine(absl::string_view text) {
  EXPECT_LT(text.size(), 600u) << text.substr(0, 300);
  EXPECT_EQ(text.find('\n'), absl::string_view::npos) << text.substr(0, 300);
}

// The issue of `line`, or a default one (with a test failure) when there is none.
v1::ValidationIssue IssueOn(const IngestPipeline& pipeline, uint64_t line) {
  for (const v1::ValidationIssue& issue : pipeline.result().issues) {
    if (issue.line() == line) return issue;
  }
  ADD_FAILURE() << "no issue on line " << line;
  return v1::ValidationIssue();
}

// A mapping with the address, a label column and the columns `name` and `tags`.
v1::ColumnMapping LabelTagsMapping() {
  v1::ColumnMapping mapping;
  mapping.set_address_column("address");
  mapping.mutable_label()->set_column("label");
  mapping.mutable_name()->set_column("name");
  mapping.mutable_tags()->set_column("tags");
  return mapping;
}

IngestOptions LenientMappingOptions(const v1::ColumnMapping& mapping) {
  IngestOptions options = Options("mapped");
  options.filename = "m.csv";
  options.format = v1::DATASET_FORMAT_CSV_MAPPING;
  options.column_mapping = mapping;
  options.max_invalid_fraction = 1;
  return options;
}

// `n` distinct lowercase addresses, one per line: a 21 KB list for n = 500.
std::string AddressList(int n) {
  std::string data = "address\n";
  for (int i = 0; i < n; ++i) absl::StrAppend(&data, absl::StrFormat("0x%040x\n", 0x5eed00 + i));
  return data;
}

// Counts the bytes of the records as the record store writes them.
class SizeSink : public RecordSink {
 public:
  absl::Status Write(const common::v1::AddressRecord& record) override {
    bytes += record.ByteSizeLong();
    largest = std::max<size_t>(largest, record.ByteSizeLong());
    ++records;
    return absl::OkStatus();
  }
  size_t bytes = 0;
  size_t largest = 0;
  size_t records = 0;
};

TEST(IngestPipelineTest, HugeAddressCellGivesAShortIssueNamingLineAndField) {
  IngestOptions options = Options();
  options.max_row_bytes = 8 << 20;
  options.max_invalid_fraction = 1;
  const std::string address = absl::StrCat("0x", std::string(5 << 20, 'a'));
  IngestPipeline pipeline(options, nullptr);
  ASSERT_THAT(Ingest(pipeline, absl::StrCat(kDarklist, address, ",comment,2018-01-01\n")), IsOk());
  const v1::ValidationIssue issue = IssueOn(pipeline, 5);
  EXPECT_EQ(issue.file(), "dark.csv");
  EXPECT_EQ(issue.field(), "address");
  EXPECT_EQ(issue.kind(), "invalid_address");
  EXPECT_EQ(issue.severity(), v1::ValidationIssue::SEVERITY_ERROR);
  EXPECT_THAT(issue.reason(), AllOf(HasSubstr("invalid address \"0xaaaa"),
                                    HasSubstr("…\" (5242882 bytes)"), HasSubstr("need 40")));
  ExpectShortLine(issue.reason());
  EXPECT_EQ(pipeline.result().dataset.invalid_line_count(), 1u);
}

TEST(IngestPipelineTest, HugeLabelCellGivesAShortIssueNamingLineAndField) {
  IngestOptions options = LenientMappingOptions(LabelTagsMapping());
  options.max_row_bytes = 8 << 20;
  const std::string label(5 << 20, 'x');
  IngestPipeline pipeline(options, nullptr);
  ASSERT_THAT(Ingest(pipeline, absl::StrCat("address,label,name,tags\n"
                                            "0x098b716b8aaf21512996dc57eb0615e2383e2f96,Scam,,\n"
                                            "0x098b716b8aaf21512996dc57eb0615e2383e2f97,",
                                            label, ",,\n")),
              IsOk());
  const v1::ValidationIssue issue = IssueOn(pipeline, 3);
  EXPECT_EQ(issue.field(), "label");
  EXPECT_EQ(issue.kind(), "unknown_label");
  EXPECT_THAT(issue.reason(),
              AllOf(HasSubstr("\"xxxx"), HasSubstr("(5242880 bytes)"), HasSubstr("did you mean")));
  ExpectShortLine(issue.reason());
}

TEST(IngestPipelineTest, HugeJsonLabelGivesAShortIssueNamingLineAndField) {
  IngestOptions options = Options("legacy");
  options.filename = "legacy.jsonl";
  options.max_row_bytes = 8 << 20;
  options.max_invalid_fraction = 1;
  const std::string label(5 << 20, 'x');
  IngestPipeline pipeline(options, nullptr);
  ASSERT_THAT(
      Ingest(pipeline, absl::StrCat(R"({"prompt": "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", )",
                                    R"("completion": "\"Label\": \"Scam\""})", "\n",
                                    R"({"prompt": "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", )",
                                    R"("completion": "\"Label\": \")", label, R"(\""})", "\n")),
      IsOk());
  const v1::ValidationIssue issue = IssueOn(pipeline, 2);
  EXPECT_EQ(issue.field(), "completion.Label");
  EXPECT_EQ(issue.kind(), "unknown_label");
  EXPECT_THAT(issue.reason(), HasSubstr("(5242880 bytes)"));
  ExpectShortLine(issue.reason());
}

TEST(IngestPipelineTest, HugeRequestLabelIsRefusedWithAShortMessage) {
  IngestOptions options = Options("list");
  options.label = std::string(5 << 20, 'x');
  const absl::Status status = ValidateIngestOptions(options);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("UploadMetadata.label is 5242880 characters long"),
                                     HasSubstr("--max_field_chars"))));
  ExpectShortLine(status.message());
}

TEST(IngestPipelineTest, HostileHeaderCellsAndFileNamesGiveShortOneLineMessages) {
  IngestOptions options = Options();
  options.filename = std::string("evil\nE 2026-01-01T00:00:00.000Z dataset] forged.csv");
  // With the format given, the message is short apart from what it quotes of the file.
  options.format = v1::DATASET_FORMAT_MEW_DARKLIST;
  {
    IngestPipeline pipeline(options, nullptr);
    const absl::Status status = Ingest(pipeline, std::string(100 << 10, '\0') + "\n0x1\n");
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("evil\\n")));
    ExpectShortLine(status.message());
    ExpectShortLine(pipeline.result().rejection);
  }
  {
    IngestPipeline pipeline(options, nullptr);
    const absl::Status status = Ingest(pipeline, "\"address\nI forged\",name\n0x1,a\n");
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("address\\nI")));
    ExpectShortLine(status.message());
  }
}

TEST(IngestPipelineTest, RequestTagsOverTheLimitsAreRefusedBeforeAnyRecord) {
  const std::string list = AddressList(500);
  ASSERT_LT(list.size(), 22000u);
  IngestOptions long_tag = Options("list");
  long_tag.label = "Scam";
  long_tag.tags = {std::string(100000, 't')};
  SizeSink sink;
  IngestPipeline pipeline(long_tag, &sink);
  EXPECT_THAT(Ingest(pipeline, list),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("UploadMetadata.tags[0] is 100000 characters long, more "
                                       "than the limit of 128"),
                             HasSubstr("--max_tag_chars"))));
  EXPECT_EQ(sink.bytes, 0u);

  IngestOptions many_tags = Options("list");
  many_tags.label = "Scam";
  for (int i = 0; i < 10000; ++i) many_tags.tags.push_back(absl::StrCat("t", i));
  EXPECT_THAT(ValidateIngestOptions(many_tags),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("UploadMetadata.tags has 10000 tags, more than the limit "
                                       "of 32"),
                             HasSubstr("--max_tags"))));
  IngestPipeline refused(many_tags, &sink);
  EXPECT_THAT(Ingest(refused, list), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(sink.bytes, 0u);

  // The limits are settings.
  many_tags.max_tags = 10000;
  EXPECT_THAT(ValidateIngestOptions(many_tags), IsOk());
  long_tag.max_tag_chars = 100000;
  EXPECT_THAT(ValidateIngestOptions(long_tag), IsOk());
}

TEST(IngestPipelineTest, TagsWithinTheLimitsKeepTheStoredSizeBounded) {
  IngestOptions options = Options("list");
  options.label = "Scam";
  for (int i = 0; i < 32; ++i) options.tags.push_back(std::string(128, 'a' + i % 26));
  SizeSink sink;
  IngestPipeline pipeline(options, &sink);
  const std::string list = AddressList(500);
  ASSERT_THAT(Ingest(pipeline, list), IsOk());
  EXPECT_EQ(sink.records, 500u);
  // Address, label, source and at most 32 tags of 128 characters each.
  EXPECT_LT(sink.largest, 32u * 131 + 100);
}

TEST(IngestPipelineTest, MappingConstantsOverTheLimitsAreRefused) {
  v1::ColumnMapping mapping = LabelTagsMapping();
  mapping.mutable_tags()->clear_column();
  std::vector<std::string> tags;
  for (int i = 0; i < 10000; ++i) tags.push_back(absl::StrCat("t", i));
  mapping.mutable_tags()->set_value(absl::StrJoin(tags, ";"));
  EXPECT_THAT(ValidateIngestOptions(LenientMappingOptions(mapping)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadMetadata.column_mapping.tags.value holds 10000 tags")));
  mapping = LabelTagsMapping();
  mapping.mutable_name()->set_column("");
  mapping.mutable_name()->set_value(std::string(300, 'n'));
  EXPECT_THAT(ValidateIngestOptions(LenientMappingOptions(mapping)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadMetadata.column_mapping.name.value is 300 characters")));
  mapping = LabelTagsMapping();
  (*mapping.mutable_label()->mutable_values())["x"] = std::string(100000, 'l');
  EXPECT_THAT(ValidateIngestOptions(LenientMappingOptions(mapping)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("column_mapping.label.values[\"x\"] is 100000 characters")));
}

TEST(IngestPipelineTest, CellsOverTheLimitsSkipTheirLine) {
  std::string data = "address,label,name,tags\n";
  std::vector<std::string> tags;
  for (int i = 0; i < 10000; ++i) tags.push_back(absl::StrCat("t", i));
  for (int i = 0; i < 50; ++i) {
    std::string name = "ok";
    std::string tag_cell = "a;b";
    if (i == 10) tag_cell = absl::StrJoin(tags, ";");  // Line 12.
    if (i == 20) tag_cell = std::string(100000, 't');  // Line 22.
    if (i == 30) name = std::string(300, 'n');         // Line 32.
    absl::StrAppend(&data, absl::StrFormat("0x%040x", 0xabc + i), ",Scam,", name, ",", tag_cell,
                    "\n");
  }
  SizeSink sink;
  IngestPipeline pipeline(LenientMappingOptions(LabelTagsMapping()), &sink);
  ASSERT_THAT(Ingest(pipeline, data), IsOk());
  EXPECT_EQ(pipeline.result().dataset.invalid_line_count(), 3u);
  EXPECT_EQ(sink.records, 47u);
  EXPECT_LT(sink.largest, 200u);
  v1::ValidationIssue many = IssueOn(pipeline, 12);
  EXPECT_EQ(many.kind(), "too_many_tags");
  EXPECT_EQ(many.field(), "tags");
  EXPECT_THAT(many.reason(), HasSubstr("10000 tags, more than the limit of 32"));
  v1::ValidationIssue long_tag = IssueOn(pipeline, 22);
  EXPECT_EQ(long_tag.kind(), "tag_too_long");
  EXPECT_EQ(long_tag.file(), "m.csv");
  EXPECT_THAT(long_tag.reason(), HasSubstr("is 100000 characters long"));
  ExpectShortLine(long_tag.reason());
  v1::ValidationIssue long_name = IssueOn(pipeline, 32);
  EXPECT_EQ(long_name.kind(), "field_too_long");
  EXPECT_EQ(long_name.field(), "name");
  EXPECT_EQ(long_name.severity(), v1::ValidationIssue::SEVERITY_ERROR);
}

TEST(IngestPipelineTest, ErrorsAreKeptInPreferenceToWarningsAndAllAreCounted) {
  std::string data = "address,comment,date\n";
  for (int i = 0; i < 5; ++i) {  // Lines 2-6: bad checksums (warnings).
    absl::StrAppend(&data, "0x1F9840a85d5aF5bf1D1762F925BDADdC4201F984,c", i, ",2018-01-01\n");
  }
  absl::StrAppend(&data, "0x12,bad,2018-01-01\n0x34,bad,2018-01-01\n");  // Lines 7, 8.
  IngestOptions options = Options();
  options.max_issues = 3;
  options.max_invalid_fraction = 1;
  IngestPipeline pipeline(options, nullptr);
  ASSERT_THAT(Ingest(pipeline, data), IsOk());
  const std::vector<v1::ValidationIssue>& issues = pipeline.result().issues;
  ASSERT_EQ(issues.size(), 3u);
  EXPECT_EQ(issues[0].line(), 2u);
  EXPECT_EQ(issues[0].kind(), "bad_checksum");
  EXPECT_EQ(issues[1].line(), 7u);
  EXPECT_EQ(issues[1].kind(), "invalid_address");
  EXPECT_EQ(issues[2].line(), 8u);
  const std::vector<v1::IssueCount>& counts = pipeline.result().issue_counts;
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].severity(), v1::ValidationIssue::SEVERITY_ERROR);
  EXPECT_EQ(counts[0].kind(), "invalid_address");
  EXPECT_EQ(counts[0].count(), 2u);
  EXPECT_EQ(counts[1].severity(), v1::ValidationIssue::SEVERITY_WARNING);
  EXPECT_EQ(counts[1].kind(), "bad_checksum");
  EXPECT_EQ(counts[1].count(), 5u);
}

TEST(IngestPipelineTest, DuplicateConflictsPastTheKeptIssuesAreCounted) {
  IngestOptions options = LenientMappingOptions(LabelTagsMapping());
  options.max_issues = 1;
  IngestPipeline pipeline(options, nullptr);
  ASSERT_THAT(Ingest(pipeline,
                     "address,label,name,tags\n"
                     "0x098b716b8aaf21512996dc57eb0615e2383e2f96,Scam,,\n"
                     "0x098b716b8aaf21512996dc57eb0615e2383e2f96,Legit,,\n"
                     "0x098b716b8aaf21512996dc57eb0615e2383e2f96,Heist,,\n"),
              IsOk());
  ASSERT_EQ(pipeline.result().issues.size(), 1u);
  EXPECT_EQ(pipeline.result().issues[0].kind(), "duplicate_conflict");
  ASSERT_EQ(pipeline.result().issue_counts.size(), 1u);
  EXPECT_EQ(pipeline.result().issue_counts[0].kind(), "duplicate_conflict");
  EXPECT_EQ(pipeline.result().issue_counts[0].count(), 2u);
}

}  // namespace
}  // namespace ethscan::dataset

// Parses every example column mapping under examples/mappings/ as protobuf JSON and uploads a
// small CSV of the shape it describes through the ingest pipeline.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/dataset/column_mapping.h"
#include "services/dataset/ingest_pipeline.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class VectorSink : public RecordSink {
 public:
  absl::Status Write(const common::v1::AddressRecord& record) override {
    records.push_back(record);
    return absl::OkStatus();
  }
  std::vector<common::v1::AddressRecord> records;
};

// Reads examples/mappings/<name> from the source tree (CTest sets ETHSCAN_SOURCE_DIR).
v1::ColumnMapping LoadExample(const std::string& name) {
  const char* source_dir = std::getenv("ETHSCAN_SOURCE_DIR");
  EXPECT_NE(source_dir, nullptr) << "ETHSCAN_SOURCE_DIR is not set; run the test through ctest";
  v1::ColumnMapping mapping;
  if (source_dir == nullptr) return mapping;
  const std::string path = absl::StrCat(source_dir, "/examples/mappings/", name);
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << "cannot open " << path;
  std::stringstream json;
  json << file.rdbuf();
  google::protobuf::util::Status status =
      google::protobuf::util::JsonStringToMessage(json.str(), &mapping);
  EXPECT_TRUE(status.ok()) << path << ": " << status.ToString();
  EXPECT_THAT(ValidateColumnMapping(mapping), IsOk()) << path;
  return mapping;
}

// Ingests `csv` with `options` in one chunk.
absl::Status Ingest(IngestPipeline& pipeline, absl::string_view csv) {
  absl::Status status = pipeline.AddChunk(csv);
  if (!status.ok()) return status;
  return pipeline.Finish();
}

IngestOptions MappingOptions(const v1::ColumnMapping& mapping) {
  IngestOptions options;
  options.name = "example";
  options.filename = "example.csv";
  options.format = v1::DATASET_FORMAT_CSV_MAPPING;
  options.column_mapping = mapping;
  options.max_invalid_fraction = 1e-9;
  return options;
}

TEST(ExampleMappingsTest, WalletLabelNotesReadsAHandKeptList) {
  const v1::ColumnMapping mapping = LoadExample("wallet_label_notes.json");
  VectorSink sink;
  IngestPipeline pipeline(MappingOptions(mapping), &sink);
  ASSERT_THAT(Ingest(pipeline,
                     "wallet,label,notes\n"
                     "0x6B175474E89094C44Da98b954EedeAC495271d0F,Exchange,hot wallet\n"
                     "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,Drainer,\"from a report, 2024\"\n"
                     "0xF193a9aFb00715AaCF7ca9Ebffafe02C77517C2E,rug pull,\n"),
              IsOk());
  const v1::Dataset& dataset = pipeline.result().dataset;
  EXPECT_EQ(dataset.format(), v1::DATASET_FORMAT_CSV_MAPPING);
  EXPECT_EQ(dataset.line_count(), 3u);
  EXPECT_EQ(dataset.record_count(), 3u);
  EXPECT_THAT(dataset.label_counts(),
              UnorderedElementsAre(Pair("Legit", 1u), Pair("Phish / Hack", 1u), Pair("Scam", 1u)));
  EXPECT_THAT(pipeline.result().issues, IsEmpty());
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[1].address(), "0xa153a6eF80fb5d60de18688bdC82684d48FC8De1");
  EXPECT_EQ(sink.records[1].label(), "Phish / Hack");
  EXPECT_EQ(sink.records[1].original_label(), "Drainer");
  EXPECT_THAT(sink.records[1].tags(), ElementsAre("Drainer"));
  EXPECT_EQ(sink.records[1].note(), "from a report, 2024");
  EXPECT_EQ(sink.records[2].note(), "");
}

TEST(ExampleMappingsTest, FortaPhishingScamsMatchesTheBuiltInFormat) {
  const std::string csv =
      "address,etherscan_tag,etherscan_labels,is_contract\n"
      "0x000000000532b45f47779fce440748893b257865,Fake_Phishing3901,phish-hack,False\n"
      "0xf299f6B031Cc4dd1BfcB86A5e5590f99336a29c6,Fake_Phishing5186,phish-hack,True\n"
      "0x00000000072d54638c2c2a3da3f715360269eea1,Fake_Phishing4939,phish-hack,\n";
  VectorSink mapped;
  IngestPipeline through_mapping(MappingOptions(LoadExample("forta_phishing_scams.json")), &mapped);
  ASSERT_THAT(Ingest(through_mapping, csv), IsOk());

  IngestOptions builtin_options;
  builtin_options.name = "example";
  builtin_options.filename = "example.csv";
  VectorSink builtin;
  IngestPipeline through_format(builtin_options, &builtin);
  ASSERT_THAT(Ingest(through_format, csv), IsOk());
  ASSERT_EQ(through_format.result().dataset.format(), v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS);

  // The same records, and the same warning for the published bad checksum.
  ASSERT_EQ(mapped.records.size(), 3u);
  ASSERT_EQ(builtin.records.size(), 3u);
  for (size_t i = 0; i < mapped.records.size(); ++i) {
    EXPECT_EQ(mapped.records[i].SerializeAsString(), builtin.records[i].SerializeAsString())
        << mapped.records[i].ShortDebugString() << " vs " << builtin.records[i].ShortDebugString();
  }
  EXPECT_EQ(mapped.records[1].account_type(), "Smart Contract");
  EXPECT_EQ(mapped.records[2].account_type(), "");
  ASSERT_EQ(through_mapping.result().issues.size(), 1u);
  ASSERT_EQ(through_format.result().issues.size(), 1u);
  EXPECT_EQ(through_mapping.result().issues[0].reason(),
            through_format.result().issues[0].reason());
  // Another format, so another dataset.
  EXPECT_NE(through_mapping.result().dataset.id(), through_format.result().dataset.id());
}

}  // namespace
}  // namespace ethscan::dataset

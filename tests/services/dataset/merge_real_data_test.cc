// Real data end to end over gRPC: uploads several files of the shared example data, merges
// them, checks the merge against an independent count of the parents' addresses, splits the
// merged set (no address on two sides; a re-run gives the same ids), exports it as OpenAI chat
// JSONL and runs the independent format check tools/check_chat_jsonl.py on the export, and
// exports it as canonical CSV. Prints the figures (records, conflicts, tokens, cost). Skipped
// when the shared data folder is absent.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/dataset/dataset_service_harness.h"
#include "tests/testing/test_paths.h"

namespace ethscan::dataset {
namespace {

using ::testing::HasSubstr;

// The merged files, highest priority first.
constexpr const char* kFiles[] = {
    "uniswap_tokens/uniswap_default_mainnet.csv",
    "ofac/ofac_sdn_eth_addresses.csv",
    "etherscan_labels/etherscan_labels_2023.csv",
    "etherscan_labels/etherscan_malicious_2022.csv",
    "forta/phishing_scams.csv",
    "cryptoscamdb/cryptoscamdb_eth_addresses.csv",
    "etherscan_phish_features/address_data_e.csv",
};

// OpenAI's published training price of gpt-4o-mini fine-tuning, per million tokens, for the
// printed cost figure.
constexpr double kSamplePrice = 3.0;

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

std::string NameOf(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  return name.substr(0, name.rfind('.'));
}

// Runs a command; its exit code, or -1 when it did not exit normally.
int RunCommand(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

class MergeRealDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = ethscan::testing::SharedDataDir();
    if (data_dir_.empty()) {
      GTEST_SKIP() << "shared data folder not found (set ETHSCAN_SHARED_DATA or place it at "
                      "../shared/data beside the source tree); skipping the real-data merge";
    }
    const char* source = std::getenv("ETHSCAN_SOURCE_DIR");
    if (source == nullptr || *source == '\0') {
      GTEST_SKIP() << "ETHSCAN_SOURCE_DIR is not set (run through ctest): the chat format "
                      "checker cannot be found";
    }
    checker_ = absl::StrCat(source, "/tools/check_chat_jsonl.py");
    absl::StatusOr<std::unique_ptr<DatasetServiceHarness>> harness = DatasetServiceHarness::Start();
    ASSERT_TRUE(harness.ok()) << harness.status();
    harness_ = *std::move(harness);
    out_dir_ = ethscan::testing::MakeTempDir("merge-real-data");
  }
  void TearDown() override {
    if (!out_dir_.empty()) std::filesystem::remove_all(out_dir_);
  }

  v1::Dataset Upload(const std::string& relative_path) {
    v1::UploadMetadata metadata;
    metadata.set_name(NameOf(relative_path));
    metadata.set_filename(relative_path);
    v1::UploadDatasetResponse response;
    grpc::Status status =
        UploadBytes(harness_->stub(), metadata, ReadFile(data_dir_ + "/" + relative_path),
                    size_t{64} * 1024, &response);
    EXPECT_TRUE(status.ok()) << relative_path << ": " << status.error_message();
    // Later uploads are newer: the policy's recency then follows the upload order.
    harness_->clock().Advance(absl::Seconds(1));
    return response.dataset();
  }

  std::vector<common::v1::AddressRecord> ReadAll(const std::string& id) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(120));
    v1::ReadRecordsRequest request;
    request.set_id(id);
    std::unique_ptr<grpc::ClientReader<v1::ReadRecordsResponse>> reader =
        harness_->stub().ReadRecords(&context, request);
    std::vector<common::v1::AddressRecord> records;
    v1::ReadRecordsResponse batch;
    while (reader->Read(&batch)) {
      records.insert(records.end(), batch.records().begin(), batch.records().end());
    }
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return records;
  }

  grpc::Status Export(const std::string& id, v1::ExportFormat format, std::string* out) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(120));
    v1::ExportDatasetRequest request;
    request.set_id(id);
    request.set_format(format);
    std::unique_ptr<grpc::ClientReader<v1::ExportDatasetResponse>> reader =
        harness_->stub().ExportDataset(&context, request);
    v1::ExportDatasetResponse chunk;
    while (reader->Read(&chunk)) out->append(chunk.chunk());
    return reader->Finish();
  }

  v1::SplitDatasetResponse Split(const std::string& id) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(120));
    v1::SplitDatasetRequest request;
    request.set_id(id);
    request.set_train_fraction(0.8);
    request.set_validation_fraction(0.1);
    request.set_test_fraction(0.1);
    request.set_seed(42);
    v1::SplitDatasetResponse response;
    grpc::Status status = harness_->stub().SplitDataset(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string data_dir_;
  std::string checker_;
  std::string out_dir_;
  std::unique_ptr<DatasetServiceHarness> harness_;
};

TEST_F(MergeRealDataTest, MergeSplitAndExportPassTheIndependentChatCheck) {
  std::vector<v1::Dataset> parents;
  v1::MergeDatasetsRequest merge;
  merge.set_name("real-merged");
  // Independent expectations: records per lowercase address over all parents.
  std::map<std::string, uint64_t> claims;
  for (const char* file : kFiles) {
    parents.push_back(Upload(file));
    ASSERT_FALSE(parents.back().id().empty()) << file;
    merge.add_ids(parents.back().id());
    for (const common::v1::AddressRecord& r : ReadAll(parents.back().id())) {
      ++claims[absl::AsciiStrToLower(r.address())];
    }
  }

  v1::MergeDatasetsResponse merged;
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(120));
    grpc::Status status = harness_->stub().MergeDatasets(&context, merge, &merged);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const v1::Dataset& dataset = merged.dataset();
  EXPECT_EQ(dataset.record_count(), claims.size());
  EXPECT_GT(merged.conflict_count(), 0u);
  EXPECT_EQ(dataset.merge_origin().conflict_count(), merged.conflict_count());

  // One record per address, with one piece of evidence per source record.
  std::vector<common::v1::AddressRecord> records = ReadAll(dataset.id());
  ASSERT_EQ(records.size(), claims.size());
  uint64_t multi_source = 0;
  uint64_t with_features = 0;
  for (const common::v1::AddressRecord& r : records) {
    const std::string lower = absl::AsciiStrToLower(r.address());
    ASSERT_EQ(claims.count(lower), 1u) << r.address();
    EXPECT_EQ(static_cast<uint64_t>(r.evidence_size()), claims[lower]) << r.address();
    std::set<std::string> sources;
    for (const common::v1::Evidence& e : r.evidence()) sources.insert(e.source());
    if (sources.size() > 1) ++multi_source;
    if (r.features_size() > 0) ++with_features;
  }
  EXPECT_GT(multi_source, 0u);
  EXPECT_GT(with_features, 0u);

  // Repeating the merge writes nothing and reports the same conflicts.
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(120));
    v1::MergeDatasetsResponse again;
    ASSERT_TRUE(harness_->stub().MergeDatasets(&context, merge, &again).ok());
    EXPECT_TRUE(again.already_existed());
    EXPECT_EQ(again.dataset().id(), dataset.id());
    EXPECT_EQ(again.conflict_count(), merged.conflict_count());
  }

  // Statistics, with the token counts and cost of the chat export.
  v1::GetDatasetStatsResponse stats;
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(120));
    v1::GetDatasetStatsRequest request;
    request.set_id(dataset.id());
    request.set_price_per_million_tokens(kSamplePrice);
    ASSERT_TRUE(harness_->stub().GetDatasetStats(&context, request, &stats).ok());
  }
  EXPECT_EQ(stats.multi_source_address_count(), multi_source);
  EXPECT_EQ(stats.chat_export().example_count(), claims.size());
  EXPECT_EQ(stats.chat_export().examples_over_limit(), 0u);
  EXPECT_FALSE(stats.feature_coverage().empty());

  // Split: no address on two sides, and a re-run gives the same ids.
  v1::SplitDatasetResponse sides = Split(dataset.id());
  std::set<std::string> seen;
  uint64_t split_addresses = 0;
  for (const v1::Dataset* side : {&sides.train(), &sides.validation(), &sides.test()}) {
    std::set<std::string> addresses;
    for (const common::v1::AddressRecord& r : ReadAll(side->id())) {
      addresses.insert(absl::AsciiStrToLower(r.address()));
    }
    for (const std::string& a : addresses) {
      EXPECT_TRUE(seen.insert(a).second) << a << " is on two sides";
    }
    split_addresses += addresses.size();
  }
  EXPECT_EQ(split_addresses, claims.size());
  v1::SplitDatasetResponse again = Split(dataset.id());
  EXPECT_TRUE(again.already_existed());
  EXPECT_EQ(again.train().id(), sides.train().id());
  EXPECT_EQ(again.validation().id(), sides.validation().id());
  EXPECT_EQ(again.test().id(), sides.test().id());

  // The chat export passes the independent check.
  std::string jsonl;
  grpc::Status exported = Export(dataset.id(), v1::EXPORT_FORMAT_CHAT_JSONL, &jsonl);
  ASSERT_TRUE(exported.ok()) << exported.error_message();
  EXPECT_EQ(static_cast<uint64_t>(std::count(jsonl.begin(), jsonl.end(), '\n')), claims.size());
  const std::string path = out_dir_ + "/merged.jsonl";
  std::ofstream(path, std::ios::binary) << jsonl;
  const std::string report = out_dir_ + "/check.txt";
  const int code =
      RunCommand(absl::StrCat("python3 '", checker_, "' '", path, "' > '", report, "' 2>&1"));
  EXPECT_EQ(code, 0) << ReadFile(report);
  EXPECT_THAT(ReadFile(report), HasSubstr("no errors found"));
  // The checker is not vacuous: a file that breaks the format fails it.
  const std::string broken = out_dir_ + "/broken.jsonl";
  std::ofstream(broken, std::ios::binary)
      << jsonl.substr(0, jsonl.find('\n') + 1)
      << "{\"messages\":[{\"role\":\"user\",\"content\":\"0x\"}]}\n";
  EXPECT_EQ(
      RunCommand(absl::StrCat("python3 '", checker_, "' '", broken, "' > '", report, "' 2>&1")), 1);
  EXPECT_THAT(ReadFile(report), HasSubstr("example_missing_assistant_message: 1"));
  EXPECT_THAT(ReadFile(report), HasSubstr("too_few_examples: 1"));

  // The canonical CSV export: a header and one row per record.
  std::string csv;
  ASSERT_TRUE(Export(dataset.id(), v1::EXPORT_FORMAT_CSV, &csv).ok());
  EXPECT_THAT(csv.substr(0, csv.find('\n')), HasSubstr(",line,feature:Avg min between sent tnx"));

  const v1::ChatExportStats& chat = stats.chat_export();
  std::cout << "merged " << kFiles[0];
  for (size_t i = 1; i < std::size(kFiles); ++i) std::cout << ", " << kFiles[i];
  std::cout << "\n  parent records " <<
      [&] {
        uint64_t n = 0;
        for (const auto& [a, count] : claims) n += count;
        return n;
      }() << ", merged records "
            << dataset.record_count() << ", conflicts resolved " << merged.conflict_count()
            << ", addresses from several sources " << multi_source << ", with features "
            << with_features << "\n  split train/validation/test " << sides.train().address_count()
            << "/" << sides.validation().address_count() << "/" << sides.test().address_count()
            << "\n  chat export: " << chat.example_count() << " examples, " << chat.total_tokens()
            << " tokens (min " << chat.min_example_tokens() << ", max " << chat.max_example_tokens()
            << ", mean " << chat.mean_example_tokens() << "), " << jsonl.size()
            << " bytes; cost per epoch at $" << kSamplePrice << "/M tokens: $"
            << chat.estimated_cost_per_epoch() << "\n  csv export " << csv.size() << " bytes\n";
  std::map<std::string, uint64_t> by_rule;
  for (const v1::MergeConflict& c : merged.conflicts()) ++by_rule[c.field() + ": " + c.rule()];
  for (const auto& [rule, count] : by_rule) std::cout << "  " << count << " x " << rule << "\n";
}

}  // namespace
}  // namespace ethscan::dataset

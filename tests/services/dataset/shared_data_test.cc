// Uploads every labelled file of the shared example data through the gRPC adapter and checks
// the counts the data README states (rows, invalid lines, distinct addresses, label counts).
// Skipped when the shared data folder is absent.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/dataset/dataset_service_harness.h"
#include "tests/testing/test_paths.h"

namespace ethscan::dataset {
namespace {

using ::testing::HasSubstr;

struct SharedFile {
  const char* path;
  v1::DatasetFormat format;
  uint64_t lines;
  uint64_t invalid_lines;
  uint64_t addresses;
  uint64_t records;
  std::map<std::string, uint64_t> labels;
};

const std::vector<SharedFile>& SharedFiles() {
  static const auto* files = new std::vector<SharedFile>{
      {"etherscan_labels/etherscan_labels_2023.csv",
       v1::DATASET_FORMAT_ETHERSCAN_LABELS,
       25306,
       0,
       25306,
       25306,
       {{"Legit", 19786}, {"Unknown", 5455}, {"Sanctioned", 65}}},
      {"etherscan_labels/etherscan_malicious_2022.csv",
       v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS,
       5024,
       0,
       5017,
       5024,
       {{"Phish / Hack", 4926}, {"Heist", 98}}},
      {"forta/phishing_scams.csv",
       v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS,
       5729,
       0,
       5290,
       5729,
       {{"Phish / Hack", 5729}}},
      {"forta/etherscan_malicious_labels.csv",
       v1::DATASET_FORMAT_FORTA_MALICIOUS_LABELS,
       6609,
       0,
       6170,
       6609,
       {{"Phish / Hack", 6431}, {"Exploit", 118}, {"Heist", 60}}},
      // Two records per line: the contract and its deployer.
      {"forta/malicious_smart_contracts.csv",
       v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS,
       637,
       0,
       1094,
       1274,
       {{"Phish / Hack", 1006}, {"Exploit", 202}, {"Heist", 66}}},
      {"cryptoscamdb/cryptoscamdb_eth_addresses.csv",
       v1::DATASET_FORMAT_CRYPTOSCAMDB,
       3432,
       21,
       2518,
       3411,
       {{"Scam", 2593}, {"Phish / Hack", 818}}},
      {"mew_darklist/addresses_darklist.csv",
       v1::DATASET_FORMAT_MEW_DARKLIST,
       564,
       0,
       512,
       564,
       {{"Scam", 564}}},
      {"ofac/ofac_sdn_eth_addresses.csv",
       v1::DATASET_FORMAT_OFAC_SDN,
       160,
       0,
       160,
       160,
       {{"Sanctioned", 82}, {"Unknown", 78}}},
      {"uniswap_tokens/uniswap_default_mainnet.csv",
       v1::DATASET_FORMAT_UNISWAP_TOKENS,
       337,
       0,
       337,
       337,
       {{"Legit", 337}}},
  };
  return *files;
}

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

class SharedDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = ethscan::testing::SharedDataDir();
    if (data_dir_.empty()) {
      GTEST_SKIP() << "shared data folder not found (set ETHSCAN_SHARED_DATA or place it at "
                      "../shared/data beside the source tree); skipping the real-data uploads";
    }
    absl::StatusOr<std::unique_ptr<DatasetServiceHarness>> harness = DatasetServiceHarness::Start();
    ASSERT_TRUE(harness.ok()) << harness.status();
    harness_ = *std::move(harness);
  }

  grpc::Status Upload(const std::string& relative_path, v1::UploadDatasetResponse* response) {
    v1::UploadMetadata metadata;
    metadata.set_name(NameOf(relative_path));
    metadata.set_filename(relative_path);
    return UploadBytes(harness_->stub(), metadata, ReadFile(data_dir_ + "/" + relative_path),
                       size_t{64} * 1024, response);
  }

  std::string data_dir_;
  std::unique_ptr<DatasetServiceHarness> harness_;
};

TEST_F(SharedDataTest, EveryLabelFileUploadsWithTheDocumentedCounts) {
  for (const SharedFile& file : SharedFiles()) {
    SCOPED_TRACE(file.path);
    v1::UploadDatasetResponse response;
    grpc::Status status = Upload(file.path, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    const v1::Dataset& dataset = response.dataset();
    EXPECT_EQ(dataset.format(), file.format);
    EXPECT_THAT(response.format_detection(), HasSubstr("detected "));
    EXPECT_EQ(dataset.line_count(), file.lines);
    EXPECT_EQ(dataset.invalid_line_count(), file.invalid_lines);
    EXPECT_EQ(dataset.address_count(), file.addresses);
    EXPECT_EQ(dataset.record_count(), file.records);
    std::map<std::string, uint64_t> labels(dataset.label_counts().begin(),
                                           dataset.label_counts().end());
    EXPECT_EQ(labels, file.labels);
    int errors = 0;
    for (const v1::ValidationIssue& issue : response.issues()) {
      if (issue.severity() == v1::ValidationIssue::SEVERITY_ERROR) ++errors;
      EXPECT_EQ(issue.file(), file.path);
    }
    EXPECT_EQ(static_cast<uint64_t>(errors), file.invalid_lines);
  }
  EXPECT_EQ(harness_->index().size(), SharedFiles().size());
}

TEST_F(SharedDataTest, PublishedBadChecksumsAreKeptWithWarnings) {
  v1::UploadDatasetResponse response;
  ASSERT_TRUE(Upload("cryptoscamdb/cryptoscamdb_eth_addresses.csv", &response).ok());
  bool warned = false;
  for (const v1::ValidationIssue& issue : response.issues()) {
    if (issue.severity() == v1::ValidationIssue::SEVERITY_WARNING &&
        absl::StrContains(issue.reason(), "0x9fAfDd6748BA31C41a23C8303Be53320Ed41901C")) {
      warned = true;
      EXPECT_EQ(issue.field(), "address");
    }
  }
  EXPECT_TRUE(warned);
  v1::UploadDatasetResponse forta;
  ASSERT_TRUE(Upload("forta/phishing_scams.csv", &forta).ok());
  warned = false;
  for (const v1::ValidationIssue& issue : forta.issues()) {
    warned =
        warned || absl::StrContains(issue.reason(), "0xf299f6B031Cc4dd1BfcB86A5e5590f99336a29c6");
  }
  EXPECT_TRUE(warned);
}

TEST_F(SharedDataTest, StatsOfTheFortaPhishingSet) {
  v1::UploadDatasetResponse response;
  ASSERT_TRUE(Upload("forta/phishing_scams.csv", &response).ok());
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(30));
  v1::GetDatasetStatsRequest request;
  request.set_id(response.dataset().id());
  v1::GetDatasetStatsResponse stats;
  ASSERT_TRUE(harness_->stub().GetDatasetStats(&context, request, &stats).ok());
  EXPECT_EQ(stats.record_count(), 5729u);
  EXPECT_EQ(stats.address_count(), 5290u);
  // 439 addresses appear twice, once in EIP-55 case and once in lowercase.
  EXPECT_EQ(stats.duplicate_address_count(), 439u);
  EXPECT_EQ(stats.account_type_counts().at("EOA"), 5226u);
  EXPECT_EQ(stats.account_type_counts().at("Smart Contract"), 503u);
}

TEST_F(SharedDataTest, ReuploadOfARealFileWritesNothing) {
  v1::UploadDatasetResponse first;
  ASSERT_TRUE(Upload("ofac/ofac_sdn_eth_addresses.csv", &first).ok());
  v1::UploadDatasetResponse second;
  ASSERT_TRUE(Upload("ofac/ofac_sdn_eth_addresses.csv", &second).ok());
  EXPECT_TRUE(second.already_existed());
  EXPECT_EQ(second.dataset().id(), first.dataset().id());
  EXPECT_EQ(harness_->index().put_calls(), 1);
}

TEST_F(SharedDataTest, BehaviouralFeatureFilesAreNotSupportedYet) {
  for (const char* path :
       {"kaggle_fraud/transaction_dataset.csv", "etherscan_phish_features/address_data_e.csv"}) {
    SCOPED_TRACE(path);
    v1::UploadDatasetResponse response;
    grpc::Status status = Upload(path, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat(path, " line 1")));
    EXPECT_THAT(status.error_message(), HasSubstr("behavioural feature format"));
    EXPECT_THAT(status.error_message(), HasSubstr("does not support yet"));
  }
  EXPECT_EQ(harness_->index().size(), 0u);
}

}  // namespace
}  // namespace ethscan::dataset

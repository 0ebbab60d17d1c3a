// Uploads every labelled file of the shared example data through the gRPC adapter and checks
// the counts the data README states (rows, invalid lines, distinct addresses, label counts,
// feature coverage of the two behavioural feature sets); reads real files through a column
// mapping, as an address list and as the canonical record CSV;
// splits real files and checks that no address lands on two sides; exports real files as chat
// JSONL and checks the format and the field values. Skipped when the shared data folder is
// absent.
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/grpc/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
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
      // Four Address values are no addresses (three transaction hashes and a typo); 20
      // addresses appear twice.
      {"kaggle_fraud/transaction_dataset.csv",
       v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES,
       8363,
       4,
       8339,
       8359,
       {{"Scam", 1848}, {"Unknown", 6511}}},
      {"etherscan_phish_features/address_data_e.csv",
       v1::DATASET_FORMAT_PHISH_FEATURES,
       3688,
       0,
       3688,
       3688,
       {{"Phish / Hack", 3688}}},
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

  std::vector<common::v1::AddressRecord> ReadAll(const std::string& id) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(60));
    v1::ReadRecordsRequest request;
    request.set_id(id);
    auto reader = harness_->stub().ReadRecords(&context, request);
    std::vector<common::v1::AddressRecord> records;
    v1::ReadRecordsResponse batch;
    while (reader->Read(&batch)) {
      records.insert(records.end(), batch.records().begin(), batch.records().end());
    }
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return records;
  }

  grpc::Status Split(const std::string& id, double train, double validation, double test,
                     uint64_t seed, v1::SplitDatasetResponse* response) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(60));
    v1::SplitDatasetRequest request;
    request.set_id(id);
    request.set_train_fraction(train);
    request.set_validation_fraction(validation);
    request.set_test_fraction(test);
    request.set_seed(seed);
    return harness_->stub().SplitDataset(&context, request, response);
  }

  grpc::Status Export(const std::string& id, std::string* jsonl) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(60));
    v1::ExportDatasetRequest request;
    request.set_id(id);
    auto reader = harness_->stub().ExportDataset(&context, request);
    v1::ExportDatasetResponse chunk;
    while (reader->Read(&chunk)) jsonl->append(chunk.chunk());
    return reader->Finish();
  }

  // Splits the uploaded file 80/10/10 and checks: every record is on exactly one side, no
  // address (compared without letter case) is on two sides, and each majority-label stratum
  // is divided within one address of its exact share. Returns the split.
  v1::SplitDatasetResponse CheckSplit(const std::string& relative_path, uint64_t seed) {
    v1::UploadDatasetResponse uploaded;
    grpc::Status status = Upload(relative_path, &uploaded);
    EXPECT_TRUE(status.ok()) << status.error_message();
    const v1::Dataset& parent = uploaded.dataset();
    v1::SplitDatasetResponse split;
    status = Split(parent.id(), 0.8, 0.1, 0.1, seed, &split);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) return split;

    // The stratum of each address, computed here independently: the label most of its records
    // carry, a tie going to the more severe label.
    const std::vector<std::string> severity = {"Unknown", "Legit", "Scam",      "Phish / Hack",
                                               "Exploit", "Heist", "Sanctioned"};
    auto rank = [&severity](const std::string& label) {
      return std::find(severity.begin(), severity.end(), label) - severity.begin();
    };
    absl::flat_hash_map<std::string, std::map<std::string, int>> labels_of;
    for (const common::v1::AddressRecord& record : ReadAll(parent.id())) {
      labels_of[absl::AsciiStrToLower(record.address())][record.label()] += 1;
    }
    EXPECT_EQ(labels_of.size(), parent.address_count());
    absl::flat_hash_map<std::string, std::string> stratum;
    std::map<std::string, uint64_t> stratum_size;
    for (const auto& [address, counts] : labels_of) {
      std::string best;
      int best_count = 0;
      for (const auto& [label, count] : counts) {
        if (count > best_count || (count == best_count && rank(label) > rank(best))) {
          best = label;
          best_count = count;
        }
      }
      stratum[address] = best;
      stratum_size[best] += 1;
    }

    const v1::Dataset* sides[] = {&split.train(), &split.validation(), &split.test()};
    const double fractions[] = {0.8, 0.1, 0.1};
    absl::flat_hash_map<std::string, int> side_of;
    std::map<std::string, std::array<uint64_t, 3>> per_label;
    uint64_t records = 0;
    uint64_t two_sided = 0;
    for (int i = 0; i < 3; ++i) {
      absl::flat_hash_set<std::string> seen;
      for (const common::v1::AddressRecord& record : ReadAll(sides[i]->id())) {
        ++records;
        EXPECT_EQ(record.source(), parent.name());
        const std::string key = absl::AsciiStrToLower(record.address());
        auto [it, inserted] = side_of.try_emplace(key, i);
        if (it->second != i) ++two_sided;
        if (seen.insert(key).second) per_label[stratum[key]][i] += 1;
      }
      EXPECT_EQ(seen.size(), sides[i]->address_count());
    }
    EXPECT_EQ(two_sided, 0u) << "addresses on two sides";
    EXPECT_EQ(records, parent.record_count());
    EXPECT_EQ(side_of.size(), parent.address_count());
    for (const auto& [label, size] : stratum_size) {
      for (int i = 0; i < 3; ++i) {
        const double exact = static_cast<double>(size) * fractions[i];
        EXPECT_LT(std::abs(static_cast<double>(per_label[label][i]) - exact), 1.0)
            << label << " side " << i << ": " << per_label[label][i] << " of " << size;
      }
    }
    return split;
  }

  // Parses a chat export and checks every line against the OpenAI chat format: a "messages"
  // array of system, user and assistant messages with non-empty string content, ending with
  // the assistant. Returns the report fields by lowercase address.
  absl::flat_hash_map<std::string, nlohmann::json> CheckExport(const std::string& jsonl) {
    absl::flat_hash_map<std::string, nlohmann::json> fields;
    int line_number = 0;
    for (absl::string_view line : absl::StrSplit(jsonl, '\n', absl::SkipEmpty())) {
      ++line_number;
      SCOPED_TRACE(absl::StrCat("export line ", line_number));
      nlohmann::json example = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(example.is_object());
      if (!example.is_object()) continue;
      const nlohmann::json& messages = example["messages"];
      EXPECT_TRUE(messages.is_array() && messages.size() == 3);
      if (!messages.is_array() || messages.size() != 3) continue;
      const char* roles[] = {"system", "user", "assistant"};
      for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(messages[i]["role"], roles[i]);
        EXPECT_TRUE(messages[i]["content"].is_string());
        EXPECT_FALSE(messages[i]["content"].get<std::string>().empty());
      }
      nlohmann::json report =
          nlohmann::json::parse(messages[2]["content"].get<std::string>(), nullptr, false);
      EXPECT_TRUE(report.is_object());
      const std::string address = messages[1]["content"].get<std::string>();
      EXPECT_TRUE(fields.emplace(absl::AsciiStrToLower(address), report).second)
          << address << " exported twice";
    }
    return fields;
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

// Per feature name, how many records carry it; also the count of numeric and text values.
struct Coverage {
  std::map<std::string, uint64_t> records;
  uint64_t numbers = 0;
  uint64_t texts = 0;
};

Coverage CoverageOf(const std::vector<common::v1::AddressRecord>& records) {
  Coverage coverage;
  for (const common::v1::AddressRecord& record : records) {
    for (const common::v1::Feature& feature : record.features()) {
      coverage.records[feature.name()] += 1;
      if (feature.has_number()) ++coverage.numbers;
      if (feature.has_text()) ++coverage.texts;
    }
  }
  return coverage;
}

TEST_F(SharedDataTest, KaggleFeaturesKeepEveryComputedValueAndSkipTheRest) {
  v1::UploadDatasetResponse response;
  grpc::Status status = Upload("kaggle_fraud/transaction_dataset.csv", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.format_detection(),
              HasSubstr("detected kaggle_fraud_features from header columns Index,Address,FLAG"));
  // The four invalid Address values are ERRORs on their lines; the file is still accepted
  // (4 of 8,363 lines is under the 5 % tolerance).
  std::vector<uint64_t> error_lines;
  for (const v1::ValidationIssue& issue : response.issues()) {
    if (issue.severity() != v1::ValidationIssue::SEVERITY_ERROR) continue;
    error_lines.push_back(issue.line());
    EXPECT_EQ(issue.field(), "Address");
  }
  EXPECT_THAT(error_lines, ::testing::ElementsAre(6658, 6731, 6858, 7187));

  const std::vector<common::v1::AddressRecord> records = ReadAll(response.dataset().id());
  ASSERT_EQ(records.size(), 8359u);
  const Coverage coverage = CoverageOf(records);
  ASSERT_EQ(coverage.records.size(), 47u);
  // The 22 Ethereum features are always computed; the ERC-20 block is empty in 692 valid rows
  // (696 in the file, four of them on the invalid lines).
  EXPECT_EQ(coverage.records.at("Avg min between sent tnx"), 8359u);
  EXPECT_EQ(coverage.records.at("max value received"), 8359u);
  EXPECT_EQ(coverage.records.at("total ether balance"), 8359u);
  EXPECT_EQ(coverage.records.at("Total ERC20 tnxs"), 7667u);
  EXPECT_EQ(coverage.records.at("ERC20 uniq sent addr.1"), 7667u);
  // Token names: empty, " ", "0" and "None" are placeholders.
  EXPECT_EQ(coverage.records.at("ERC20 most sent token type"), 1325u);
  EXPECT_EQ(coverage.records.at("ERC20_most_rec_token_type"), 3863u);
  EXPECT_EQ(coverage.texts, 1325u + 3863u);
  EXPECT_EQ(coverage.numbers, 22u * 8359u + 23u * 7667u);

  // Excel scientific notation is read as numbers, and FLAG 0 is "not flagged", not Legit.
  bool big = false;
  bool small = false;
  uint64_t not_flagged = 0;
  for (const common::v1::AddressRecord& record : records) {
    if (record.label() == "Unknown") {
      EXPECT_THAT(record.tags(), ::testing::ElementsAre("not flagged"));
      ++not_flagged;
    } else {
      EXPECT_EQ(record.label(), "Scam");
      EXPECT_THAT(record.tags(), ::testing::IsEmpty());
    }
    for (const common::v1::Feature& feature : record.features()) {
      if (record.line() == 4005 && feature.name() == "ERC20 total Ether received") {
        EXPECT_EQ(feature.number(), 1.00002e12);
        big = true;
      }
      if (record.line() == 3590 && feature.name() == "min val sent") {
        EXPECT_DOUBLE_EQ(feature.number(), 3.8e-05);
        small = true;
      }
    }
  }
  EXPECT_TRUE(big && small);
  EXPECT_EQ(not_flagged, 6511u);
}

TEST_F(SharedDataTest, PhishFeaturesLeaveEmptyContractValuesOut) {
  v1::UploadDatasetResponse response;
  grpc::Status status = Upload("etherscan_phish_features/address_data_e.csv", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.dataset().format(), v1::DATASET_FORMAT_PHISH_FEATURES);
  // The one published bad checksum is kept with a warning.
  ASSERT_EQ(response.issues_size(), 1);
  EXPECT_EQ(response.issues(0).severity(), v1::ValidationIssue::SEVERITY_WARNING);
  EXPECT_EQ(response.issues(0).line(), 1173u);
  EXPECT_THAT(response.issues(0).reason(), HasSubstr("0xf299f6B031Cc4dd1BfcB86A5e5590f99336a29c6"));

  const std::vector<common::v1::AddressRecord> records = ReadAll(response.dataset().id());
  ASSERT_EQ(records.size(), 3688u);
  const Coverage coverage = CoverageOf(records);
  ASSERT_EQ(coverage.records.size(), 22u);
  // 2,427 rows have no transaction to a contract: the three contract-value cells are empty.
  EXPECT_EQ(coverage.records.at("min value sent to contract"), 3688u - 2427u);
  EXPECT_EQ(coverage.records.at("max val sent to contract"), 3688u - 2427u);
  EXPECT_EQ(coverage.records.at("avg value sent to contract"), 3688u - 2427u);
  EXPECT_EQ(coverage.records.at("Sent tnx"), 3688u);
  EXPECT_EQ(coverage.texts, 0u);
  EXPECT_EQ(coverage.numbers, 19u * 3688u + 3u * 1261u);
}

// Writes records as the canonical record CSV (DATASET_FORMAT_CANONICAL_CSV): the fixed columns,
// then one "feature:<name>" column per feature name in order of first appearance.
std::string CanonicalCsv(const std::vector<common::v1::AddressRecord>& records) {
  auto quote = [](const std::string& value) {
    if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
    std::string quoted = "\"";
    for (char c : value) {
      if (c == '"') quoted += '"';
      quoted += c;
    }
    return quoted + "\"";
  };
  std::vector<std::string> features;
  for (const common::v1::AddressRecord& record : records) {
    for (const common::v1::Feature& feature : record.features()) {
      if (std::find(features.begin(), features.end(), feature.name()) == features.end()) {
        features.push_back(feature.name());
      }
    }
  }
  std::string csv =
      "address,chain_id,name,account_type,contract_type,entity,label,tags,original_label,"
      "source,note,line";
  for (const std::string& name : features) absl::StrAppend(&csv, ",", quote("feature:" + name));
  csv += "\n";
  for (const common::v1::AddressRecord& record : records) {
    std::vector<std::string> cells = {record.address(),        absl::StrCat(record.chain_id()),
                                      record.name(),           record.account_type(),
                                      record.contract_type(),  record.entity(),
                                      record.label(),          absl::StrJoin(record.tags(), ";"),
                                      record.original_label(), record.source(),
                                      record.note(),           absl::StrCat(record.line())};
    for (const std::string& name : features) {
      std::string value;
      for (const common::v1::Feature& feature : record.features()) {
        if (feature.name() != name) continue;
        value = feature.has_number() ? absl::StrFormat("%.17g", feature.number()) : feature.text();
      }
      cells.push_back(value);
    }
    for (std::string& cell : cells) cell = quote(cell);
    absl::StrAppend(&csv, absl::StrJoin(cells, ","), "\n");
  }
  return csv;
}

TEST_F(SharedDataTest, CanonicalCsvOfFeatureRecordsUploadsToTheSameRecords) {
  v1::UploadDatasetResponse kaggle;
  ASSERT_TRUE(Upload("kaggle_fraud/transaction_dataset.csv", &kaggle).ok());
  const std::vector<common::v1::AddressRecord> before = ReadAll(kaggle.dataset().id());
  v1::UploadMetadata metadata;
  metadata.set_name("kaggle-canonical");
  metadata.set_filename("kaggle.canonical.csv");
  metadata.set_max_invalid_fraction(1e-9);
  v1::UploadDatasetResponse reimported;
  grpc::Status status =
      UploadBytes(harness_->stub(), metadata, CanonicalCsv(before), size_t{64} * 1024, &reimported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reimported.dataset().format(), v1::DATASET_FORMAT_CANONICAL_CSV);
  EXPECT_EQ(reimported.issues_size(), 0);
  const std::vector<common::v1::AddressRecord> after = ReadAll(reimported.dataset().id());
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    common::v1::AddressRecord expected = before[i];
    // The line becomes the canonical CSV's line; everything else is kept, the source too.
    expected.set_line(i + 2);
    ASSERT_EQ(after[i].SerializeAsString(), expected.SerializeAsString())
        << "record " << i << ": " << after[i].ShortDebugString();
  }
}

TEST_F(SharedDataTest, ALabelListUploadsThroughAColumnMapping) {
  // The Forta phishing list read through a mapping gives the counts of its built-in format.
  v1::UploadMetadata metadata;
  metadata.set_name("forta-mapped");
  metadata.set_filename("forta/phishing_scams.csv");
  v1::ColumnMapping* mapping = metadata.mutable_column_mapping();
  mapping->set_address_column("address");
  mapping->mutable_name()->set_column("etherscan_tag");
  mapping->mutable_account_type()->set_column("is_contract");
  (*mapping->mutable_account_type()->mutable_values())["true"] = "Smart Contract";
  (*mapping->mutable_account_type()->mutable_values())["false"] = "EOA";
  mapping->mutable_label()->set_column("etherscan_labels");
  (*mapping->mutable_label()->mutable_values())["phish-hack"] = "Phish / Hack";
  v1::UploadDatasetResponse response;
  grpc::Status status =
      UploadBytes(harness_->stub(), metadata, ReadFile(data_dir_ + "/forta/phishing_scams.csv"),
                  size_t{64} * 1024, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.dataset().format(), v1::DATASET_FORMAT_CSV_MAPPING);
  EXPECT_EQ(response.dataset().line_count(), 5729u);
  EXPECT_EQ(response.dataset().record_count(), 5729u);
  EXPECT_EQ(response.dataset().address_count(), 5290u);
  std::map<std::string, uint64_t> account_types;
  for (const common::v1::AddressRecord& record : ReadAll(response.dataset().id())) {
    account_types[record.account_type()] += 1;
  }
  EXPECT_EQ(account_types,
            (std::map<std::string, uint64_t>{{"EOA", 5226}, {"Smart Contract", 503}}));
}

TEST_F(SharedDataTest, AnAddressColumnUploadsAsAnAddressList) {
  // The addresses of the OFAC file, one per line under an "address" header.
  std::string list = "address\n";
  bool header = true;
  for (absl::string_view line : absl::StrSplit(
           ReadFile(data_dir_ + "/ofac/ofac_sdn_eth_addresses.csv"), '\n', absl::SkipEmpty())) {
    if (!header) absl::StrAppend(&list, line.substr(0, line.find(',')), "\n");
    header = false;
  }
  v1::UploadMetadata metadata;
  metadata.set_name("ofac-list");
  metadata.set_label("sanctioned");
  metadata.add_tags("OFAC SDN");
  v1::UploadDatasetResponse response;
  grpc::Status status = UploadBytes(harness_->stub(), metadata, list, 4096, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.dataset().format(), v1::DATASET_FORMAT_ADDRESS_LIST);
  EXPECT_EQ(response.dataset().line_count(), 160u);
  EXPECT_EQ(response.dataset().address_count(), 160u);
  EXPECT_EQ(response.dataset().label_counts().at("Sanctioned"), 160u);
}

TEST_F(SharedDataTest, SplitOfTheFortaPhishingSetKeepsCaseVariantsOnOneSide) {
  // 439 addresses of this file appear twice, in EIP-55 case and in lowercase.
  v1::SplitDatasetResponse split = CheckSplit("forta/phishing_scams.csv", 2024);
  EXPECT_EQ(split.train().address_count(), 4232u);
  EXPECT_EQ(split.validation().address_count(), 529u);
  EXPECT_EQ(split.test().address_count(), 529u);
  EXPECT_EQ(split.train().record_count() + split.validation().record_count() +
                split.test().record_count(),
            5729u);
  // Both spellings of each of those addresses are stored on the side the address went to.
  int variants = 0;
  for (const v1::Dataset* side : {&split.train(), &split.validation(), &split.test()}) {
    absl::flat_hash_map<std::string, std::set<std::string>> spellings;
    for (const common::v1::AddressRecord& record : ReadAll(side->id())) {
      spellings[absl::AsciiStrToLower(record.address())].insert(record.address());
    }
    for (const auto& [address, set] : spellings) variants += set.size() > 1 ? 1 : 0;
  }
  EXPECT_EQ(variants, 0) << "records are stored in EIP-55 form";
  uint64_t duplicated = 0;
  for (const v1::Dataset* side : {&split.train(), &split.validation(), &split.test()}) {
    duplicated += side->record_count() - side->address_count();
  }
  EXPECT_EQ(duplicated, 439u);

  // Re-running returns the same datasets and writes nothing.
  const int puts = harness_->index().put_calls();
  v1::SplitDatasetResponse again;
  ASSERT_TRUE(Split(split.train().split_origin().parent_id(), 0.8, 0.1, 0.1, 2024, &again).ok());
  EXPECT_TRUE(again.already_existed());
  EXPECT_EQ(again.train().id(), split.train().id());
  EXPECT_EQ(again.validation().id(), split.validation().id());
  EXPECT_EQ(again.test().id(), split.test().id());
  EXPECT_EQ(harness_->index().put_calls(), puts);
}

TEST_F(SharedDataTest, SplitsOfMultiLabelFilesRespectEveryLabel) {
  // Phish / Hack and Scam, with addresses reported under both; phish-hack and heist, with
  // seven addresses on both lists; and the 2023 label cloud (Legit, Unknown, Sanctioned).
  for (const char* path : {"cryptoscamdb/cryptoscamdb_eth_addresses.csv",
                           "etherscan_labels/etherscan_malicious_2022.csv",
                           "etherscan_labels/etherscan_labels_2023.csv"}) {
    SCOPED_TRACE(path);
    CheckSplit(path, 7);
  }
}

TEST_F(SharedDataTest, ExportsOfRealFilesRoundTripTheFieldValues) {
  for (const char* path : {"uniswap_tokens/uniswap_default_mainnet.csv",
                           "etherscan_labels/etherscan_labels_2023.csv"}) {
    SCOPED_TRACE(path);
    v1::UploadDatasetResponse uploaded;
    ASSERT_TRUE(Upload(path, &uploaded).ok());
    std::string jsonl;
    grpc::Status status = Export(uploaded.dataset().id(), &jsonl);
    ASSERT_TRUE(status.ok()) << status.error_message();
    absl::flat_hash_map<std::string, nlohmann::json> fields = CheckExport(jsonl);
    EXPECT_EQ(fields.size(), uploaded.dataset().address_count());
    // These files hold one row per address, so every record appears unchanged.
    for (const common::v1::AddressRecord& record : ReadAll(uploaded.dataset().id())) {
      auto it = fields.find(absl::AsciiStrToLower(record.address()));
      ASSERT_TRUE(it != fields.end()) << record.address();
      const nlohmann::json& report = it->second;
      EXPECT_EQ(report["Name"], record.name());
      EXPECT_EQ(report["Account Type"], record.account_type());
      EXPECT_EQ(report["Contract Type"], record.contract_type());
      EXPECT_EQ(report["Entity"], record.entity());
      EXPECT_EQ(report["Label"], record.label());
      EXPECT_EQ(report["Tags"],
                std::vector<std::string>(record.tags().begin(), record.tags().end()));
    }

    // The export uploads again as OpenAI chat JSONL, to the same field values in the same
    // order, and exports to the same bytes.
    v1::UploadMetadata metadata;
    metadata.set_name(absl::StrCat(uploaded.dataset().name(), "-chat"));
    metadata.set_filename(absl::StrCat(path, ".jsonl"));
    metadata.set_max_invalid_fraction(1e-9);
    v1::UploadDatasetResponse reimported;
    status = UploadBytes(harness_->stub(), metadata, jsonl, size_t{64} * 1024, &reimported);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(reimported.dataset().format(), v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
    EXPECT_EQ(reimported.issues_size(), 0);
    std::vector<common::v1::AddressRecord> before = ReadAll(uploaded.dataset().id());
    std::vector<common::v1::AddressRecord> after = ReadAll(reimported.dataset().id());
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < after.size(); ++i) {
      EXPECT_EQ(after[i].address(), before[i].address());
      EXPECT_EQ(after[i].name(), before[i].name());
      EXPECT_EQ(after[i].account_type(), before[i].account_type());
      EXPECT_EQ(after[i].contract_type(), before[i].contract_type());
      EXPECT_EQ(after[i].entity(), before[i].entity());
      EXPECT_EQ(after[i].label(), before[i].label());
      EXPECT_THAT(after[i].tags(), ::testing::ElementsAreArray(before[i].tags()));
    }
    std::string again;
    ASSERT_TRUE(Export(reimported.dataset().id(), &again).ok());
    EXPECT_TRUE(again == jsonl) << "re-export differs";
  }
}

TEST_F(SharedDataTest, ExportOfAFileWithDuplicatesMergesEachAddress) {
  v1::UploadDatasetResponse uploaded;
  ASSERT_TRUE(Upload("cryptoscamdb/cryptoscamdb_eth_addresses.csv", &uploaded).ok());
  std::string jsonl;
  ASSERT_TRUE(Export(uploaded.dataset().id(), &jsonl).ok());
  absl::flat_hash_map<std::string, nlohmann::json> fields = CheckExport(jsonl);
  EXPECT_EQ(fields.size(), 2518u);
  // An address reported as both Phishing and Scamming is exported once, as Phish / Hack, with
  // the subcategories of every report.
  absl::flat_hash_map<std::string, std::set<std::string>> labels;
  absl::flat_hash_map<std::string, std::set<std::string>> tags;
  for (const common::v1::AddressRecord& record : ReadAll(uploaded.dataset().id())) {
    const std::string key = absl::AsciiStrToLower(record.address());
    labels[key].insert(record.label());
    for (const std::string& tag : record.tags()) tags[key].insert(absl::AsciiStrToLower(tag));
  }
  int both = 0;
  for (const auto& [address, set] : labels) {
    const nlohmann::json& report = fields[address];
    const std::string expected = set.count("Phish / Hack") > 0 ? "Phish / Hack" : "Scam";
    EXPECT_EQ(report["Label"], expected) << address;
    std::set<std::string> exported;
    for (const nlohmann::json& tag : report["Tags"]) {
      exported.insert(absl::AsciiStrToLower(tag.get<std::string>()));
    }
    EXPECT_EQ(exported, tags[address]) << address;
    if (set.size() == 2) ++both;
  }
  EXPECT_EQ(both, 23);
}

}  // namespace
}  // namespace ethscan::dataset

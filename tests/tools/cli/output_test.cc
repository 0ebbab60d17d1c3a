#include "tools/cli/output.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ethscan::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

gateway::v1::AddressReport UniswapReport() {
  gateway::v1::AddressReport r;
  r.set_address("0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984");
  r.set_name("Uniswap (UNI)");
  r.set_account_type("Smart Contract");
  r.set_contract_type("Token");
  r.set_label("Legit");
  r.add_tags("Token Contract");
  r.add_tags("DeFi");
  r.set_risk_level(common::v1::RISK_LEVEL_LOW);
  r.set_risk_score(0.05);
  r.set_description("ERC-20 token contract on the Uniswap default token list.");
  r.add_next_steps("none needed");
  r.add_next_steps("verify the address on the project's own site");
  common::v1::Evidence* e = r.add_evidence();
  e->set_source("uniswap_tokens");
  e->add_fields("name");
  e->add_fields("label");
  e->set_claim("label Legit");
  common::v1::Evidence* overruled = r.add_evidence();
  overruled->set_source("etherscan_labels_2023");
  overruled->add_fields("label");
  overruled->set_claim("label blocked");
  overruled->set_overruled(true);
  r.set_model("ft:ethscan-base:demo:ftjob-0000000000000001");
  r.set_chain_id(1);
  r.set_known(true);
  r.set_chain_data_status(gateway::v1::CHAIN_DATA_STATUS_UNAVAILABLE);
  r.set_chain_data_error("enrichment deadline exceeded");
  return r;
}

TEST(OutputTest, FormatsReadableReportLineByLine) {
  EXPECT_EQ(FormatReport(UniswapReport()),
            "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984\n"
            "  Name:          Uniswap (UNI)\n"
            "  Account Type:  Smart Contract\n"
            "  Contract Type: Token\n"
            "  Entity:        -\n"
            "  Label:         Legit\n"
            "  Tags:          Token Contract, DeFi\n"
            "  Risk:          LOW (0.05)\n"
            "  Description:   ERC-20 token contract on the Uniswap default token list.\n"
            "  Next steps:    - none needed\n"
            "                 - verify the address on the project's own site\n"
            "  Evidence:      - uniswap_tokens: label Legit (name, label)\n"
            "                 - etherscan_labels_2023: label blocked (label) [overruled]\n"
            "  Known:         yes, in the training datasets\n"
            "  Chain data:    unavailable: enrichment deadline exceeded\n"
            "  Model:         ft:ethscan-base:demo:ftjob-0000000000000001\n");
}

TEST(OutputTest, WatchedStepLinesShowTheEstimatedFinish) {
  training::v1::Job job;
  const std::string step = "2026-12-02 03:00:00 UTC  info     Step 100/500: training loss=0.01";
  EXPECT_EQ(WithEstimatedFinish(step, job), step);
  job.mutable_estimated_finish()->set_seconds(1764644404);  // 2025-12-02 03:00:04 UTC.
  EXPECT_THAT(WithEstimatedFinish(step, job), ::testing::EndsWith("  ETA 2025-12-02 03:00:04 UTC"));
  const std::string message = "2026-12-02 03:00:00 UTC  info     checkpoint saved";
  EXPECT_EQ(WithEstimatedFinish(message, job), message);
}

TEST(OutputTest, TrainingBarFillsWithTheSteps) {
  training::v1::Job job;
  EXPECT_EQ(TrainingBar(5, 10, job, 4), "[##\u00b7\u00b7]  5/10");
  EXPECT_EQ(TrainingBar(0, 0, job, 2), "[\u00b7\u00b7]  0/0");
  job.mutable_estimated_finish()->set_seconds(1764644404);
  EXPECT_EQ(TrainingBar(10, 10, job, 2), "[##]  10/10  ETA 2025-12-02 03:00:04 UTC");
}

TEST(OutputTest, EmptyReportPrintsDashes) {
  gateway::v1::AddressReport r;
  r.set_address("0x0000000000000000000000000000000000000001");
  const std::string text = FormatReport(r);
  EXPECT_THAT(text, HasSubstr("  Name:          -\n"));
  EXPECT_THAT(text, HasSubstr("  Risk:          -\n"));
  EXPECT_THAT(text, HasSubstr("  Next steps:    -\n"));
  EXPECT_THAT(text, HasSubstr("  Evidence:      -\n"));
  EXPECT_THAT(text, HasSubstr("  Known:         no\n"));
  EXPECT_THAT(text, HasSubstr("  Chain data:    -\n"));
  EXPECT_THAT(text, Not(HasSubstr("Conflicts")));
}

TEST(OutputTest, ReportShowsConflictsAndOtherChains) {
  gateway::v1::AddressReport r = UniswapReport();
  r.add_conflicts("etherscan_labels_2023 says blocked; uniswap_tokens says Legit");
  r.set_chain_id(10);
  const std::string text = FormatReport(r);
  EXPECT_THAT(text, HasSubstr("  Conflicts:     - etherscan_labels_2023 says blocked; "
                              "uniswap_tokens says Legit\n"));
  EXPECT_THAT(text, HasSubstr("  Chain ID:      10\n"));
}

TEST(OutputTest, ShortestDecimalReadsBackExactly) {
  EXPECT_EQ(ShortestDecimal(0.25), "0.25");
  EXPECT_EQ(ShortestDecimal(0), "0");
  EXPECT_EQ(ShortestDecimal(1e-7), "1e-07");
  EXPECT_EQ(ShortestDecimal(0.1 + 0.2), "0.30000000000000004");
  const float f = 0.123456789f;
  EXPECT_EQ(std::stod(ShortestDecimal(f)), static_cast<double>(f));
}

TEST(OutputTest, CsvFieldQuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("Phish / Hack"), "Phish / Hack");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
}

TEST(OutputTest, RiskLevelsPrintWithoutEnumPrefix) {
  EXPECT_EQ(FormatRiskLevel(common::v1::RISK_LEVEL_CRITICAL), "CRITICAL");
  EXPECT_EQ(FormatRiskLevel(common::v1::RISK_LEVEL_MEDIUM), "MEDIUM");
  EXPECT_EQ(FormatRiskLevel(common::v1::RISK_LEVEL_UNSPECIFIED), "-");
  gateway::v1::AddressReport r;
  r.set_risk_level(common::v1::RISK_LEVEL_CRITICAL);
  r.set_risk_score(1);
  EXPECT_THAT(FormatReport(r), HasSubstr("  Risk:          CRITICAL (1.00)\n"));
}

TEST(OutputTest, ChainDataShowsProfileFactsWhenOk) {
  gateway::v1::AddressReport r;
  r.set_chain_data_status(gateway::v1::CHAIN_DATA_STATUS_OK);
  enrichment::v1::ChainProfile* p = r.mutable_chain_data();
  p->set_source("etherscan");
  p->set_is_contract(true);
  p->set_source_verified(true);
  p->set_contract_name("Uni");
  p->set_creator("0x41653c7d61609D856f29355E404F310Ec4142Cfb");
  p->set_balance_wei("1500000000000000000");
  p->set_transaction_count(42);
  p->mutable_first_seen_time()->set_seconds(1600000000);
  p->mutable_last_seen_time()->set_seconds(1767225600);
  p->mutable_fetch_time()->set_seconds(1767225600);
  EXPECT_THAT(
      FormatChainData(r),
      ::testing::ElementsAre(
          "from etherscan, fetched 2026-01-01 00:00:00 UTC",
          "Account: Smart Contract, verified source (Uni), creator "
          "0x41653c7d61609D856f29355E404F310Ec4142Cfb",
          "Balance: 1.5 ETH",
          "Transactions: 42 (first 2020-09-13 12:26:40 UTC, last 2026-01-01 00:00:00 UTC)"));
}

TEST(OutputTest, ChainDataNamesDelegatedEoaAndMissingConfiguration) {
  gateway::v1::AddressReport r;
  r.set_chain_data_status(gateway::v1::CHAIN_DATA_STATUS_OK);
  r.mutable_chain_data()->set_source("rpc");
  r.mutable_chain_data()->set_delegated_to("0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B");
  EXPECT_THAT(FormatChainData(r),
              ::testing::Contains("Account: EOA delegating to "
                                  "0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B (EIP-7702)"));
  r.set_chain_data_status(gateway::v1::CHAIN_DATA_STATUS_NOT_CONFIGURED);
  r.set_chain_data_error("no chain data source configured");
  EXPECT_THAT(FormatChainData(r),
              ::testing::ElementsAre("not configured: no chain data source configured"));
}

TEST(OutputTest, FormatsWeiAsEther) {
  EXPECT_EQ(FormatWeiAsEther("0"), "0 ETH");
  EXPECT_EQ(FormatWeiAsEther("1000000000000000000"), "1 ETH");
  EXPECT_EQ(FormatWeiAsEther("123456789012345678901"), "123.456789 ETH");
  EXPECT_EQ(FormatWeiAsEther("1000000000000"), "0.000001 ETH");
  EXPECT_EQ(FormatWeiAsEther("999"), "999 wei");
  EXPECT_EQ(FormatWeiAsEther("0012"), "12 wei");
  EXPECT_EQ(FormatWeiAsEther("12abc"), "12abc wei");
}

TEST(OutputTest, JsonLineIsOneLineWithCamelCaseNamesAndRoundTrips) {
  const gateway::v1::AddressReport report = UniswapReport();
  const std::string json = ToJsonLine(report);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_THAT(json, HasSubstr("\"accountType\":\"Smart Contract\""));
  EXPECT_THAT(json, HasSubstr("\"riskLevel\":\"RISK_LEVEL_LOW\""));
  EXPECT_THAT(json, HasSubstr("\"chainDataStatus\":\"CHAIN_DATA_STATUS_UNAVAILABLE\""));
  EXPECT_THAT(json, Not(HasSubstr("\"entity\"")));  // default values are left out
  gateway::v1::AddressReport parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, report));
}

TEST(OutputTest, DatasetFormatNamesRoundTrip) {
  for (int f = dataset::v1::DATASET_FORMAT_ETHERSCAN_LABELS; f <= dataset::v1::DatasetFormat_MAX;
       ++f) {
    const auto format = static_cast<dataset::v1::DatasetFormat>(f);
    absl::StatusOr<dataset::v1::DatasetFormat> parsed =
        ParseDatasetFormat(DatasetFormatName(format));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, format);
  }
  EXPECT_EQ(DatasetFormatName(dataset::v1::DATASET_FORMAT_OFAC_SDN), "ofac_sdn");
  absl::StatusOr<dataset::v1::DatasetFormat> bad = ParseDatasetFormat("csv");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("uniswap_tokens"));
}

TEST(OutputTest, FormatsDatasetWithLabelCountsLargestFirst) {
  dataset::v1::Dataset d;
  d.set_id("ds-0123456789abcdef");
  d.set_name("etherscan_malicious_2022");
  d.set_format(dataset::v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS);
  d.set_line_count(5024);
  d.set_invalid_line_count(2);
  d.set_record_count(5022);
  (*d.mutable_label_counts())["Heist"] = 98;
  (*d.mutable_label_counts())["Phish / Hack"] = 4924;
  const std::string text = FormatDataset(d);
  EXPECT_THAT(text, HasSubstr("  ID:                 ds-0123456789abcdef\n"));
  EXPECT_THAT(text, HasSubstr("  Format:             etherscan_malicious\n"));
  EXPECT_THAT(text, HasSubstr("  Lines:              5024 (2 invalid, skipped)\n"));
  EXPECT_THAT(text, HasSubstr("  Labels:             Phish / Hack 4924, Heist 98\n"));
  EXPECT_THAT(text, HasSubstr("  Chain ID:           1\n"));
  EXPECT_THAT(text, Not(HasSubstr("Split from")));
}

TEST(OutputTest, FormatsSplitOrigin) {
  dataset::v1::Dataset d;
  d.mutable_split_origin()->set_parent_id("ds-00000000000000aa");
  d.mutable_split_origin()->set_part(dataset::v1::SplitOrigin::PART_VALIDATION);
  d.mutable_split_origin()->set_train_fraction(0.8);
  d.mutable_split_origin()->set_validation_fraction(0.1);
  d.mutable_split_origin()->set_test_fraction(0.1);
  d.mutable_split_origin()->set_seed(42);
  EXPECT_THAT(FormatDataset(d), HasSubstr("  Split from:         ds-00000000000000aa (validation "
                                          "part of 0.8/0.1/0.1, seed 42)\n"));
}

TEST(OutputTest, UploadFormatNamesCoverEveryFormatButMerged) {
  const std::vector<std::string> names = UploadFormatNames();
  EXPECT_EQ(names.size(),
            static_cast<size_t>(dataset::v1::DatasetFormat_descriptor()->value_count()) - 2);
  EXPECT_THAT(names, ::testing::Contains("address_list"));
  EXPECT_THAT(names, ::testing::Contains("canonical_csv"));
  EXPECT_THAT(names, Not(::testing::Contains("merged")));
  EXPECT_EQ(DatasetFormatName(dataset::v1::DATASET_FORMAT_UNSPECIFIED), "auto");
  ASSERT_TRUE(ParseDatasetFormat("auto").ok());
  EXPECT_EQ(*ParseDatasetFormat("auto"), dataset::v1::DATASET_FORMAT_UNSPECIFIED);
}

TEST(OutputTest, FormatsBytesInDecimalUnits) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(12'300), "12.3 kB");
  EXPECT_EQ(FormatBytes(480'000'000), "480.0 MB");
  EXPECT_EQ(FormatBytes(1'020'000'000), "1.02 GB");
}

TEST(OutputTest, FormatsMergeOriginAndReferences) {
  dataset::v1::Dataset d;
  d.mutable_merge_origin()->add_parent_ids("ds-a");
  d.mutable_merge_origin()->add_parent_ids("ds-b");
  d.mutable_merge_origin()->set_conflict_count(1);
  d.add_referenced_by("job/ftjob-1");
  d.add_referenced_by("model/m");
  const std::string text = FormatDataset(d);
  EXPECT_THAT(text, HasSubstr("  Merged from:        ds-a, ds-b (highest priority first; 1 "
                              "conflict resolved)\n"));
  EXPECT_THAT(text, HasSubstr("  Referenced by:      job/ftjob-1, model/m\n"));
  EXPECT_THAT(FormatDataset(dataset::v1::Dataset()), Not(HasSubstr("Referenced by")));
}

TEST(OutputTest, ValidationReportCountsErrorsAndWarnings) {
  google::protobuf::RepeatedPtrField<dataset::v1::ValidationIssue> issues;
  for (int i = 0; i < 3; ++i) {
    dataset::v1::ValidationIssue* issue = issues.Add();
    issue->set_file("f.csv");
    issue->set_line(static_cast<uint64_t>(i) + 2);
    issue->set_field("label");
    issue->set_kind("unknown_label");
    issue->set_reason("unknown label \"phising\"; did you mean \"Phish / Hack\"?");
    issue->set_severity(i == 0 ? dataset::v1::ValidationIssue::SEVERITY_WARNING
                               : dataset::v1::ValidationIssue::SEVERITY_ERROR);
  }
  dataset::v1::Dataset d;
  d.set_invalid_line_count(2);
  IssueReportOptions options;
  options.examples_per_kind = 1;
  const std::string text = FormatValidationReport("given by the client", d, issues, {}, options);
  EXPECT_THAT(text, ::testing::StartsWith("Format detection: given by the client\n  ID:"));
  EXPECT_THAT(text, HasSubstr("Issues: 3 reported (2 errors: lines skipped, 1 warning: lines "
                              "kept)\n"
                              "Errors (lines skipped):\n"
                              "  unknown_label: 2\n"
                              "    f.csv:3: label: unknown label \"phising\"; did you mean "
                              "\"Phish / Hack\"? (error)\n"
                              "    … and 1 more\n"
                              "Warnings (lines kept):\n"
                              "  unknown_label: 1\n"
                              "    f.csv:2: label: unknown label"));
  EXPECT_THAT(FormatValidationReport("", d, {}, {}, IssueReportOptions()),
              ::testing::EndsWith("Issues: none\n"));
}

TEST(OutputTest, MergeConflictsAreATableWithSources) {
  dataset::v1::MergeDatasetsResponse merge;
  merge.set_conflict_count(20000);
  for (int i = 0; i < 3; ++i) {
    dataset::v1::MergeConflict* c = merge.add_conflicts();
    c->set_address(absl::StrCat("0x", i));
    c->set_field("label");
    c->mutable_chosen()->set_value("Scam");
    c->mutable_chosen()->set_source("cryptoscamdb");
    c->add_overruled()->set_value("Legit");
    c->mutable_overruled(0)->set_source("uniswap_tokens");
    c->set_rule("most severe label");
  }
  const std::string text = FormatMergeConflicts(merge, 2);
  EXPECT_THAT(text, ::testing::StartsWith(
                        "Conflicts resolved: 20000\n"
                        "ADDRESS  FIELD  CHOSEN (SOURCE)      OVERRULED (SOURCES)     RULE\n"
                        "0x0      label  Scam (cryptoscamdb)  Legit (uniswap_tokens)  most severe "
                        "label\n"));
  EXPECT_THAT(text, Not(HasSubstr("0x2 ")));
  EXPECT_THAT(text, HasSubstr("… and 1 more"));
  EXPECT_THAT(text, HasSubstr("The service listed 3 of 20000 conflicts"));
  EXPECT_THAT(FormatMergeConflicts(merge, 0), HasSubstr("0x2 "));
  EXPECT_EQ(FormatMergeConflicts(dataset::v1::MergeDatasetsResponse(), 0),
            "Conflicts resolved: 0\n");
}

TEST(OutputTest, StatsWithoutPriceSayHowToGetACost) {
  dataset::v1::GetDatasetStatsResponse stats;
  stats.mutable_chat_export()->set_examples_over_limit(2);
  const std::string text = FormatDatasetStats(stats);
  EXPECT_THAT(text, HasSubstr("  Cost per epoch:     - (give --price-per-million-tokens P"));
  EXPECT_THAT(text, HasSubstr("2 over it (the export refuses these)"));
  EXPECT_THAT(text, HasSubstr("  Feature coverage:   none\n"));
}

// 24 invalid addresses (errors, of 5000 the service counted) after a bad checksum (a warning).
google::protobuf::RepeatedPtrField<dataset::v1::ValidationIssue> DarklistIssues() {
  google::protobuf::RepeatedPtrField<dataset::v1::ValidationIssue> issues;
  for (int i = 0; i < 25; ++i) {
    dataset::v1::ValidationIssue* issue = issues.Add();
    issue->set_file("darklist.csv");
    issue->set_line(static_cast<uint64_t>(i) + 2);
    issue->set_field("address");
    issue->set_kind(i == 0 ? "bad_checksum" : "invalid_address");
    issue->set_reason(i == 0 ? "bad EIP-55 checksum" : "invalid address: 39 hex digits, need 40");
    issue->set_severity(i == 0 ? dataset::v1::ValidationIssue::SEVERITY_WARNING
                               : dataset::v1::ValidationIssue::SEVERITY_ERROR);
  }
  return issues;
}

google::protobuf::RepeatedPtrField<dataset::v1::IssueCount> DarklistCounts() {
  google::protobuf::RepeatedPtrField<dataset::v1::IssueCount> counts;
  dataset::v1::IssueCount* errors = counts.Add();
  errors->set_severity(dataset::v1::ValidationIssue::SEVERITY_ERROR);
  errors->set_kind("invalid_address");
  errors->set_count(5000);
  dataset::v1::IssueCount* warnings = counts.Add();
  warnings->set_severity(dataset::v1::ValidationIssue::SEVERITY_WARNING);
  warnings->set_kind("bad_checksum");
  warnings->set_count(1);
  return counts;
}

TEST(OutputTest, IssuesAreGroupedByKindErrorsFirstWithTheServiceCounts) {
  const std::string text = FormatIssues(DarklistIssues(), DarklistCounts(), IssueReportOptions());
  EXPECT_EQ(text,
            "Errors (lines skipped):\n"
            "  invalid_address: 5000\n"
            "    darklist.csv:3: address: invalid address: 39 hex digits, need 40 (error)\n"
            "    darklist.csv:4: address: invalid address: 39 hex digits, need 40 (error)\n"
            "    darklist.csv:5: address: invalid address: 39 hex digits, need 40 (error)\n"
            "    … and 4997 more\n"
            "Warnings (lines kept):\n"
            "  bad_checksum: 1\n"
            "    darklist.csv:2: address: bad EIP-55 checksum (warning)\n"
            "(--all-issues prints every issue the service kept)\n");
  EXPECT_EQ(FormatIssues({}, {}, IssueReportOptions()), "");
}

TEST(OutputTest, AllIssuesPrintsEveryKeptIssueErrorsFirst) {
  IssueReportOptions options;
  options.all_issues = true;
  const std::string text = FormatIssues(DarklistIssues(), DarklistCounts(), options);
  EXPECT_THAT(text, ::testing::StartsWith("Errors (lines skipped):\n  darklist.csv:3: address:"));
  EXPECT_THAT(text, HasSubstr("  darklist.csv:26: address: invalid address: 39 hex digits, need "
                              "40 (error)\n"
                              "  … and 4976 more that the service did not keep"));
  EXPECT_THAT(text, ::testing::EndsWith("Warnings (lines kept):\n"
                                        "  darklist.csv:2: address: bad EIP-55 checksum "
                                        "(warning)\n"));
}

TEST(OutputTest, IssueTextFromTheServiceIsPrintedOnOneLine) {
  google::protobuf::RepeatedPtrField<dataset::v1::ValidationIssue> issues;
  dataset::v1::ValidationIssue* issue = issues.Add();
  issue->set_file("a\nb.csv");
  issue->set_line(2);
  issue->set_reason(absl::StrCat("x\ny", std::string(5000, 'z')));
  issue->set_severity(dataset::v1::ValidationIssue::SEVERITY_ERROR);
  const std::string text = FormatIssues(issues, {}, IssueReportOptions());
  EXPECT_THAT(text, HasSubstr("  other: 1\n    a\\nb.csv:2: x\\nyzzz"));
  EXPECT_LT(text.size(), 1500u);
}

TEST(OutputTest, JobStatusUsesFineTuningVocabulary) {
  EXPECT_EQ(JobStatusName(training::v1::JOB_STATUS_VALIDATING_FILES), "validating_files");
  EXPECT_EQ(JobStatusName(training::v1::JOB_STATUS_SUCCEEDED), "succeeded");
}

TEST(OutputTest, FormatsJobEventsAndMetrics) {
  training::v1::JobEvent event;
  event.mutable_create_time()->set_seconds(1767225600);
  event.set_level("info");
  event.set_message("model published");
  event.set_status(training::v1::JOB_STATUS_SUCCEEDED);
  EXPECT_EQ(FormatJobEvent(event), "2026-01-01 00:00:00 UTC  info     model published [succeeded]");
  training::v1::JobEvent metrics;
  metrics.set_level("info");
  metrics.set_type("metrics");
  (*metrics.mutable_metrics())["step"] = 3;
  (*metrics.mutable_metrics())["total_steps"] = 10;
  (*metrics.mutable_metrics())["valid_loss"] = 0.5;
  (*metrics.mutable_metrics())["train_loss"] = 0.25;
  EXPECT_EQ(FormatJobEvent(metrics), "-  info     step 3/10  train_loss=0.25 valid_loss=0.5");
  // A step event's message already says it all.
  metrics.set_message("Step 3/10: training loss=0.25, validation loss=0.5");
  EXPECT_TRUE(IsStepEvent(metrics));
  EXPECT_EQ(FormatJobEvent(metrics),
            "-  info     Step 3/10: training loss=0.25, validation loss=0.5");
}

training::v1::JobEvent StepEvent(int step, int total) {
  training::v1::JobEvent e;
  e.set_type("metrics");
  e.set_level("info");
  e.set_message(absl::StrCat("Step ", step, "/", total, ": training loss=0.1"));
  (*e.mutable_metrics())["step"] = step;
  (*e.mutable_metrics())["total_steps"] = total;
  return e;
}

TEST(OutputTest, WatchFilterKeepsEveryIntervalTheLastStepAndOtherEvents) {
  WatchEventFilter filter(50);
  std::vector<std::string> printed;
  auto add = [&](const training::v1::JobEvent& e) {
    for (std::string& line : filter.Add(e)) printed.push_back(line.substr(line.find("  ") + 11));
  };
  for (int step = 1; step <= 120; ++step) add(StepEvent(step, 120));
  training::v1::JobEvent message;
  message.set_level("info");
  message.set_message("checkpoint saved");
  add(message);
  for (int step = 121; step <= 130; ++step) add(StepEvent(step, 200));
  for (std::string& line : filter.Finish()) printed.push_back(line.substr(line.find("  ") + 11));
  EXPECT_THAT(printed, ::testing::ElementsAre("Step 50/120: training loss=0.1",
                                              "Step 100/120: training loss=0.1",
                                              "Step 120/120: training loss=0.1", "checkpoint saved",
                                              "Step 130/200: training loss=0.1"));
}

TEST(OutputTest, JobShowsRequestedAndUsedHyperparameters) {
  training::v1::Job job;
  job.set_id("ftjob-1");
  job.mutable_hyperparameters()->set_n_epochs(20);
  job.mutable_hyperparameters()->set_feature_set("transaction");
  job.set_step(120);
  job.set_total_steps(1000);
  (*job.mutable_hyperparameters_used())["max_depth"] = 6;
  (*job.mutable_hyperparameters_used())["learning_rate"] = 0.3;
  const std::string out = FormatJob(job);
  EXPECT_THAT(out, HasSubstr("  Hyperparameters:    n_epochs 20, feature_set transaction (the "
                             "others auto)\n"));
  EXPECT_THAT(out, HasSubstr("  Step:               120/1000\n"));
  EXPECT_THAT(out, HasSubstr("  Used:               learning_rate  0.3\n"
                             "                      max_depth      6\n"));
  training::v1::Job fresh;
  EXPECT_THAT(FormatJob(fresh), HasSubstr("  Hyperparameters:    auto\n"));
  EXPECT_THAT(FormatJob(fresh), Not(HasSubstr("Step:")));
}

TEST(OutputTest, BehaviourShowsScoreAndTopContributions) {
  inference::v1::BehaviouralScore b;
  b.set_score(0.912);
  b.set_threshold(0.5);
  b.set_label("Phish / Hack");
  b.set_features_present(22);
  b.set_features_missing(25);
  auto* c = b.add_top_contributions();
  c->set_feature("sent_tnx");
  c->set_value(5);
  c->set_contribution(0.4121);
  auto* m = b.add_top_contributions();
  m->set_feature("erc20_total_tnxs");
  m->set_contribution(-0.1);
  EXPECT_THAT(FormatBehaviour(b),
              ::testing::ElementsAre("score 0.912 (threshold 0.500): Phish / Hack, a behavioural "
                                     "estimate from 22 live features (25 missing)",
                                     "+0.412  sent_tnx = 5", "-0.100  erc20_total_tnxs = missing"));
}

TEST(OutputTest, JobShowsItsRemoteJob) {
  training::v1::Job job;
  job.set_id("ftjob-1");
  job.set_backend("openai");
  training::v1::RemoteJob* r = job.mutable_remote();
  r->set_endpoint("https://api.example.com/v1");
  r->set_model("gpt-4o-mini-2024-07-18");
  r->set_training_file("file-abc");
  r->set_training_examples(564);
  r->set_id("ftjob-remote");
  r->set_status("running");
  r->set_trained_tokens(1200);
  EXPECT_THAT(FormatJob(job),
              HasSubstr("  Remote:             endpoint https://api.example.com/v1\n"
                        "                      model    gpt-4o-mini-2024-07-18\n"
                        "                      training file-abc (564 examples)\n"
                        "                      job      ftjob-remote (running)\n"
                        "                      tokens   1200\n"));
  EXPECT_THAT(FormatJob(training::v1::Job()), Not(HasSubstr("Remote:")));
}

TEST(OutputTest, TableAlignsColumns) {
  EXPECT_EQ(FormatTable({"ID", "NAME"}, {{"ds-1", "a"}, {"ds-22", "bb"}}),
            "ID     NAME\n"
            "ds-1   a\n"
            "ds-22  bb\n");
  EXPECT_EQ(FormatTable({"ID"}, {}), "(none)\n");
}

TEST(OutputTest, ModelTableListsAliases) {
  training::v1::Model m;
  m.set_name("ft:ethscan-base:demo:ftjob-1");
  m.set_kind("knowledge");
  m.set_address_count(38000);
  m.add_aliases("production");
  EXPECT_THAT(FormatModelTable({m}),
              HasSubstr("ft:ethscan-base:demo:ftjob-1  knowledge  38000      production  -"));
}

}  // namespace
}  // namespace ethscan::cli

// Every address of the shared labelled data through the code path of a fine-tuning job: each
// file read by the dataset service's ingest pipeline (format detected, as on an upload
// without a format), the records merged by the training service's knowledge builder, and each
// entry's report composed by BuildPrediction. Checks that no description states a verdict
// other than the report's label, that the conflicts a description describes are exactly the
// entry's conflicts (kind by kind), and what the descriptions of a delisted Tornado Cash
// address and of a Lazarus Group address say. Skipped when the shared data folder is absent.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/report/labels.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dataset/ingest_pipeline.h"
#include "services/inference/report.h"
#include "services/training/knowledge_builder.h"
#include "tests/testing/test_paths.h"

namespace ethscan::inference {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Tornado Cash's cDAI pool: OFAC delisted, Etherscan's 2023 scrape still "ofac-sanctions-lists".
constexpr char kTornado[] = "0x03893a7c7463ae47d46bc7f091665f1893656003";
// Ronin bridge exploiter: OFAC "LAZARUS GROUP", Etherscan "Ronin Bridge Exploiter".
constexpr char kLazarus[] = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";

// The verdict sentence of each report label, written out independently of report.cc.
const std::map<std::string, std::string>& VerdictPhrases() {
  static const auto* phrases = new std::map<std::string, std::string>{
      {"Sanctioned", "is on a sanctions list"},
      {"Heist", "is tied to a theft of funds"},
      {"Exploit", "was used in an exploit"},
      {"Phish / Hack", "is reported for phishing or hacking"},
      {"Scam", "is reported as a scam"},
      {"Legit", "is listed as legitimate"},
      {"Unknown", "carries no risk label"},
  };
  return *phrases;
}

class CollectingSink final : public dataset::RecordSink {
 public:
  absl::Status Write(const common::v1::AddressRecord& record) override {
    records.push_back(record);
    return absl::OkStatus();
  }
  std::vector<common::v1::AddressRecord> records;
};

// Reads one file as an upload without a format would.
training::SourceDataset Ingest(const std::filesystem::path& root, const std::filesystem::path& file,
                               int64_t create_seconds) {
  training::SourceDataset out;
  dataset::IngestOptions options;
  options.name = file.stem().string();
  options.filename = std::filesystem::relative(file, root).string();
  CollectingSink sink;
  dataset::IngestPipeline pipeline(options, &sink);
  std::ifstream in(file, std::ios::binary);
  std::string chunk(size_t{64} * 1024, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    absl::Status status = pipeline.AddChunk(absl::string_view(chunk.data(), in.gcount()));
    EXPECT_TRUE(status.ok()) << options.filename << ": " << status;
    if (!status.ok()) return out;
  }
  absl::Status status = pipeline.Finish();
  EXPECT_TRUE(status.ok()) << options.filename << ": " << status;
  out.dataset = pipeline.result().dataset;
  out.dataset.mutable_create_time()->set_seconds(create_seconds);
  out.records = std::move(sink.records);
  return out;
}

// Occurrences of `needle` in `text`.
int Count(absl::string_view text, absl::string_view needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// Conflict kinds as the knowledge builder notes them: "sanctions" for the OFAC rule, otherwise
// the field before the colon ("label", "name", …).
std::map<std::string, int> NotedKinds(const model::v1::KnowledgeEntry& entry) {
  std::map<std::string, int> kinds;
  for (const std::string& note : entry.conflicts()) {
    if (absl::StrContains(note, "only OFAC decides sanctions")) {
      ++kinds["sanctions"];
    } else {
      ++kinds[note.substr(0, note.find(':'))];
    }
  }
  return kinds;
}

// Conflict kinds a description describes.
std::map<std::string, int> DescribedKinds(absl::string_view description) {
  std::map<std::string, int> kinds;
  const std::pair<const char*, const char*> kPhrases[] = {
      {"sanctions", " is overruled: only OFAC decides sanctions."},
      {"label", "Sources disagree on the label: "},
      {"name", "Sources disagree on the name: "},
      {"account_type", "Sources disagree on the account type: "},
      {"contract_type", "Sources disagree on the contract type: "},
      {"entity", "Sources disagree on the entity: "},
  };
  for (const auto& [kind, phrase] : kPhrases) {
    if (int n = Count(description, phrase); n > 0) kinds[kind] = n;
  }
  return kinds;
}

class ReportRealDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = ethscan::testing::SharedDataDir();
    if (dir.empty()) return;
    std::vector<std::filesystem::path> files;
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
      if (f.is_regular_file() && f.path().extension() == ".csv") files.push_back(f.path());
    }
    std::sort(files.begin(), files.end());
    file_count_ = files.size();
    std::vector<training::SourceDataset> datasets;
    for (size_t i = 0; i < files.size(); ++i) {
      datasets.push_back(Ingest(dir, files[i], 1700000000 + static_cast<int64_t>(i)));
    }
    absl::StatusOr<model::v1::KnowledgeIndex> model = training::BuildKnowledgeIndex(datasets);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new model::v1::KnowledgeIndex(*std::move(model));
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }

  void SetUp() override {
    if (ethscan::testing::SharedDataDir().empty()) {
      GTEST_SKIP() << "shared data folder not found (set ETHSCAN_SHARED_DATA or place it at "
                      "../shared/data beside the source tree); skipping the real-data reports";
    }
    ASSERT_NE(model_, nullptr);
  }

  static inference::v1::PredictResponse Report(const model::v1::KnowledgeEntry& entry) {
    auto address =
        eth::Address::Parse(entry.merged().address(), eth::Address::ChecksumPolicy::kLenient);
    EXPECT_TRUE(address.ok()) << address.status();
    return BuildPrediction(*address, &entry, kModelName);
  }

  static const model::v1::KnowledgeEntry* Find(absl::string_view lower) {
    for (const model::v1::KnowledgeEntry& e : model_->entries()) {
      if (absl::AsciiStrToLower(e.merged().address()) == lower) return &e;
    }
    return nullptr;
  }

  static size_t file_count_;
  static constexpr char kModelName[] = "ft:ethscan-base:real:ftjob-1";
  static model::v1::KnowledgeIndex* model_;
};

size_t ReportRealDataTest::file_count_ = 0;
model::v1::KnowledgeIndex* ReportRealDataTest::model_ = nullptr;

TEST_F(ReportRealDataTest, NoDescriptionStatesAnotherVerdictOrOtherConflicts) {
  EXPECT_GE(file_count_, 11u) << "every labelled file of the shared data";
  EXPECT_GT(model_->entries_size(), 38000);
  int with_conflicts = 0;
  int failures = 0;
  for (const model::v1::KnowledgeEntry& entry : model_->entries()) {
    if (failures > 20) break;  // Enough to see the pattern.
    const inference::v1::PredictResponse p = Report(entry);
    const std::string& d = p.description();
    const std::string where =
        absl::StrCat(entry.merged().address(), " (label ", p.label(), "): ", d);
    std::vector<std::string> wrong;
    auto expect = [&wrong](bool ok, const std::string& what) {
      if (!ok) wrong.push_back(what);
    };
    expect(p.label() == (entry.merged().label().empty() ? "Unknown" : entry.merged().label()),
           "label differs from the entry's");
    ASSERT_TRUE(VerdictPhrases().count(p.label())) << where;
    // The reported verdict is stated; no other is.
    expect(absl::StrContains(d, VerdictPhrases().at(p.label())), "verdict not stated");
    for (const auto& [label, phrase] : VerdictPhrases()) {
      if (label != p.label()) expect(!absl::StrContains(d, phrase), "states verdict " + label);
    }
    expect(!absl::StrContains(d, "the most severe label is reported"), "generic severity claim");
    // A label disagreement names the reported label as the one kept.
    for (size_t at = d.find("Sources disagree on the label: "); at != std::string::npos;
         at = d.find("Sources disagree on the label: ", at + 1)) {
      expect(absl::StartsWith(absl::string_view(d).substr(at + 31), absl::StrCat(p.label(), " (")),
             "label disagreement keeps another label");
    }
    // Exactly the entry's conflicts, kind by kind; a model built under this policy never
    // needs the description's fallback.
    expect(DescribedKinds(d) == NotedKinds(entry), "conflict kinds differ from the entry's");
    expect(!absl::StrContains(d, "the conflict policy settled"), "fallback conflict sentence");
    expect(p.conflicts_size() == entry.conflicts_size(), "conflicts not copied");
    if (!wrong.empty()) {
      ++failures;
      ADD_FAILURE() << absl::StrJoin(wrong, "; ") << ": " << where
                    << "\nconflicts: " << absl::StrJoin(entry.conflicts(), " | ");
    }
    if (entry.conflicts_size() > 0) ++with_conflicts;
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GT(with_conflicts, 100);
  std::cout << model_->entries_size() << " addresses, " << with_conflicts << " with conflicts\n";
}

TEST_F(ReportRealDataTest, DelistedTornadoCashSaysDelistedAndWhySanctionedIsOverruled) {
  const model::v1::KnowledgeEntry* entry = Find(kTornado);
  ASSERT_NE(entry, nullptr);
  const inference::v1::PredictResponse p = Report(*entry);
  EXPECT_EQ(p.label(), "Unknown");
  EXPECT_EQ(p.risk_level(), common::v1::RISK_LEVEL_MEDIUM);
  const std::string& d = p.description();
  EXPECT_THAT(d, HasSubstr("carries no risk label."));
  EXPECT_THAT(d, HasSubstr("OFAC no longer lists it as sanctioned (ofac_sdn_eth_addresses: "
                           "delisted from the OFAC SDN list; added 2022-08-08)."));
  EXPECT_THAT(d, HasSubstr("The Sanctioned label from etherscan_labels_2023 is overruled: only "
                           "OFAC decides sanctions."));
  EXPECT_THAT(d, HasSubstr("Sources disagree on the name: \"TORNADO CASH\" "
                           "(ofac_sdn_eth_addresses) is reported over \"Tornado.Cash: 50,000 "
                           "cDAI 2\" (etherscan_labels_2023) by source authority (OFAC_SDN rank "
                           "1 over ETHERSCAN_LABELS rank 2)."));
  EXPECT_THAT(d, Not(HasSubstr("sanctions list")));
  EXPECT_THAT(d, Not(HasSubstr("most severe")));
  EXPECT_THAT(p.next_steps(), ::testing::Contains(HasSubstr("It was on the OFAC sanctions list")));
  // The overruled Sanctioned claim is marked; OFAC's is not.
  for (const common::v1::Evidence& e : p.evidence()) {
    EXPECT_EQ(e.overruled(), absl::StartsWith(e.source(), "etherscan_labels_2023")) << e.source();
  }
}

TEST_F(ReportRealDataTest, LazarusNamesTheConflictingNamesAndNoLabelDispute) {
  const model::v1::KnowledgeEntry* entry = Find(kLazarus);
  ASSERT_NE(entry, nullptr);
  ASSERT_EQ(entry->conflicts_size(), 1) << entry->DebugString();
  const inference::v1::PredictResponse p = Report(*entry);
  EXPECT_EQ(p.label(), "Sanctioned");
  const std::string& d = p.description();
  EXPECT_THAT(d, HasSubstr("is on a sanctions list according to ofac_sdn_eth_addresses, "
                           "etherscan_labels_2023."));
  EXPECT_THAT(d, HasSubstr("Sources disagree on the name: \"LAZARUS GROUP\" "
                           "(ofac_sdn_eth_addresses) is reported over \"Ronin Bridge Exploiter\" "
                           "(etherscan_labels_2023) by source authority"));
  EXPECT_THAT(d, Not(HasSubstr("on the label")));
  EXPECT_THAT(d, Not(HasSubstr("most severe")));
  EXPECT_THAT(d, HasSubstr("On the OFAC SDN list since 2022-04-14."));
}

}  // namespace
}  // namespace ethscan::inference

// `ethscan predict` against the in-process fakes: the fake inference service scores each row
// from one feature (FakeInferenceService), so the output CSV is known exactly.
#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_paths.h"
#include "tests/tools/cli/cli_runner.h"
#include "tools/cli/arg_parser.h"

namespace ethscan::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kA[] = "0x00009277775ac7d0d59eaad8fee3d10ac6c805e8";
constexpr char kB[] = "0x0002b44ddb1476db43c868bd494422ee4c136fed";
constexpr char kHeader[] = "Index,Address,FLAG,Sent tnx,Received Tnx, ERC20 most sent token type\n";

// A valid lowercase address made from a number.
std::string AddressOf(int i) { return absl::StrFormat("0x%040x", i); }

class PredictCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ethscan::testing::MakeTempDir("ethscan-predict-test");
    cli_.services().inference().AddModel("m", {});
    output_ = dir_ + "/scores.csv";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteInput(const std::string& content) {
    const std::string path = dir_ + "/features.csv";
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // Files in the directory besides the input.
  std::vector<std::string> OtherFiles() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name != "features.csv") names.push_back(name);
    }
    return names;
  }
  int Predict(const std::string& input, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"predict", "--model",  "m",    "--input",
                                     input,     "--output", output_};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli_.Run(args);
  }

  ethscan::cli::testing::CliRunner cli_;
  std::string dir_;
  std::string output_;
};

TEST_F(PredictCommandTest, WritesAddressScoreAndLabelOfEveryRow) {
  const std::string input = WriteInput(
      absl::StrCat(kHeader, "1,", kA, ",1,0.75,3,Cofoundit\n", "2,", kB, ",0,0.25,,Numeraire\n"));
  ASSERT_EQ(Predict(input), kExitOk) << cli_.err();
  EXPECT_EQ(Read(output_), absl::StrCat("address,score,label\n", kA, ",0.75,Phish / Hack\n", kB,
                                        ",0.25,Unknown\n"));
  EXPECT_THAT(cli_.out(), IsEmpty());
  EXPECT_EQ(cli_.err(), absl::StrCat("Scored 2 rows with model m: 1 flagged (threshold 0.5); 0 "
                                     "rows skipped.\nWrote ",
                                     output_, "\n"));
  EXPECT_THAT(cli_.targets(), ElementsAre("inference@localhost:50054"));
  EXPECT_THAT(OtherFiles(), ElementsAre("scores.csv"));
}

TEST_F(PredictCommandTest, SendsCanonicalFeaturesWithoutFlagIndexTextOrEmptyCells) {
  const std::string input = WriteInput(
      absl::StrCat(kHeader, "1,", kA, ",1,0.75,3,Cofoundit\n", "2,", kB, ",0,0.25,,Numeraire\n"));
  ASSERT_EQ(Predict(input), kExitOk) << cli_.err();
  std::vector<inference::v1::PredictRequest> requests = cli_.services().inference().requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].address(), kA);
  EXPECT_EQ(requests[0].model(), "m");
  EXPECT_THAT(requests[0].features(),
              UnorderedElementsAre(Pair("sent_tnx", 0.75), Pair("received_tnx", 3.0)));
  EXPECT_THAT(requests[1].features(), UnorderedElementsAre(Pair("sent_tnx", 0.25)));
  std::vector<ethscan::cli::testing::CallInfo> calls = cli_.services().inference().calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].has_deadline);
}

TEST_F(PredictCommandTest, BadRowsAreReportedWithLineAndColumnAndSkipped) {
  std::string content = absl::StrCat(kHeader, "1,", kA, ",1,0.75,3,x\n");  // line 2
  for (int i = 0; i < 24; ++i) absl::StrAppend(&content, "1,", AddressOf(i), ",1,many,3,x\n");
  absl::StrAppend(&content, "1,0xabc,1,0.5,3,x\n");     // line 27
  absl::StrAppend(&content, "1,", kB, ",1,0.5,3,x\n");  // line 28
  ASSERT_EQ(Predict(WriteInput(content)), kExitOk) << cli_.err();
  std::vector<std::string> err = cli_.ErrLines();
  ASSERT_EQ(err.size(), 23u) << cli_.err();
  EXPECT_THAT(err[0], HasSubstr("ethscan predict: "));
  EXPECT_THAT(err[0], HasSubstr("features.csv line 3: column \"Sent tnx\": \"many\" is not a "
                                "number; row skipped"));
  EXPECT_THAT(err[19], HasSubstr("features.csv line 22: "));
  EXPECT_EQ(err[20], "ethscan predict: … and 5 more rows skipped (25 in all)");
  EXPECT_EQ(err[21], "Scored 2 rows with model m: 2 flagged (threshold 0.5); 25 rows skipped.");
  // The server saw only the valid rows.
  std::vector<inference::v1::PredictRequest> requests = cli_.services().inference().requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].address(), kB);
  EXPECT_EQ(Read(output_), absl::StrCat("address,score,label\n", kA, ",0.75,Phish / Hack\n", kB,
                                        ",0.5,Phish / Hack\n"));
}

TEST_F(PredictCommandTest, InvalidAddressIsNamedWithItsLine) {
  const std::string input = WriteInput(absl::StrCat(
      kHeader, "1,0x1F9840a85d5aF5bf1D1762F925BDADdC4201F984,1,1,1,x\n", "2,", kA, ",1,1,1,x\n"));
  ASSERT_EQ(Predict(input), kExitOk) << cli_.err();
  EXPECT_THAT(cli_.err(), HasSubstr("features.csv line 2: column \"Address\": "));
  EXPECT_THAT(cli_.err(), HasSubstr("checksum"));
  EXPECT_EQ(cli_.services().inference().requests().size(), 1u);
}

TEST_F(PredictCommandTest, ModelWithoutClassifierIsAnErrorAndWritesNothing) {
  cli_.services().inference().AddModel("index-only", {"sent_tnx", 0.5, /*classifier=*/false});
  const std::string input = WriteInput(absl::StrCat(kHeader, "1,", kA, ",1,0.75,3,x\n"));
  EXPECT_EQ(cli_.Run({"predict", "--model", "index-only", "--input", input, "--output", output_}),
            kExitFailure);
  EXPECT_THAT(cli_.err(),
              HasSubstr("ethscan predict: model index-only has no behavioural classifier"));
  EXPECT_THAT(OtherFiles(), IsEmpty());
}

TEST_F(PredictCommandTest, DefaultModelIsNamedAsItResolved) {
  const std::string input = WriteInput(absl::StrCat(kHeader, "1,", kA, ",1,0.75,3,x\n"));
  // The fake answers an alias with its first model, "m" (which has a classifier).
  ASSERT_EQ(cli_.Run({"predict", "--model", "production", "--input", input, "-o", output_}),
            kExitOk)
      << cli_.err();
  EXPECT_THAT(cli_.err(), HasSubstr("with model production (m): 1 flagged"));
}

TEST_F(PredictCommandTest, UnknownModelIsNotFoundAndLeavesNoFile) {
  const std::string input = WriteInput(absl::StrCat(kHeader, "1,", kA, ",1,0.75,3,x\n"));
  EXPECT_EQ(cli_.Run({"predict", "--model", "nope", "--input", input, "--output", output_}),
            kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("the stream stopped at "));
  EXPECT_THAT(cli_.err(), HasSubstr("features.csv line 2\n"));
  EXPECT_THAT(cli_.err(),
              HasSubstr("ethscan predict: NOT_FOUND: request 0: model \"nope\" not found"));
  EXPECT_THAT(OtherFiles(), IsEmpty());
}

TEST_F(PredictCommandTest, JsonPrintsEachResponseAndStillWritesTheFile) {
  const std::string input =
      WriteInput(absl::StrCat(kHeader, "1,", kA, ",1,0.75,3,x\n", "2,", kB, ",0,0.25,,x\n"));
  ASSERT_EQ(Predict(input, {"--json"}), kExitOk) << cli_.err();
  std::vector<std::string> lines = cli_.OutLines();
  ASSERT_EQ(lines.size(), 2u);
  inference::v1::PredictResponse first;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &first).ok()) << lines[0];
  EXPECT_DOUBLE_EQ(first.behaviour().score(), 0.75);
  EXPECT_TRUE(first.behaviour().flagged());
  EXPECT_THAT(cli_.err(), IsEmpty());
  EXPECT_THAT(Read(output_), HasSubstr(absl::StrCat(kB, ",0.25,Unknown\n")));
}

TEST_F(PredictCommandTest, ThousandsOfRowsGoThroughOneStreamInOrder) {
  std::string content = "Address,Sent tnx\n";
  std::string expected = "address,score,label\n";
  for (int i = 0; i < 3000; ++i) {
    const double score = (i % 100) / 100.0;
    absl::StrAppend(&content, AddressOf(i), ",", score, "\n");
    absl::StrAppend(&expected, AddressOf(i), ",", score, ",",
                    score >= 0.5 ? "Phish / Hack" : "Unknown", "\n");
  }
  ASSERT_EQ(Predict(WriteInput(content)), kExitOk) << cli_.err();
  EXPECT_EQ(Read(output_), expected);
  EXPECT_EQ(cli_.services().inference().calls().size(), 1u);
  EXPECT_THAT(cli_.err(), HasSubstr("Scored 3000 rows with model m: 1500 flagged"));
}

TEST_F(PredictCommandTest, ScoresKeepEveryDigit) {
  const std::string input =
      WriteInput(absl::StrCat("Address,Sent tnx\n", kA, ",0.123456789012345\n", kB, ",1e-07\n"));
  ASSERT_EQ(Predict(input), kExitOk) << cli_.err();
  EXPECT_EQ(Read(output_), absl::StrCat("address,score,label\n", kA, ",0.123456789012345,Unknown\n",
                                        kB, ",1e-07,Unknown\n"));
}

TEST_F(PredictCommandTest, StructuralCsvErrorFailsAndLeavesNoFile) {
  const std::string input =
      WriteInput(absl::StrCat("Address,Sent tnx\n", kA, ",1\n", kB, ",2\"broken\n"));
  EXPECT_EQ(Predict(input), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("features.csv line 3"));
  EXPECT_THAT(OtherFiles(), IsEmpty());
}

TEST_F(PredictCommandTest, EveryRowSkippedIsAFailure) {
  const std::string input = WriteInput(absl::StrCat("Address,Sent tnx\n", kA, ",\n", kB, ",\n"));
  EXPECT_EQ(Predict(input), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("could be scored (2 skipped); nothing written"));
  EXPECT_THAT(OtherFiles(), IsEmpty());
}

TEST_F(PredictCommandTest, HeaderWithoutFeaturesOrAddressIsAnError) {
  EXPECT_EQ(Predict(WriteInput("Address,FLAG\n")), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("no numeric column of ethscan.features.v1"));
  EXPECT_EQ(Predict(WriteInput("Sent tnx\n1\n")), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("no Address column"));
  EXPECT_THAT(cli_.services().inference().calls(), IsEmpty());
}

TEST_F(PredictCommandTest, UnknownColumnsAreNamedInAWarning) {
  const std::string input = WriteInput(absl::StrCat("Address,Sent tnx,colour\n", kA, ",1,red\n"));
  ASSERT_EQ(Predict(input), kExitOk) << cli_.err();
  EXPECT_THAT(cli_.err(), HasSubstr("ethscan predict: ignoring columns that are no feature of "
                                    "ethscan.features.v1: \"colour\"\n"));
}

TEST_F(PredictCommandTest, InputAndOutputAreRequired) {
  EXPECT_EQ(cli_.Run({"predict", "--model", "m", "--output", output_}), kExitUsage);
  EXPECT_THAT(cli_.err(), HasSubstr("--input FEATURES.csv is required"));
  EXPECT_EQ(cli_.Run({"predict", "--input", "x.csv"}), kExitUsage);
  EXPECT_THAT(cli_.err(), HasSubstr("--output SCORES.csv is required"));
  EXPECT_EQ(cli_.Run({"predict", "--input", dir_ + "/missing.csv", "-o", output_}), kExitFailure);
  EXPECT_THAT(cli_.err(), HasSubstr("cannot read "));
  EXPECT_THAT(cli_.err(), Not(HasSubstr("Scored")));
}

TEST_F(PredictCommandTest, InferenceTargetComesFromFlagOrEnvironment) {
  const std::string input = WriteInput(absl::StrCat("Address,Sent tnx\n", kA, ",1\n"));
  cli_.env()["ETHSCAN_INFERENCE_ADDR"] = "inf:7";
  ASSERT_EQ(Predict(input), kExitOk) << cli_.err();
  ASSERT_EQ(Predict(input, {"--inference", "flag:8"}), kExitOk) << cli_.err();
  EXPECT_THAT(cli_.targets(), ElementsAre("inference@inf:7", "inference@flag:8"));
}

}  // namespace
}  // namespace ethscan::cli

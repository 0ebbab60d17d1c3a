#include "tools/cli/arg_parser.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::cli {
namespace {

using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class ArgParserTest : public ::testing::Test {
 protected:
  absl::StatusOr<Invocation> Parse(const std::vector<std::string>& args) {
    return ParseCommandLine(args, [this](absl::string_view name) {
      auto it = env_.find(std::string{name});
      return it == env_.end() ? std::string() : it->second;
    });
  }

  std::map<std::string, std::string> env_;
};

TEST_F(ArgParserTest, ScanTakesAddressesAndCommandFlags) {
  ASSERT_OK_AND_ASSIGN(Invocation inv,
                       Parse({"scan", "0xaa", "--model", "production", "0xbb", "--chain-id=5"}));
  ASSERT_NE(inv.command, nullptr);
  EXPECT_EQ(inv.command->FullName(), "scan");
  EXPECT_THAT(inv.args, ElementsAre("0xaa", "0xbb"));
  EXPECT_EQ(inv.Get("model"), "production");
  EXPECT_EQ(inv.Get("chain-id"), "5");
  EXPECT_FALSE(inv.Has("json"));
}

TEST_F(ArgParserTest, DefaultsTargetsToLocalhostContractPorts) {
  ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"models", "list"}));
  EXPECT_EQ(inv.globals.gateway, "localhost:50051");
  EXPECT_EQ(inv.globals.dataset_service, "localhost:50052");
  EXPECT_EQ(inv.globals.training_service, "localhost:50053");
  EXPECT_EQ(inv.globals.inference, "localhost:50054");
  EXPECT_EQ(inv.globals.timeout, absl::Seconds(30));
  EXPECT_FALSE(inv.globals.json);
  EXPECT_EQ(inv.globals.api_key, "");
}

TEST_F(ArgParserTest, EnvironmentFillsTargetsAndApiKey) {
  env_ = {{"ETHSCAN_GATEWAY_ADDR", "gw:1"},
          {"ETHSCAN_DATASET_ADDR", "ds:2"},
          {"ETHSCAN_TRAINING_ADDR", "dns:///training:3"},
          {"ETHSCAN_INFERENCE_ADDR", "inf:4"},
          {"ETHSCAN_API_KEY", "secret"}};
  ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"jobs", "list"}));
  EXPECT_EQ(inv.globals.gateway, "gw:1");
  EXPECT_EQ(inv.globals.dataset_service, "ds:2");
  EXPECT_EQ(inv.globals.training_service, "dns:///training:3");
  EXPECT_EQ(inv.globals.inference, "inf:4");
  EXPECT_EQ(inv.globals.api_key, "secret");
}

TEST_F(ArgParserTest, FlagsBeatEnvironmentAndMayComeAnywhere) {
  env_ = {{"ETHSCAN_GATEWAY_ADDR", "gw:1"}};
  ASSERT_OK_AND_ASSIGN(Invocation inv,
                       Parse({"--gateway", "flag:9", "scan", "0xaa", "--json", "--timeout=5s",
                              "--dataset-service=d:7", "--inference", "i:8"}));
  EXPECT_EQ(inv.globals.gateway, "flag:9");
  EXPECT_EQ(inv.globals.dataset_service, "d:7");
  EXPECT_EQ(inv.globals.inference, "i:8");
  EXPECT_TRUE(inv.globals.json);
  EXPECT_EQ(inv.globals.timeout, absl::Seconds(5));
}

TEST_F(ArgParserTest, GlobalFlagMayStandBetweenGroupAndSubcommand) {
  ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"datasets", "--json", "list"}));
  EXPECT_EQ(inv.command->FullName(), "datasets list");
  EXPECT_TRUE(inv.globals.json);
}

TEST_F(ArgParserTest, RepeatedFlagKeepsEveryValueInOrder) {
  ASSERT_OK_AND_ASSIGN(Invocation inv,
                       Parse({"jobs", "create", "--training-dataset", "ds-1", "--extra-dataset",
                              "ds-2", "--extra-dataset=ds-3", "--watch"}));
  EXPECT_EQ(inv.Get("training-dataset"), "ds-1");
  EXPECT_THAT(inv.GetAll("extra-dataset"), ElementsAre("ds-2", "ds-3"));
  EXPECT_TRUE(inv.Has("watch"));
}

TEST_F(ArgParserTest, BooleanFlagAcceptsExplicitFalse) {
  ASSERT_OK_AND_ASSIGN(Invocation inv,
                       Parse({"jobs", "create", "--training-dataset=x", "--watch=false"}));
  EXPECT_FALSE(inv.Has("watch"));
  EXPECT_THAT(Parse({"jobs", "create", "--watch=maybe"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("takes no value")));
}

TEST_F(ArgParserTest, DoubleDashEndsFlags) {
  ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"models", "show", "--", "--odd-name"}));
  EXPECT_THAT(inv.args, ElementsAre("--odd-name"));
}

TEST_F(ArgParserTest, RejectsUnknownCommand) {
  EXPECT_THAT(Parse({"frobnicate"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown command")));
  EXPECT_THAT(Parse({"datasets", "frobnicate"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown command \"datasets frobnicate\"")));
}

TEST_F(ArgParserTest, RejectsMissingCommandAndSubcommand) {
  EXPECT_THAT(Parse({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing command")));
  EXPECT_THAT(Parse({"jobs"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing jobs subcommand")));
}

TEST_F(ArgParserTest, RejectsUnknownFlagNamingIt) {
  EXPECT_THAT(Parse({"scan", "0xaa", "--colour"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown flag \"--colour\"\nRun 'ethscan scan --help'")));
  // A command flag is not accepted by another command.
  EXPECT_THAT(Parse({"models", "list", "--model", "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown flag")));
}

TEST_F(ArgParserTest, RejectsFlagWithoutValue) {
  EXPECT_THAT(Parse({"scan", "0xaa", "--model"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--model needs a value")));
}

TEST_F(ArgParserTest, RejectsSingleFlagGivenTwice) {
  EXPECT_THAT(Parse({"scan", "0xaa", "--model", "a", "--model", "b"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than once")));
}

TEST_F(ArgParserTest, ChecksArgumentCounts) {
  EXPECT_THAT(Parse({"scan"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("missing argument ADDRESS...")));
  EXPECT_THAT(Parse({"datasets", "upload"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing argument FILE")));
  EXPECT_THAT(Parse({"datasets", "show", "a", "b"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unexpected argument \"b\"")));
  EXPECT_THAT(Parse({"models", "alias"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ALIAS MODEL")));
  EXPECT_THAT(Parse({"models", "alias", "production", "ft:a:b:c", "extra"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unexpected argument")));
}

TEST_F(ArgParserTest, RejectsBadTimeoutAndTarget) {
  EXPECT_THAT(Parse({"--timeout", "soon", "jobs", "list"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a duration")));
  EXPECT_THAT(Parse({"--timeout", "0s", "jobs", "list"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be positive")));
  EXPECT_THAT(Parse({"--gateway", "nohostport", "scan", "0xaa"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--gateway")));
}

TEST_F(ArgParserTest, HelpFormsReturnTheMatchingUsage) {
  ASSERT_OK_AND_ASSIGN(Invocation top, Parse({"help"}));
  EXPECT_TRUE(top.help);
  EXPECT_THAT(top.help_text, HasSubstr("datasets upload FILE"));
  EXPECT_THAT(top.help_text, ::testing::Not(HasSubstr("health")));  // hidden

  ASSERT_OK_AND_ASSIGN(Invocation flag, Parse({"--help"}));
  EXPECT_EQ(flag.help_text, top.help_text);

  ASSERT_OK_AND_ASSIGN(Invocation group, Parse({"datasets", "--help"}));
  EXPECT_THAT(group.help_text, HasSubstr("Usage: ethscan datasets SUBCOMMAND"));

  ASSERT_OK_AND_ASSIGN(Invocation command, Parse({"datasets", "upload", "-h"}));
  EXPECT_THAT(command.help_text, HasSubstr("Usage: ethscan datasets upload FILE"));
  EXPECT_THAT(command.help_text, HasSubstr("--format F"));
  EXPECT_THAT(command.help_text, HasSubstr("through the gateway"));

  ASSERT_OK_AND_ASSIGN(Invocation via_help, Parse({"help", "jobs", "create"}));
  EXPECT_THAT(via_help.help_text, HasSubstr("--training-dataset ID"));

  EXPECT_THAT(Parse({"help", "nope"}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ArgParserTest, HelpWinsOverMissingArguments) {
  ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"scan", "--help"}));
  EXPECT_TRUE(inv.help);
  EXPECT_THAT(inv.help_text, HasSubstr("Usage: ethscan scan ADDRESS..."));
}

TEST_F(ArgParserTest, ShortAliasStoresUnderTheLongName) {
  ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"datasets", "export", "ds-1", "-o", "out.jsonl"}));
  EXPECT_EQ(inv.Get("output"), "out.jsonl");
  ASSERT_OK_AND_ASSIGN(Invocation eq, Parse({"datasets", "export", "ds-1", "-o=x.csv"}));
  EXPECT_EQ(eq.Get("output"), "x.csv");
  EXPECT_THAT(Parse({"datasets", "export", "ds-1", "-o", "a", "--output", "b"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than once")));
  // An alias belongs to its command only.
  EXPECT_THAT(Parse({"datasets", "show", "ds-1", "-o", "a"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown flag \"-o\"")));
}

TEST_F(ArgParserTest, UploadTakesMappingLabelRepeatedTagsAndProgressFlags) {
  ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"datasets", "upload", "list.txt", "--label",
                                              "Phish / Hack", "--tag", "drainer", "--tag=reported",
                                              "--no-progress", "--max-invalid-fraction", "0"}));
  EXPECT_EQ(inv.Get("label"), "Phish / Hack");
  EXPECT_THAT(inv.GetAll("tag"), ElementsAre("drainer", "reported"));
  EXPECT_TRUE(inv.Has("no-progress"));
  EXPECT_FALSE(inv.Has("progress"));
  ASSERT_OK_AND_ASSIGN(Invocation mapped,
                       Parse({"datasets", "validate", "f.csv", "--mapping", "m.json"}));
  EXPECT_EQ(mapped.Get("mapping"), "m.json");
}

TEST_F(ArgParserTest, MergeTakesTwoOrMoreIds) {
  ASSERT_OK_AND_ASSIGN(Invocation inv,
                       Parse({"datasets", "merge", "ds-a", "ds-b", "ds-c", "--name", "all"}));
  EXPECT_THAT(inv.args, ElementsAre("ds-a", "ds-b", "ds-c"));
  EXPECT_EQ(inv.Get("name"), "all");
  EXPECT_THAT(Parse({"datasets", "merge", "ds-a", "--name", "all"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing argument ID ID...")));
}

// AddDatasetReference and RemoveDatasetReference are internal to the services (the training
// service keeps jobs' and models' references); no command, hidden or not, offers them.
TEST_F(ArgParserTest, NoCommandChangesDatasetReferences) {
  for (const CommandSpec& command : Commands()) {
    EXPECT_THAT(absl::AsciiStrToLower(command.FullName()), Not(HasSubstr("ref")))
        << command.FullName();
    EXPECT_THAT(command.details, Not(HasSubstr("DatasetReference"))) << command.FullName();
  }
}

TEST_F(ArgParserTest, EveryDatasetsCommandIsListedWithHelp) {
  ASSERT_OK_AND_ASSIGN(Invocation group, Parse({"datasets", "--help"}));
  for (const char* name :
       {"list", "show", "stats", "split", "merge", "export", "validate", "upload", "delete"}) {
    const CommandSpec* command = FindCommand("datasets", name);
    ASSERT_NE(command, nullptr) << name;
    EXPECT_FALSE(command->details.empty()) << name;
    EXPECT_THAT(group.help_text, HasSubstr(absl::StrCat("  ", name, " "))) << name;
    ASSERT_OK_AND_ASSIGN(Invocation help, Parse({"datasets", name, "--help"}));
    EXPECT_THAT(help.help_text, HasSubstr(absl::StrCat("Usage: ethscan datasets ", name)));
  }
  ASSERT_OK_AND_ASSIGN(Invocation upload, Parse({"help", "datasets", "upload"}));
  for (const char* flag : {"--mapping FILE.json", "--label L", "--tag T", "--progress",
                           "--no-progress", "csv_mapping", "kaggle_fraud_features"}) {
    EXPECT_THAT(upload.help_text, HasSubstr(flag));
  }
  ASSERT_OK_AND_ASSIGN(Invocation stats, Parse({"help", "datasets", "stats"}));
  EXPECT_THAT(stats.help_text, HasSubstr("--price-per-million-tokens P"));
  ASSERT_OK_AND_ASSIGN(Invocation export_help, Parse({"help", "datasets", "export"}));
  EXPECT_THAT(export_help.help_text, HasSubstr("-o, --output FILE"));
}

TEST_F(ArgParserTest, UsageLinesAreWrapped) {
  for (const CommandSpec& c : Commands()) {
    for (absl::string_view line : absl::StrSplit(CommandUsage(c), '\n')) {
      EXPECT_LE(line.size(), 100u) << c.FullName() << ": " << line;
    }
  }
}

TEST_F(ArgParserTest, EveryVisibleCommandHasUsage) {
  for (const CommandSpec& c : Commands()) {
    std::string usage = CommandUsage(c);
    EXPECT_THAT(usage, HasSubstr(absl::StrCat("Usage: ethscan ", c.FullName()))) << c.FullName();
    EXPECT_FALSE(c.summary.empty()) << c.FullName();
  }
}

}  // namespace
}  // namespace ethscan::cli

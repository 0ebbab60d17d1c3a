#include "services/dataset/dataset_splitter.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// A distinct lowercase address for each i.
std::string AddressOf(int i) { return absl::StrFormat("0x%040x", 0x1000 + i); }

SplitSpec Spec(double train, double validation, double test, uint64_t seed = 7) {
  SplitSpec spec;
  spec.fractions = {train, validation, test};
  spec.seed = seed;
  return spec;
}

std::map<std::string, SplitSide> SidesOf(const SplitPlanner& planner,
                                         const std::vector<std::string>& addresses) {
  std::map<std::string, SplitSide> sides;
  for (const std::string& address : addresses) {
    absl::StatusOr<SplitSide> side = planner.SideOf(address);
    EXPECT_THAT(side.status(), IsOk());
    if (side.ok()) sides[absl::AsciiStrToLower(address)] = *side;
  }
  return sides;
}

TEST(ValidateSplitSpecTest, NamesTheBadField) {
  EXPECT_THAT(ValidateSplitSpec(Spec(-0.5, 1, 0.5)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("train_fraction -0.5 is not within [0, 1]")));
  EXPECT_THAT(ValidateSplitSpec(Spec(0, 1.5, -0.5)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("validation_fraction 1.5 is not within [0, 1]")));
  EXPECT_THAT(ValidateSplitSpec(Spec(0.5, 0.5, std::numeric_limits<double>::quiet_NaN())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test_fraction nan")));
  EXPECT_THAT(ValidateSplitSpec(Spec(0.5, 0.3, 0.1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("train_fraction + validation_fraction + test_fraction")));
  EXPECT_THAT(ValidateSplitSpec(Spec(0, 0, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must sum to 1")));
  EXPECT_THAT(ValidateSplitSpec(Spec(0.5, 0.5, 2e-9)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ValidateSplitSpecTest, AcceptsSumsWithinTolerance) {
  EXPECT_THAT(ValidateSplitSpec(Spec(0.7, 0.2, 0.1)), IsOk());
  EXPECT_THAT(ValidateSplitSpec(Spec(0.8, 0.1, 0.1)), IsOk());
  EXPECT_THAT(ValidateSplitSpec(Spec(1, 0, 0)), IsOk());
  EXPECT_THAT(ValidateSplitSpec(Spec(0.5, 0.5, 5e-10)), IsOk());
}

TEST(ApportionBySideTest, LargestRemainderExamples) {
  EXPECT_THAT(ApportionBySide(10, {0.8, 0.1, 0.1}), ElementsAre(8, 1, 1));
  // 2.4, 0.3, 0.3: the one group left over goes to the largest remainder (train).
  EXPECT_THAT(ApportionBySide(3, {0.8, 0.1, 0.1}), ElementsAre(3, 0, 0));
  // 2.5, 1.25, 1.25.
  EXPECT_THAT(ApportionBySide(5, {0.5, 0.25, 0.25}), ElementsAre(3, 1, 1));
  // Equal remainders: side order decides.
  EXPECT_THAT(ApportionBySide(2, {1.0 / 3, 1.0 / 3, 1.0 / 3}), ElementsAre(1, 1, 0));
  EXPECT_THAT(ApportionBySide(0, {0.8, 0.1, 0.1}), ElementsAre(0, 0, 0));
  EXPECT_THAT(ApportionBySide(7, {0, 1, 0}), ElementsAre(0, 7, 0));
  EXPECT_THAT(ApportionBySide(7, {0, 0, 0}), ElementsAre(0, 0, 0));
}

TEST(ApportionBySideTest, CountsSumToNAndStayWithinOneOfTheQuota) {
  const std::vector<std::array<double, 3>> fractions = {
      {0.8, 0.1, 0.1}, {0.7, 0.2, 0.1}, {0.6, 0.2, 0.2},   {0.9, 0.1, 0},
      {0.29, 0.71, 0}, {1, 0, 0},       {0.05, 0.9, 0.05}, {1.0 / 3, 1.0 / 3, 1.0 / 3}};
  for (const auto& f : fractions) {
    for (uint64_t n = 0; n < 500; ++n) {
      std::array<uint64_t, 3> counts = ApportionBySide(n, f);
      EXPECT_EQ(counts[0] + counts[1] + counts[2], n);
      for (int i = 0; i < 3; ++i) {
        EXPECT_LT(std::fabs(static_cast<double>(counts[i]) - static_cast<double>(n) * f[i]), 1.0)
            << "n=" << n << " side " << i;
        if (f[i] == 0) {
          EXPECT_EQ(counts[i], 0u);
        }
      }
    }
  }
}

TEST(SplitDatasetIdTest, DependsOnEveryInput) {
  const SplitSpec spec = Spec(0.8, 0.1, 0.1, 42);
  const std::string id = SplitDatasetId("ds-0123456789abcdef", SplitSide::kTrain, spec);
  EXPECT_THAT(id, MatchesRegex("ds-[0-9a-f]{16}"));
  EXPECT_EQ(id, SplitDatasetId("ds-0123456789abcdef", SplitSide::kTrain, spec));
  EXPECT_NE(id, SplitDatasetId("ds-0123456789abcdee", SplitSide::kTrain, spec));
  EXPECT_NE(id, SplitDatasetId("ds-0123456789abcdef", SplitSide::kTest, spec));
  EXPECT_NE(id, SplitDatasetId("ds-0123456789abcdef", SplitSide::kTrain, Spec(0.8, 0.1, 0.1, 43)));
  EXPECT_NE(id, SplitDatasetId("ds-0123456789abcdef", SplitSide::kTrain, Spec(0.8, 0.2, 0, 42)));
  // Fractions are keyed exactly, not rounded.
  EXPECT_NE(id, SplitDatasetId("ds-0123456789abcdef", SplitSide::kTrain,
                               Spec(0.8 + 1e-12, 0.1 - 1e-12, 0.1, 42)));
}

TEST(SplitPlannerTest, KeepsCaseVariantsOfAnAddressTogether) {
  SplitPlanner planner;
  std::vector<std::string> addresses;
  for (int i = 0; i < 200; ++i) {
    addresses.push_back(AddressOf(i));
    ASSERT_THAT(planner.Add(AddressOf(i), "Scam"), IsOk());
  }
  // The same addresses in checksummed and upper case.
  const std::string mixed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
  ASSERT_THAT(planner.Add(mixed, "Scam"), IsOk());
  ASSERT_THAT(planner.Add(absl::AsciiStrToLower(mixed), "Scam"), IsOk());
  ASSERT_THAT(planner.Add("0x" + absl::AsciiStrToUpper(mixed.substr(2)), "Phish / Hack"), IsOk());
  EXPECT_EQ(planner.group_count(), 201u);
  ASSERT_OK_AND_ASSIGN(SplitSummary summary, planner.Assign(Spec(0.5, 0.25, 0.25)));
  EXPECT_EQ(summary.groups[0] + summary.groups[1] + summary.groups[2], 201u);
  ASSERT_OK_AND_ASSIGN(SplitSide side, planner.SideOf(mixed));
  EXPECT_EQ(planner.SideOf(absl::AsciiStrToLower(mixed)).value(), side);
  EXPECT_EQ(planner.SideOf("0x" + absl::AsciiStrToUpper(mixed.substr(2))).value(), side);
}

TEST(SplitPlannerTest, StratifiesByMajorityLabelWithExactCounts) {
  SplitPlanner planner;
  // 100 Scam groups, 30 Heist groups, 7 Legit groups; one address with two Scam rows and one
  // Heist row counts as Scam.
  for (int i = 0; i < 100; ++i) ASSERT_THAT(planner.Add(AddressOf(i), "Scam"), IsOk());
  ASSERT_THAT(planner.Add(AddressOf(0), "Scam"), IsOk());
  ASSERT_THAT(planner.Add(AddressOf(0), "Heist"), IsOk());
  for (int i = 100; i < 130; ++i) ASSERT_THAT(planner.Add(AddressOf(i), "Heist"), IsOk());
  for (int i = 130; i < 137; ++i) ASSERT_THAT(planner.Add(AddressOf(i), "Legit"), IsOk());
  ASSERT_OK_AND_ASSIGN(SplitSummary summary, planner.Assign(Spec(0.8, 0.1, 0.1)));
  EXPECT_THAT(summary.groups_by_label["Scam"], ElementsAre(80, 10, 10));
  EXPECT_THAT(summary.groups_by_label["Heist"], ElementsAre(24, 3, 3));
  // 5.6, 0.7, 0.7: the two groups left over go to the larger remainders, validation and test.
  EXPECT_THAT(summary.groups_by_label["Legit"], ElementsAre(5, 1, 1));
  EXPECT_THAT(summary.groups, ElementsAre(109, 14, 14));

  // The summary matches the per-address sides.
  std::map<std::string, std::array<uint64_t, 3>> counted;
  for (int i = 0; i < 137; ++i) {
    const std::string label = i < 100 ? "Scam" : i < 130 ? "Heist" : "Legit";
    ASSERT_OK_AND_ASSIGN(SplitSide side, planner.SideOf(AddressOf(i)));
    counted[label][static_cast<int>(side)] += 1;
  }
  EXPECT_EQ(counted, summary.groups_by_label);
}

TEST(SplitPlannerTest, MajorityTieGoesToTheMoreSevereLabel) {
  SplitPlanner planner;
  ASSERT_THAT(planner.Add(AddressOf(1), "Legit"), IsOk());
  ASSERT_THAT(planner.Add(AddressOf(1), "Sanctioned"), IsOk());
  ASSERT_THAT(planner.Add(AddressOf(2), "Phish / Hack"), IsOk());
  ASSERT_THAT(planner.Add(AddressOf(2), "Scam"), IsOk());
  ASSERT_THAT(planner.Add(AddressOf(2), "Scam"), IsOk());
  ASSERT_OK_AND_ASSIGN(SplitSummary summary, planner.Assign(Spec(1, 0, 0)));
  EXPECT_THAT(summary.groups_by_label["Sanctioned"], ElementsAre(1, 0, 0));
  EXPECT_THAT(summary.groups_by_label["Scam"], ElementsAre(1, 0, 0));
  EXPECT_EQ(summary.groups_by_label.size(), 2u);
}

TEST(SplitPlannerTest, AssignmentIgnoresRecordOrderAndFollowsTheSeed) {
  std::vector<std::string> addresses;
  for (int i = 0; i < 300; ++i) addresses.push_back(AddressOf(i * 7919));
  SplitPlanner forward;
  SplitPlanner backward;
  for (size_t i = 0; i < addresses.size(); ++i) {
    ASSERT_THAT(forward.Add(addresses[i], i % 3 == 0 ? "Heist" : "Scam"), IsOk());
    const size_t j = addresses.size() - 1 - i;
    ASSERT_THAT(backward.Add(addresses[j], j % 3 == 0 ? "Heist" : "Scam"), IsOk());
  }
  ASSERT_THAT(forward.Assign(Spec(0.6, 0.2, 0.2, 1)).status(), IsOk());
  ASSERT_THAT(backward.Assign(Spec(0.6, 0.2, 0.2, 1)).status(), IsOk());
  const std::map<std::string, SplitSide> seed1 = SidesOf(forward, addresses);
  EXPECT_EQ(seed1, SidesOf(backward, addresses));

  ASSERT_THAT(forward.Assign(Spec(0.6, 0.2, 0.2, 2)).status(), IsOk());
  const std::map<std::string, SplitSide> seed2 = SidesOf(forward, addresses);
  EXPECT_NE(seed1, seed2);
  // Re-assigning with the first seed gives the first assignment back.
  ASSERT_THAT(forward.Assign(Spec(0.6, 0.2, 0.2, 1)).status(), IsOk());
  EXPECT_EQ(SidesOf(forward, addresses), seed1);
}

TEST(SplitPlannerTest, Errors) {
  SplitPlanner planner;
  EXPECT_THAT(planner.Add("0x1234", "Scam"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      HasSubstr("invalid address \"0x1234\"")));
  ASSERT_THAT(planner.Add(AddressOf(1), "Scam"), IsOk());
  EXPECT_THAT(planner.SideOf(AddressOf(1)), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(planner.Assign(Spec(0.5, 0.5, 0.5)), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(planner.Assign(Spec(0.5, 0.5, 0)).status(), IsOk());
  EXPECT_THAT(planner.SideOf(AddressOf(2)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(planner.SideOf("nope"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SplitSideTest, NamesAndParts) {
  EXPECT_EQ(SplitSideName(SplitSide::kTrain), "train");
  EXPECT_EQ(SplitSideName(SplitSide::kValidation), "validation");
  EXPECT_EQ(SplitSideName(SplitSide::kTest), "test");
  EXPECT_EQ(SplitSidePart(SplitSide::kValidation), v1::SplitOrigin::PART_VALIDATION);
  v1::SplitDatasetRequest request;
  request.set_train_fraction(0.7);
  request.set_validation_fraction(0.2);
  request.set_test_fraction(0.1);
  request.set_seed(99);
  const SplitSpec spec = SplitSpecFromRequest(request);
  EXPECT_THAT(spec.fractions, ElementsAre(0.7, 0.2, 0.1));
  EXPECT_EQ(spec.seed, 99u);
}

}  // namespace
}  // namespace ethscan::dataset

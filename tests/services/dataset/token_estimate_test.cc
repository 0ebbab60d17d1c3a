#include "services/dataset/token_estimate.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dataset/chat_format.h"

namespace ethscan::dataset {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TokenEstimateTest, PreTokenizesLikeTheCl100kPattern) {
  EXPECT_THAT(PreTokenize("Hello world"), ElementsAre("Hello", " world"));
  // Contractions, a lone space before digits, digit groups of 3, a space leading a symbol run,
  // symbols with their line breaks, and white space leaving its last space to the next word.
  EXPECT_THAT(
      PreTokenize("it's 12345 {\"a\":1}\n\n  x"),
      ElementsAre("it", "'s", " ", "123", "45", " {\"", "a", "\":", "1", "}\n\n", " ", " x"));
  EXPECT_THAT(PreTokenize("0x858457daa7e0"),
              ElementsAre("0", "x", "858", "457", "daa", "7", "e", "0"));
  EXPECT_THAT(PreTokenize("Fake_Phishing1658"), ElementsAre("Fake", "_Phishing", "165", "8"));
  EXPECT_THAT(PreTokenize("a\r\nb"), ElementsAre("a", "\r\n", "b"));
  EXPECT_THAT(PreTokenize(""), ElementsAre());
}

TEST(TokenEstimateTest, EstimatesTexts) {
  EXPECT_EQ(EstimateTextTokens(""), 0u);
  EXPECT_EQ(EstimateTextTokens("Hello world"), 2u);
  EXPECT_EQ(EstimateTextTokens("it's 12345 {\"a\":1}\n\n  x"), 12u);
  EXPECT_EQ(EstimateTextTokens("Fake_Phishing1658"), 5u);  // Fake, _Phishing (1.5), 165, 8.
  // Long words cost a quarter token per letter beyond 8.
  EXPECT_EQ(EstimateTextTokens("internationalization"), 4u);
  // Every non-ASCII character is a token: Ü ï ö é plus "ncd" and three CJK characters.
  EXPECT_EQ(EstimateTextTokens(
                "\xC3\x9Cn\xC3\xAF\x63\xC3\xB6\x64\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"),
            8u);
  // A single symbol is one token.
  EXPECT_EQ(EstimateTextTokens("."), 1u);
}

TEST(TokenEstimateTest, HexStringsCostAboutTwoCharactersPerToken) {
  const std::string address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
  EXPECT_EQ(EstimateTextTokens(address), 27u);
  const std::string lower = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
  EXPECT_EQ(EstimateTextTokens(lower), 27u);
  // Hex letters away from digits are words ("face" is one token), next to a digit they are hex.
  EXPECT_EQ(EstimateTextTokens("face"), 1u);
  EXPECT_EQ(EstimateTextTokens("1abcdef"), 3u);  // 1, then "abcdef" at 3 letters per token.
}

TEST(TokenEstimateTest, MessagesAndExamplesAddTheCookbookOverheads) {
  ChatMessage user{"user", "Hello world", ""};
  EXPECT_EQ(EstimateMessageTokens(user), kTokensPerMessage + 1 + 2);
  ChatMessage named{"user", "Hello world", "alice"};
  EXPECT_EQ(EstimateMessageTokens(named), kTokensPerMessage + 1 + 2 + kTokensPerName + 1);
  EXPECT_EQ(EstimateExampleTokens({user, user}), kTokensPerExamplePriming + 2 * (3 + 1 + 2));
  EXPECT_EQ(EstimateExampleTokens({}), kTokensPerExamplePriming);
  EXPECT_THAT(kTokenCountingMethod, HasSubstr("not an exact count"));
}

TEST(TokenEstimateTest, ChatExamplesCountTheSameAsTheirMessages) {
  common::v1::AddressRecord record;
  record.set_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  record.set_name("Akropolis (AKRO)");
  record.set_label("Legit");
  const std::vector<ChatMessage> example = BuildChatExample(record);
  ASSERT_EQ(example.size(), 3u);
  EXPECT_EQ(ChatExampleTokens(example), EstimateExampleTokens(example));
  EXPECT_EQ(EstimateTextTokens(kChatSystemPrompt), 149u);
  record.set_name(std::string(4000, 'x'));
  EXPECT_GT(ChatExampleTokens(BuildChatExample(record)), 900u);
}

}  // namespace
}  // namespace ethscan::dataset

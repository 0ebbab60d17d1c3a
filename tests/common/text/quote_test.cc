#include "common/text/quote.h"

#include <string>

#include "gtest/gtest.h"

namespace ethscan::text {
namespace {

TEST(QuoteTest, EscapesControlCharactersQuotesAndBadUtf8) {
  EXPECT_EQ(Quote("plain name.csv"), "\"plain name.csv\"");
  EXPECT_EQ(Quote("a\nI forged] line\r\t"), "\"a\\nI forged] line\\r\\t\"");
  EXPECT_EQ(Quote(std::string("nul\0byte", 8)), "\"nul\\x00byte\"");
  EXPECT_EQ(Quote("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
  EXPECT_EQ(Quote("caf\xE9"), "\"caf\\xE9\"");                  // Latin-1, not UTF-8
  EXPECT_EQ(Quote("caf\xC3\xA9"), "\"caf\xC3\xA9\"");           // UTF-8 kept
  EXPECT_EQ(Quote("\xED\xA0\x80"), "\"\\xED\\xA0\\x80\"");      // a surrogate is not UTF-8
  EXPECT_EQ(Quote("a\xE2\x80\xA8z"), "\"a\\xE2\\x80\\xA8z\"");  // line separator
  EXPECT_EQ(Quote("\x7F"), "\"\\x7F\"");
}

TEST(QuoteTest, CutsLongInputWithAnEllipsisAndItsSize) {
  const std::string big(5 * 1024 * 1024, 'a');
  const std::string quoted = Quote(big);
  EXPECT_EQ(quoted, "\"" + std::string(64, 'a') + "\xE2\x80\xA6\" (5242880 bytes)");
  EXPECT_EQ(Escape(big, 3), "aaa\xE2\x80\xA6 (5242880 bytes)");
  EXPECT_EQ(Quote(std::string(64, 'b')), "\"" + std::string(64, 'b') + "\"");
  // Characters, not bytes, are counted, and a cut never splits one.
  EXPECT_EQ(Escape("\xC3\xA9\xC3\xA9\xC3\xA9", 2), "\xC3\xA9\xC3\xA9\xE2\x80\xA6 (6 bytes)");
  const std::string nuls(100 * 1024, '\0');
  EXPECT_LT(Quote(nuls).size(), 64 * 4 + 32);
}

TEST(QuoteTest, SingleLineKeepsQuotesButNoLineBreak) {
  EXPECT_EQ(SingleLine("dataset \"x\"\nW fake] line", 100), "dataset \"x\"\\nW fake] line");
  EXPECT_EQ(SingleLine(std::string(10, 'x'), 4), "xxxx\xE2\x80\xA6 (10 bytes)");
}

TEST(QuoteTest, RedactsCredentialsInUrls) {
  EXPECT_EQ(RedactUrl("redis://:SECRET@127.0.0.1:6379"), "redis://:***@127.0.0.1:6379");
  EXPECT_EQ(RedactUrl("redis://default:SECRET@redis:6379/2"), "redis://default:***@redis:6379/2");
  EXPECT_EQ(RedactUrl("https://TOKEN@rpc.example/v1"), "https://***@rpc.example/v1");
  EXPECT_EQ(RedactUrl("https://api.example/v2/api?chainid=1&apikey=K3Y&module=account"),
            "https://api.example/v2/api?chainid=1&apikey=***&module=account");
  EXPECT_EQ(RedactUrl("http://h/x?token=abc#frag"), "http://h/x?token=***#frag");
  EXPECT_EQ(RedactUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
  EXPECT_EQ(RedactUrl("http://user:p@ss@host/"), "http://user:***@host/");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
  // A password with '/', '?' or '#' in it, as a parser that takes the last '@' accepts.
  EXPECT_EQ(RedactUrl("redis://:pa/ss@h:6379"), "redis://:***@h:6379");
  EXPECT_EQ(RedactUrl("redis://:pa/ss@h:6379/2"), "redis://:***@h:6379/2");
  EXPECT_EQ(RedactUrl("redis://u:a/b@c@h:1"), "redis://u:***@h:1");
}

}  // namespace
}  // namespace ethscan::text

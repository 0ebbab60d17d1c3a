// The fast path of JsonlMapper (simdjson) must give exactly the reference path's (nlohmann)
// records and issues for every line: it maps clean lines itself and hands every other line
// to the reference path. These tests compare the two over many line shapes.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dataset/chat_format.h"
#include "services/dataset/ingest_pipeline.h"
#include "services/dataset/jsonl_mapper.h"
#include "services/dataset/jsonl_reader.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::IsOk;
using ::testing::HasSubstr;

constexpr char kAkroLower[] = "0x8888801af4d980682e47f1a9036e589479e835c5";
constexpr char kAkro[] = "0x8888801aF4d980682e47f1A9036e589479e835C5";

std::unique_ptr<JsonlMapper> Mapper(v1::DatasetFormat format) {
  absl::StatusOr<std::unique_ptr<JsonlMapper>> mapper =
      JsonlMapper::Create(format, MapperContext{"ds", 5, "f.jsonl"});
  EXPECT_THAT(mapper.status(), IsOk());
  return *std::move(mapper);
}

// Everything a LineResult holds, as text.
std::string Describe(const LineResult& result) {
  std::vector<std::string> parts = {result.invalid ? "invalid" : "valid"};
  for (const common::v1::AddressRecord& record : result.records) {
    parts.push_back(absl::StrCat("record ", record.ShortDebugString()));
  }
  for (const v1::ValidationIssue& issue : result.issues) {
    parts.push_back(absl::StrCat("issue ", issue.ShortDebugString()));
  }
  return absl::StrJoin(parts, "\n");
}

// Maps `line` with Map (fast path first) and with the reference path alone, on mappers that
// have already seen other lines (their buffers are reused), and expects equal results.
// Returns whether the fast path took the line.
bool MapBothWays(JsonlMapper& mapper, const std::string& line, bool has_line_break = true) {
  LineResult reference;
  mapper.MapWithReferenceParser(9, line, has_line_break, &reference);
  LineResult mapped;
  mapped.records.resize(3);  // Leftovers from an earlier line must not leak.
  mapper.Map(9, line, has_line_break, &mapped);
  EXPECT_EQ(Describe(mapped), Describe(reference)) << "line: " << line;
  LineResult fast;
  const bool took = mapper.TryMapFast(9, line, &fast);
  if (took) {
    EXPECT_EQ(Describe(fast), Describe(reference)) << "line: " << line;
    EXPECT_FALSE(reference.invalid) << line;
    EXPECT_TRUE(reference.issues.empty()) << line;
  }
  return took;
}

std::string Chat(const std::string& user, const std::string& assistant,
                 const std::string& extra_message_keys = "") {
  return absl::StrCat(R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":")",
                      user, R"("},{"role":"assistant","content":")", assistant, "\"",
                      extra_message_keys, "}]}");
}

TEST(JsonlFastPathTest, CleanChatLinesTakeTheFastPathWithIdenticalRecords) {
  std::unique_ptr<JsonlMapper> mapper = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
  const std::vector<std::string> lines = {
      // The export form, and variations of it.
      Chat(kAkro, R"({\"Name\":\"Akropolis (AKRO)\",\"Account Type\":\"Smart Contract\",)"
                  R"(\"Contract Type\":\"Token\",\"Entity\":\"DeFi\",\"Label\":\"Legit\",)"
                  R"(\"Tags\":[\"DeFi\",\"Token\"]})"),
      Chat(kAkroLower, R"({\"Label\":\"scam\"})"),
      Chat("0X8888801AF4D980682E47F1A9036E589479E835C5", R"({\"Label\":\"Heist\"})"),
      Chat(absl::StrCat("  What is ", kAkro, "?\\n"), R"({\"Label\":\"Exploit\"})"),
      // Legacy text in the assistant content.
      Chat(kAkro, R"(\"Name\": \" Akropolis (AKRO)\", \"label\": \"legit\", )"
                  R"(\"Tags\": \"DeFi, Token,, \")"),
      // Weights, extra keys in messages and at the top level, nulls, odd spacing.
      Chat(kAkro, R"({\"Label\":\"Scam\"})", R"(,"weight":0)"),
      Chat(kAkro, R"({\"Label\":\"Scam\"})", R"(,"weight":1,"name":"x")"),
      Chat(kAkro, R"({\"Label\":\"Scam\"})", R"(,"weight":-0)"),
      absl::StrCat(R"({"id": 7, "meta": {"a": [1, 2.5e3, true, false, null, "x", {}]}, )",
                   R"("messages": [ {"content": "0x8888801af4d980682e47f1a9036e589479e835c5", )",
                   R"("role": "user"} , {"role": "assistant", "content": )",
                   R"(" {\"Name\": null, \"Tags\": null, \" LABEL \": \"Sanctioned\"} "} ] } )"),
      // Several turns: the last user message holds the address.
      absl::StrCat(R"({"messages":[{"role":"user","content":"hi"},)",
                   R"({"role":"assistant","content":"ask me","weight":0},)",
                   R"({"role":"user","content":")", kAkroLower, R"("},)",
                   R"({"role":"assistant","content":"{\"Label\":\"Unknown\"}"}]})"),
      // A system message may be blank.
      absl::StrCat(R"({"messages":[{"role":"system","content":" "},{"role":"user","content":")",
                   kAkro, R"("},{"role":"assistant","content":"{\"Label\":\"Legit\"}"}]})"),
      // Escapes and Unicode in values and keys.
      Chat(kAkro, R"({\"Name\":\"Caf\\u00e9 \\\"Ω\\\" \\ud83d\\ude00 a\\/b\\\\c\\td\",)"
                  R"(\"La\\u0062el\":\"Phish \/ Hack\",\"Entity\":\"Zoë ünïcødé 名前\",)"
                  R"(\"Tags\":[\" x \",\"\",\"\\u0000\"]})"),
      Chat(kAkro, R"({\"Name\":\"line\\nbreak\",\"Account Type\":\"eoa\",\"Label\":\"Legit\"})"),
      Chat(kAkro, R"({\"Account Type\":\"smart contract\",\"Label\":\"legit\",\"Tags\":\"\"})"),
      // Trailing white space (a "\r" of a last line without its "\n" is kept by the reader).
      absl::StrCat(Chat(kAkro, R"({\"Label\":\"Scam\"})"), " \t\r"),
  };
  for (const std::string& line : lines) {
    EXPECT_TRUE(MapBothWays(*mapper, line)) << line;
  }
}

TEST(JsonlFastPathTest, TheChatExportTakesTheFastPath) {
  std::unique_ptr<JsonlMapper> mapper = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
  common::v1::AddressRecord record;
  record.set_address(kAkro);
  record.set_name("Akropolis: \"AKRO\"\n\tToken \\ é 😀");
  record.set_account_type("Smart Contract");
  record.set_contract_type("Token");
  record.set_entity("Akropolis");
  record.set_label("Phish / Hack");
  record.add_tags("blocked");
  record.add_tags("Token Contract");
  std::string line = ChatExampleLine(record);
  line.pop_back();
  EXPECT_TRUE(MapBothWays(*mapper, line));
  record.clear_tags();
  record.clear_name();
  line = ChatExampleLine(record);
  line.pop_back();
  EXPECT_TRUE(MapBothWays(*mapper, line));
}

TEST(JsonlFastPathTest, CleanLegacyLinesTakeTheFastPath) {
  std::unique_ptr<JsonlMapper> mapper = Mapper(v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION);
  EXPECT_TRUE(MapBothWays(
      *mapper,
      R"({"prompt": "0x8888801af4d980682e47f1a9036e589479e835c5", "completion": "\"Name\": )"
      R"(\" Akropolis (AKRO)\", \"Account Type\": \"Smart Contract\", \"Contract Type\": )"
      R"(\"Token\", \"Entity\": \"DeFi\", \"Label\": \"Legit\", \"Tags\": \"DeFi\""})"));
  EXPECT_TRUE(MapBothWays(*mapper, absl::StrCat(R"({"completion": "{\"Label\": \"Scam\"}", )",
                                                R"("extra": [1], "prompt": " )", kAkro, R"( "})")));
}

TEST(JsonlFastPathTest, EverythingElseGoesToTheReferencePath) {
  std::unique_ptr<JsonlMapper> chat = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
  const std::string ok_fields = R"({\"Label\":\"Scam\"})";
  const std::vector<std::string> lines = {
      // Warnings: a bad checksum, an unknown report key.
      Chat("0x8888801Af4d980682e47f1A9036e589479e835C5", ok_fields),
      Chat(kAkro, R"({\"Label\":\"Scam\",\"Risk\":\"high\"})"),
      // Duplicate keys (the reference parser keeps the last one).
      Chat(kAkro, R"({\"Label\":\"Scam\",\"label\":\"Legit\"})"),
      Chat(kAkro, R"({\"Label\":\"Scam\",\"Label \":\"Legit\"})"),
      Chat(kAkro, R"({\"Tags\":\"a\",\"Label\":\"Scam\",\"tags\":[\"b\"]})"),
      absl::StrCat(R"({"messages":[],"messages":[{"role":"user","content":")", kAkro,
                   R"("},{"role":"assistant","content":"{\"Label\":\"Scam\"}"}]})"),
      absl::StrCat(R"({"messages":[{"role":"user","role":"user","content":")", kAkro,
                   R"("},{"role":"assistant","content":"{\"Label\":\"Scam\"}"}]})"),
      Chat(kAkro, ok_fields, R"(,"weight":1,"weight":0)"),
      // Errors of every kind.
      Chat(kAkro, ok_fields, R"(,"weight":1.0)"),
      Chat(kAkro, ok_fields, R"(,"weight":2)"),
      Chat(kAkro, ok_fields, R"(,"weight":true)"),
      Chat(kAkro, ok_fields, R"(,"weight":18446744073709551615)"),
      Chat(kAkro, R"({\"Label\":\"Phish-Hack\"})"),
      Chat(kAkro, R"({\"Label\":\"\"})"),
      Chat(kAkro, R"({\"Label\":null})"),
      Chat(kAkro, R"({\"Name\":\"x\"})"),
      Chat(kAkro, R"({\"Label\":\"Scam\",\"Account Type\":\"EAO\"})"),
      Chat(kAkro, R"({\"Label\":\"Scam\",\"Tags\":[1]})"),
      Chat(kAkro, R"({\"Label\":\"Scam\",\"Tags\":{}})"),
      Chat(kAkro, R"({\"Label\":[\"Scam\"]})"),
      Chat(kAkro, R"({\"Label\":\"Scam\"} x)"),
      Chat(kAkro, R"(\"Name\":: \"x\", \"Label\": \"Scam\")"),
      Chat(kAkro, R"([\"Scam\"])"),
      Chat(kAkro, "   "),
      Chat("", ok_fields),
      Chat("hello", ok_fields),
      Chat(absl::StrCat(kAkro, " or 0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"), ok_fields),
      Chat("0x8888801af4d980682e47f1a9036e589479e835c", ok_fields),
      R"({"messages":[{"role":"user","content":"0x8888801af4d980682e47f1a9036e589479e835c5"}]})",
      R"({"messages":[{"role":"assistant","content":"{\"Label\":\"Scam\"}"}]})",
      R"({"messages":[{"role":"tool","content":"x"}]})",
      R"({"messages":[{"role":"user"}]})",
      R"({"messages":[{"role":"user","content":5}]})",
      R"({"messages":[]})",
      R"({"messages":{}})",
      R"({"prompt":"x","completion":"y"})",
      R"({"messages": [tru]})",
      R"({"messages": [)",
      "[1, 2]",
      "\"text\"",
      "{\"messages\": \"\xFF\"}",
      // JSON the fast parser rejects but the reference parser reads, or the reverse.
      absl::StrCat("\xEF\xBB\xBF", Chat(kAkro, ok_fields)),
      Chat(kAkro, ok_fields, R"(,"n":1e400)"),
      Chat(kAkro, ok_fields, R"(,"n":123456789012345678901234567890)"),
      Chat(kAkro, ok_fields, R"(,"s":"\ud800")"),
      Chat(kAkro, ok_fields, R"(,"s":"\udc00x")"),
      Chat(kAkro, ok_fields, "\x01"),
      absl::StrCat(Chat(kAkro, ok_fields), "{}"),
      absl::StrCat(Chat(kAkro, ok_fields), "\f"),
      absl::StrCat(std::string(2000, '['), std::string(2000, ']')),
  };
  for (const std::string& line : lines) {
    EXPECT_FALSE(MapBothWays(*chat, line)) << line;
  }
  EXPECT_FALSE(MapBothWays(*chat, R"({"messages": [)", /*has_line_break=*/false));

  std::unique_ptr<JsonlMapper> legacy = Mapper(v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION);
  for (const std::string& line : std::vector<std::string>{
           R"({"prompt": "0x8888801af4d980682e47f1a9036e589479e835c5"})",
           R"({"prompt": 5, "completion": "\"Label\": \"Scam\""})",
           absl::StrCat(R"({"prompt":")", kAkro, R"(","prompt":")", kAkro,
                        R"(","completion":"\"Label\": \"Scam\""})"),
           absl::StrCat(R"({"prompt":")", kAkro, R"(","completion":"\"Label\": \"Scam\"",)",
                        R"("completion":"\"Label\": \"Legit\""})"),
           absl::StrCat(R"({"prompt":")", kAkro, R"(","completion":"\"Label\":: \"Scam\""})"),
           Chat(kAkro, ok_fields),
       }) {
    EXPECT_FALSE(MapBothWays(*legacy, line)) << line;
  }
}

// Random lines built from valid and invalid pieces; the two paths must always agree.
TEST(JsonlFastPathTest, LinesSharingAnEarlierSystemMessageAgree) {
  // After a clean line, a line with the same bytes up to its first message's end has only its
  // later messages parsed; whatever follows them must still be judged as the whole line.
  common::v1::AddressRecord record;
  record.set_address(kAkro);
  record.set_label("Legit");
  std::string clean = ChatExampleLine(record);
  clean.pop_back();
  const size_t user_at = clean.find(R"({"role":"user")");
  ASSERT_NE(user_at, std::string::npos);
  const std::string prefix = clean.substr(0, user_at);
  const std::string later = clean.substr(user_at, clean.size() - user_at - 2);  // Without "]}".
  const std::string user =
      R"({"role":"user","content":"0x8888801af4d980682e47f1a9036e589479e835c5"})";
  const std::string assistant = R"({"role":"assistant","content":"{\"Label\":\"Scam\"}"})";
  const std::vector<std::pair<std::string, bool>> rests = {
      // {what follows the prefix, taken by the fast path}
      {later + "]}", true},
      {absl::StrCat(user, ",", assistant, "]}"), true},
      {absl::StrCat(user, " , ", assistant, " ] }"), true},
      {absl::StrCat(user, ",", assistant, "]} "), true},
      {absl::StrCat(user, ",", assistant, R"(],"extra":1})"), true},
      {absl::StrCat(user, ",", assistant, R"(],"tools":[]})"), true},
      {absl::StrCat(user, ",", assistant, "]"), false},
      {absl::StrCat(user, ",", assistant, "]}}"), false},
      {absl::StrCat(user, ",", assistant, "]]}"), false},
      {absl::StrCat(user, ",", assistant, R"(],"messages":[)", user, ",", assistant, "]}"), false},
      {absl::StrCat(user, ",", assistant, R"(]}{"messages":[]})"), false},
      {absl::StrCat(user, "]}"), false},
      {absl::StrCat(assistant, "]}"), false},
      {" ]}", false},
      {"]}", false},
      {absl::StrCat(R"("x",)", user, ",", assistant, "]}"), false},
      {absl::StrCat(user, ",", assistant, ",]}"), false},
      {absl::StrCat(R"({"role":"user","content":"0x88\q"},)", assistant, "]}"), false},
      {absl::StrCat(R"({"role":"user","content":"0x\xff"},)", assistant, "]}"), false},
      {absl::StrCat(R"({"role":"user","content":")", kAkroLower, "\xff\"},", assistant, "]}"),
       false},
      {absl::StrCat(R"({"role":"user","content":")", kAkroLower, R"(","weight":1},)", assistant,
                    "]}"),
       false},
      {absl::StrCat(user, ",",
                    R"({"role":"assistant","content":"{\"Label\":\"Scam\"}","weight":0})", "]}"),
       true},
      {absl::StrCat(user, ",", assistant, R"(,{"role":"system","content":""}]})"), false},
  };
  std::unique_ptr<JsonlMapper> mapper = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
  for (const auto& [rest, fast] : rests) {
    // The clean line first, so that its prefix is the one remembered.
    ASSERT_TRUE(MapBothWays(*mapper, clean));
    const std::string line = prefix + rest;
    EXPECT_EQ(MapBothWays(*mapper, line), fast) << line;
  }
}

TEST(JsonlFastPathTest, RandomLinesAgree) {
  std::mt19937_64 random(20240611);
  auto pick = [&random](const std::vector<std::string>& pieces) -> std::string {
    return pieces[random() % pieces.size()];
  };
  const std::vector<std::string> users = {kAkro,
                                          kAkroLower,
                                          "0x8888801Af4d980682e47f1A9036e589479e835C5",
                                          " 0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359 ",
                                          absl::StrCat("address: ", kAkroLower, "."),
                                          "",
                                          "0x123",
                                          "n/a"};
  const std::vector<std::string> keys = {"Name",   "name",  "Account Type", "Contract Type",
                                         "Entity", "Label", "label",        " Label",
                                         "Tags",   "Risk"};
  const std::vector<std::string> values = {R"(\"Legit\")",
                                           R"(\"scam\")",
                                           R"(\"Phish / Hack\")",
                                           R"(\"Smart Contract\")",
                                           R"(\"EOA\")",
                                           R"(\"\")",
                                           "null",
                                           "3",
                                           R"([\"a\", \" b \"])",
                                           R"(\"x, y\")",
                                           R"(\"\\u00e9\\ud83d\\ude00\")",
                                           R"(\"tab\\there\")",
                                           "[1]",
                                           "{}"};
  const std::vector<std::string> texts = {R"(\"\")", "null", R"(\" Akropolis (AKRO) \")",
                                          R"(\"\\u00e9\\ud83d\\ude00 名前\")",
                                          R"(\"q\\\"uote\\\\ \\/ \\n\")"};
  const std::vector<std::string> weights = {"", R"(,"weight":0)", R"(,"weight":1)",
                                            R"(,"weight":2)", R"(,"weight":0.5)"};
  std::unique_ptr<JsonlMapper> chat = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
  std::unique_ptr<JsonlMapper> legacy = Mapper(v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION);
  int fast = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<std::string> members;
    if (random() % 2 == 0) {
      // Well-formed fields, each key at most once, in a random order.
      members.push_back(absl::StrCat(R"(\")", pick({"Label", "label", " LABEL "}), R"(\": )",
                                     pick({R"(\"Legit\")", R"(\" scam\")", R"(\"Heist\")"})));
      if (random() % 2 == 0) {
        members.push_back(absl::StrCat(R"(\"Name\": )", pick(texts)));
      }
      if (random() % 2 == 0) {
        members.push_back(absl::StrCat(R"(\"Account Type\": )",
                                       pick({R"(\"EOA\")", R"(\"smart contract\")", "null"})));
      }
      if (random() % 2 == 0) {
        members.push_back(absl::StrCat(R"(\"Entity\": )", pick(texts)));
      }
      if (random() % 2 == 0) {
        members.push_back(absl::StrCat(R"(\"Tags\": )",
                                       pick({R"([\"a\", \" b \"])", R"(\"x, y\")", "null", "[]"})));
      }
      std::shuffle(members.begin(), members.end(), random);
    } else {
      const int count = 1 + static_cast<int>(random() % 4);
      if (random() % 4 != 0) members.push_back(R"(\"Label\": \"Legit\")");
      for (int j = 0; j < count; ++j) {
        members.push_back(absl::StrCat(R"(\")", pick(keys), R"(\": )", pick(values)));
      }
    }
    const std::string body = absl::StrJoin(members, ", ");
    const std::string fields = random() % 2 == 0 ? absl::StrCat("{", body, "}") : body;
    const std::string& user = pick(users);
    std::string line;
    if (random() % 3 == 0) {
      line = absl::StrCat(R"({"prompt": ")", user, R"(", "completion": ")", fields, R"("})");
      if (MapBothWays(*legacy, line)) ++fast;
    } else {
      line = Chat(user, fields, pick(weights));
      if (MapBothWays(*chat, line)) ++fast;
    }
  }
  // Both outcomes are exercised.
  EXPECT_GT(fast, 300);
  EXPECT_LT(fast, 2700);
}

// A file with a byte-order mark, CRLF line endings and a last line without a line break,
// read by JsonlReader: Map and the reference path give the same results, line by line.
TEST(JsonlFastPathTest, AFileWithBomAndCrlfAgrees) {
  class Compare : public JsonlReader::Handler {
   public:
    absl::Status OnLine(uint64_t line, absl::string_view text, bool has_line_break) override {
      LineResult mapped;
      fast_->Map(line, text, has_line_break, &mapped);
      LineResult reference;
      reference_->MapWithReferenceParser(line, text, has_line_break, &reference);
      EXPECT_EQ(Describe(mapped), Describe(reference)) << "line " << line;
      records += mapped.records.size();
      return absl::OkStatus();
    }
    std::unique_ptr<JsonlMapper> fast_ = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
    std::unique_ptr<JsonlMapper> reference_ = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
    size_t records = 0;
  };
  std::string file = "\xEF\xBB\xBF";
  for (int i = 0; i < 50; ++i) {
    common::v1::AddressRecord record;
    record.set_address(i % 2 == 0 ? kAkro : "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
    record.set_name(absl::StrCat("name ", i, " é"));
    record.set_label(i % 3 == 0 ? "Scam" : "Legit");
    record.add_tags(absl::StrCat("t", i));
    std::string line = ChatExampleLine(record);
    line.pop_back();
    absl::StrAppend(&file, line, i == 49 ? "" : "\r\n");
  }
  Compare compare;
  JsonlReader reader(JsonlReaderOptions{"f.jsonl", 1 << 20}, &compare);
  for (size_t i = 0; i < file.size(); i += 777) {
    ASSERT_THAT(reader.Feed(absl::string_view(file).substr(i, 777)), IsOk());
  }
  ASSERT_THAT(reader.Finish(), IsOk());
  EXPECT_EQ(compare.records, 50u);
}

// A file of clean lines mixed with blank, CRLF, invalid and warning lines, starting with a
// byte-order mark and ending without a line break.
std::string MixedFile(int lines) {
  std::string file = "\xEF\xBB\xBF";
  for (int i = 0; i < lines; ++i) {
    common::v1::AddressRecord record;
    record.set_address(absl::StrCat("0x", absl::Hex(0x8888801af4d98068ULL + i, absl::kZeroPad16),
                                    "2e47f1a9036e589479e835c5"));
    record.set_name(absl::StrCat("name ", i, " \"é\""));
    record.set_label(i % 3 == 0 ? "Scam" : "Legit");
    record.add_tags(absl::StrCat("t", i % 7));
    std::string line = ChatExampleLine(record);
    line.pop_back();
    switch (i % 13) {
      case 3:
        line = "  \t";
        break;
      case 5:
        line = R"({"messages": [tru]})";
        break;
      case 7:
        line = Chat("0x8888801Af4d980682e47f1A9036e589479e835C5", R"({\"Label\":\"Scam\"})");
        break;
      case 9:
        // One address in lowercase and checksummed, again and again.
        line = Chat(kAkroLower, R"({\"Label\":\"Legit\"})");
        break;
      case 10:
        line = Chat(kAkro, R"({\"Label\":\"Legit\"})");
        break;
      case 11:
        line = Chat(kAkro, R"({\"Label\":\"Sacm\"})");
        break;
      default:
        break;
    }
    absl::StrAppend(&file, line, i + 1 == lines ? "" : (i % 4 == 0 ? "\r\n" : "\n"));
  }
  return file;
}

// Records every line's result as "line: result".
class ResultLog : public JsonlReader::Handler {
 public:
  ResultLog(JsonlMapper* mapper, bool reference) : mapper_(mapper), reference_(reference) {}
  absl::Status OnLine(uint64_t line, absl::string_view text, bool has_line_break) override {
    LineResult result;
    if (reference_) {
      mapper_->MapWithReferenceParser(line, text, has_line_break, &result);
    } else {
      mapper_->Map(line, text, has_line_break, &result);
    }
    log.push_back(absl::StrCat(line, ": ", Describe(result)));
    return absl::OkStatus();
  }
  std::vector<std::string> log;

 private:
  JsonlMapper* const mapper_;
  const bool reference_;
};

TEST(JsonlFastPathTest, MappingAheadGivesTheSameResultsForAnyChunking) {
  const std::string file = MixedFile(3000);
  std::unique_ptr<JsonlMapper> reference_mapper = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
  ResultLog expected(reference_mapper.get(), /*reference=*/true);
  JsonlReader reference_reader(JsonlReaderOptions{"f.jsonl", 1 << 20}, &expected);
  ASSERT_THAT(reference_reader.Feed(file), IsOk());
  ASSERT_THAT(reference_reader.Finish(), IsOk());
  ASSERT_GT(expected.log.size(), 2500u);

  for (size_t chunk_size : {size_t{1000}, size_t{4096}, size_t{65536}, size_t{1} << 20}) {
    SCOPED_TRACE(absl::StrCat("chunks of ", chunk_size, " bytes"));
    std::unique_ptr<JsonlMapper> mapper = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
    ResultLog actual(mapper.get(), /*reference=*/false);
    JsonlReader reader(JsonlReaderOptions{"f.jsonl", 1 << 20}, &actual);
    std::string side_work;
    {
      JsonlLookahead lookahead(&reader, mapper.get(), [&side_work](absl::string_view chunk) {
        side_work.append(chunk.data(), chunk.size());
      });
      for (size_t i = 0; i < file.size(); i += chunk_size) {
        ASSERT_THAT(lookahead.Add(file.substr(i, chunk_size)), IsOk());
      }
      ASSERT_THAT(lookahead.Flush(), IsOk());
    }
    ASSERT_THAT(reader.Finish(), IsOk());
    // The side work saw every byte once, in order.
    EXPECT_EQ(side_work, file);
    EXPECT_EQ(actual.log, expected.log);
    // With chunks of many lines, some were mapped ahead (at least 5% of each chunk, more or
    // less as the two threads' speeds dictate).
    if (chunk_size >= 65536) {
      EXPECT_GT(mapper->lines_taken_ahead(), 50u);
    }
  }
}

// Collects the records handed to the sink.
class VectorSink : public RecordSink {
 public:
  absl::Status Write(const common::v1::AddressRecord& record) override {
    records.push_back(record.ShortDebugString());
    return absl::OkStatus();
  }
  std::vector<std::string> records;
};

TEST(JsonlFastPathTest, PipelineResultsDoNotDependOnTheChunkSize) {
  // Small chunks take the single-threaded path, large ones hash and map ahead on a second
  // thread.
  const std::string file = MixedFile(4000);
  std::vector<std::string> outcomes;
  for (size_t chunk_size : {size_t{1000}, size_t{200} << 10, size_t{1} << 20}) {
    IngestOptions options;
    options.name = "mixed";
    options.filename = "f.jsonl";
    options.max_invalid_fraction = 0.5;
    VectorSink sink;
    IngestPipeline pipeline(options, &sink);
    for (size_t i = 0; i < file.size(); i += chunk_size) {
      ASSERT_THAT(pipeline.AddChunk(absl::string_view(file).substr(i, chunk_size)), IsOk());
    }
    ASSERT_THAT(pipeline.Finish(), IsOk());
    std::string outcome = pipeline.result().dataset.ShortDebugString();
    for (const v1::ValidationIssue& issue : pipeline.result().issues) {
      absl::StrAppend(&outcome, "\n", issue.ShortDebugString());
    }
    absl::StrAppend(&outcome, "\n", absl::StrJoin(sink.records, "\n"));
    outcomes.push_back(std::move(outcome));
  }
  EXPECT_TRUE(absl::StrContains(outcomes[0], "line_count: 3692 record_count: 3077"));
  EXPECT_EQ(outcomes[1], outcomes[0]);
  EXPECT_EQ(outcomes[2], outcomes[0]);
}

// What an ingest that fails mid-file reports: the status, the rejection and the counts.
std::string FailedIngest(const std::string& file, size_t chunk_size, const IngestOptions& options,
                         bool take) {
  VectorSink sink;
  auto pipeline = std::make_unique<IngestPipeline>(options, &sink);
  absl::Status status;
  for (size_t i = 0; i < file.size() && status.ok(); i += chunk_size) {
    const std::string chunk = file.substr(i, chunk_size);
    status = take ? pipeline->TakeChunk(chunk) : pipeline->AddChunk(chunk);
  }
  if (status.ok()) status = pipeline->Finish();
  // The bytes taken before the failure depend on the chunk size, so they come last.
  const std::string outcome =
      absl::StrCat(status.ToString(), "\n", pipeline->result().rejection, "\n",
                   pipeline->result().dataset.line_count(), " lines, ", sink.records.size(),
                   " records\n", pipeline->result().dataset.size_bytes(), " bytes taken");
  // Destroyed right away, while a second thread may still hash the chunk after the failing one.
  pipeline.reset();
  return outcome;
}

TEST(JsonlFastPathTest, AnErrorMidFileIsReportedAsWithoutTheLookahead) {
  std::string file = MixedFile(4000);
  // A line over the limit a little after 300 KB, so in the fifth chunk of 64 KiB.
  const size_t long_line = file.find('\n', 300000) + 1;
  file.insert(long_line, std::string(3000, ' ') + "{}\n");
  IngestOptions options;
  options.name = "mixed";
  options.filename = "f.jsonl";
  options.max_invalid_fraction = 0.5;
  options.max_row_bytes = 2000;
  constexpr size_t kChunk = size_t{64} << 10;
  // The long line ends in the fifth 64 KiB chunk; a 330000-byte limit would end the file in
  // the sixth, a 200000-byte one in the fourth.
  const struct {
    uint64_t max_bytes;
    const char* error;
    uint64_t bytes_taken;
  } cases[] = {{uint64_t{1} << 30, "longer than the limit", 5 * kChunk},
               {330000, "longer than the limit", 5 * kChunk},
               {200000, "upload limit", 3 * kChunk}};
  for (const auto& c : cases) {
    SCOPED_TRACE(absl::StrCat("max_bytes ", c.max_bytes));
    options.max_bytes = c.max_bytes;
    // 4 KiB chunks never use the lookahead; 64 KiB chunks do, from the first one on. Both
    // stop at the same byte for the upload limit.
    std::string expected = FailedIngest(file, 4096, options, /*take=*/false);
    EXPECT_THAT(expected, ::testing::HasSubstr(c.error));
    expected =
        absl::StrCat(expected.substr(0, expected.rfind('\n') + 1), c.bytes_taken, " bytes taken");
    EXPECT_EQ(FailedIngest(file, kChunk, options, /*take=*/false), expected);
    EXPECT_EQ(FailedIngest(file, kChunk, options, /*take=*/true), expected);
  }
}

TEST(JsonlFastPathTest, ReferencePathStillNamesTheProblem) {
  // Map's messages come from the reference path, unchanged.
  std::unique_ptr<JsonlMapper> mapper = Mapper(v1::DATASET_FORMAT_OPENAI_CHAT_JSONL);
  LineResult result;
  mapper->Map(9, Chat(kAkro, R"({\"Label\":\"Sanctoined\"})"), true, &result);
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].field(), "messages[2].content.Label");
  EXPECT_THAT(result.issues[0].reason(), HasSubstr("did you mean \"Sanctioned\"?"));
  EXPECT_TRUE(result.records.empty());
}

}  // namespace
}  // namespace ethscan::dataset

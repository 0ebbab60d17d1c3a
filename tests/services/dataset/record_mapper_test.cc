#include "services/dataset/record_mapper.h"

#include <string>
#include <vector>

#include "common/eth/address.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace ethscan::dataset {
namespace {

using ::ethscan::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Severity = v1::ValidationIssue::Severity;

constexpr char kWeth[] = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2";
constexpr char kDai[] = "0x6B175474E89094C44Da98b954EedeAC495271d0F";
// Printed by Etherscan with a wrong EIP-55 checksum.
constexpr char kBadChecksum[] = "0xf299f6B031Cc4dd1BfcB86A5e5590f99336a29c6";

std::string Checksum(absl::string_view address) {
  return eth::Address::Parse(address, eth::Address::ChecksumPolicy::kLenient)->ToChecksumHex();
}

// Reads a header line and one data line with the real CSV reader, then maps the row.
class OneRow : public CsvReader::Handler {
 public:
  absl::Status OnHeader(uint64_t, const std::vector<std::string>& columns) override {
    header = columns;
    return absl::OkStatus();
  }
  absl::Status OnRow(const CsvRow& r) override {
    row = r;
    return absl::OkStatus();
  }
  absl::Status OnMalformedRow(uint64_t, absl::string_view reason) override {
    return absl::InternalError(reason);
  }
  std::vector<std::string> header;
  CsvRow row;
};

LineResult MapOne(v1::DatasetFormat format, absl::string_view csv, uint64_t chain_id = 1) {
  OneRow parsed;
  CsvReader reader(CsvReaderOptions{"t.csv", 1 << 20}, &parsed);
  absl::Status status = reader.Feed(csv);
  if (status.ok()) status = reader.Finish();
  EXPECT_TRUE(status.ok()) << status;
  absl::StatusOr<std::unique_ptr<RecordMapper>> mapper =
      RecordMapper::Create(format, parsed.header, MapperContext{"my-set", chain_id, "t.csv"});
  EXPECT_TRUE(mapper.ok()) << mapper.status();
  LineResult result;
  if (mapper.ok()) (*mapper)->Map(parsed.row, &result);
  return result;
}

std::vector<std::string> Tags(const common::v1::AddressRecord& record) {
  return {record.tags().begin(), record.tags().end()};
}

void ExpectOneIssue(const LineResult& result, Severity severity, const std::string& field,
                    const std::string& reason_part) {
  ASSERT_EQ(result.issues.size(), 1u);
  const v1::ValidationIssue& issue = result.issues[0];
  EXPECT_EQ(issue.file(), "t.csv");
  EXPECT_EQ(issue.line(), 2u);
  EXPECT_EQ(issue.field(), field);
  EXPECT_THAT(issue.reason(), HasSubstr(reason_part));
  EXPECT_EQ(issue.severity(), severity);
}

constexpr v1::ValidationIssue::Severity kError = v1::ValidationIssue::SEVERITY_ERROR;
constexpr v1::ValidationIssue::Severity kWarning = v1::ValidationIssue::SEVERITY_WARNING;

// --- shared address rules -------------------------------------------------------------------

TEST(RecordMapperTest, StoresLowercaseAddressesInChecksumFormWithProvenance) {
  LineResult r = MapOne(v1::DATASET_FORMAT_MEW_DARKLIST,
                        "address,comment,date\n0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2,x,\n", 5);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_FALSE(r.invalid);
  EXPECT_THAT(r.issues, IsEmpty());
  EXPECT_EQ(r.records[0].address(), kWeth);
  EXPECT_EQ(r.records[0].chain_id(), 5u);
  EXPECT_EQ(r.records[0].source(), "my-set");
  EXPECT_EQ(r.records[0].line(), 2u);
}

TEST(RecordMapperTest, KeepsABadChecksumWithAWarning) {
  LineResult r = MapOne(v1::DATASET_FORMAT_MEW_DARKLIST,
                        absl::StrCat("address,comment,date\n", kBadChecksum, ",fake,\n"));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_FALSE(r.invalid);
  EXPECT_EQ(r.records[0].address(), Checksum(kBadChecksum));
  EXPECT_NE(r.records[0].address(), kBadChecksum);
  ExpectOneIssue(r, kWarning, "address", "bad EIP-55 checksum");
}

TEST(RecordMapperTest, RejectsABadAddressNamingFieldAndReason) {
  LineResult r = MapOne(v1::DATASET_FORMAT_CRYPTOSCAMDB,
                        "address,category,subcategory,site_name,url,reporter\n"
                        "0x9cbb3edecdf8649f653ffe492d65bd777f4bc4f01,Scamming,,s,http://s,r\n");
  EXPECT_TRUE(r.invalid);
  EXPECT_THAT(r.records, IsEmpty());
  ExpectOneIssue(r, kError, "address", "41 hex digits, need 40");
}

TEST(RecordMapperTest, RejectsAnEmptyAddress) {
  LineResult r = MapOne(v1::DATASET_FORMAT_MEW_DARKLIST, "address,comment,date\n,x,\n");
  EXPECT_TRUE(r.invalid);
  ExpectOneIssue(r, kError, "address", "empty address");
}

TEST(RecordMapperTest, TrimsWhitespaceAroundAnAddressWithAWarning) {
  LineResult r = MapOne(v1::DATASET_FORMAT_MEW_DARKLIST,
                        "address,comment,date\n0x6b175474e89094c44da98b954eedeac495271d0f ,x,\n");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].address(), kDai);
  ExpectOneIssue(r, kWarning, "address", "whitespace");
}

// --- etherscan_labels ------------------------------------------------------------------------

constexpr char kLabelsHeader[] = "address,name,labels,listed_as\n";

TEST(RecordMapperTest, EtherscanLabelsTokenWithRiskySlugIsAContractButNotLegit) {
  LineResult r = MapOne(v1::DATASET_FORMAT_ETHERSCAN_LABELS,
                        absl::StrCat(kLabelsHeader,
                                     "0x8ab7404063ec4dbcfd4598215992dc3f8ec853d7,"
                                     "Akropolis: AKRO Token,blocked;defi,token\n"));
  ASSERT_EQ(r.records.size(), 1u);
  const common::v1::AddressRecord& rec = r.records[0];
  EXPECT_EQ(rec.name(), "Akropolis: AKRO Token");
  EXPECT_EQ(rec.entity(), "Akropolis");
  EXPECT_EQ(rec.account_type(), "Smart Contract");
  EXPECT_EQ(rec.contract_type(), "Token");
  EXPECT_THAT(Tags(rec), ElementsAre("blocked", "defi"));
  EXPECT_EQ(rec.label(), "Unknown");
  EXPECT_EQ(rec.original_label(), "blocked;defi");
}

TEST(RecordMapperTest, EtherscanLabelsNamedAccountIsLegit) {
  LineResult r = MapOne(v1::DATASET_FORMAT_ETHERSCAN_LABELS,
                        absl::StrCat(kLabelsHeader,
                                     "0x689c56aef474df92d44a1b70850f808488f9769c,"
                                     "KuCoin 2,kucoin,account\n"));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].label(), "Legit");
  EXPECT_EQ(r.records[0].entity(), "");
  EXPECT_EQ(r.records[0].account_type(), "");
  EXPECT_EQ(r.records[0].contract_type(), "");
}

TEST(RecordMapperTest, EtherscanLabelsUnnamedAccountIsUnknown) {
  LineResult r = MapOne(v1::DATASET_FORMAT_ETHERSCAN_LABELS,
                        absl::StrCat(kLabelsHeader,
                                     "0x9d6971bf21b0e94724a7134371a8f7f41bb9db88,,"
                                     "airdrop-hunter,account\n"));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].label(), "Unknown");
}

TEST(RecordMapperTest, EtherscanLabelsMapsRiskSlugsToLabels) {
  struct Case {
    const char* labels;
    const char* label;
  };
  const Case cases[] = {{"ofac-sanctions-lists;tornado-cash", "Sanctioned"},
                        {"heist", "Heist"},
                        {"exploit;defi", "Exploit"},
                        {"phish-hack", "Phish / Hack"},
                        {"take-action", "Unknown"},
                        {"flagged-by-sec", "Unknown"}};
  for (const Case& c : cases) {
    LineResult r = MapOne(v1::DATASET_FORMAT_ETHERSCAN_LABELS,
                          absl::StrCat(kLabelsHeader,
                                       "0x9d6971bf21b0e94724a7134371a8f7f41bb9db88,"
                                       "Some Name,",
                                       c.labels, ",account\n"));
    ASSERT_EQ(r.records.size(), 1u) << c.labels;
    EXPECT_EQ(r.records[0].label(), c.label) << c.labels;
  }
}

TEST(RecordMapperTest, EtherscanLabelsContractTypeFromSlugsAndEntityFromJoinedNames) {
  LineResult r = MapOne(v1::DATASET_FORMAT_ETHERSCAN_LABELS,
                        absl::StrCat(kLabelsHeader,
                                     "0x7a250d5630b4cf539739df2c5dacb4c659f2488d,"
                                     "\"Router | Uniswap V2: Router 2\",uniswap; dex ,account\n"));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].contract_type(), "DEX");
  EXPECT_EQ(r.records[0].entity(), "Uniswap V2");
  EXPECT_THAT(Tags(r.records[0]), ElementsAre("uniswap", "dex"));
  for (auto [slug, type] :
       std::vector<std::pair<std::string, std::string>>{{"bridge", "Bridge"},
                                                        {"multisig", "Multisig"},
                                                        {"factory-contract", "Factory"},
                                                        {"wrapped-token", "Token"}}) {
    LineResult t = MapOne(v1::DATASET_FORMAT_ETHERSCAN_LABELS,
                          absl::StrCat(kLabelsHeader,
                                       "0x7a250d5630b4cf539739df2c5dacb4c659f2488d,"
                                       "X,",
                                       slug, ",account\n"));
    ASSERT_EQ(t.records.size(), 1u);
    EXPECT_EQ(t.records[0].contract_type(), type) << slug;
  }
}

TEST(RecordMapperTest, EtherscanLabelsRejectsUnknownListedAs) {
  LineResult r = MapOne(v1::DATASET_FORMAT_ETHERSCAN_LABELS,
                        absl::StrCat(kLabelsHeader,
                                     "0x689c56aef474df92d44a1b70850f808488f9769c,"
                                     "KuCoin 2,kucoin,wallet\n"));
  EXPECT_TRUE(r.invalid);
  ExpectOneIssue(r, kError, "listed_as",
                 "unknown value \"wallet\" in column listed_as; allowed: account, token, "
                 "account+token");
}

// --- etherscan_malicious ---------------------------------------------------------------------

TEST(RecordMapperTest, EtherscanMaliciousMapsLabelNameAndNote) {
  LineResult r = MapOne(v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS,
                        "address,name_tag,label,balance,txn_count\n"
                        "0xbceaa0040764009fdcff407e82ad1f06465fd2c4,Bancor Hacker,heist,"
                        "0 Ether,3\n");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].label(), "Heist");
  EXPECT_EQ(r.records[0].name(), "Bancor Hacker");
  EXPECT_EQ(r.records[0].original_label(), "heist");
  EXPECT_EQ(r.records[0].note(), "balance 0 Ether, 3 txns at scrape");

  LineResult phish = MapOne(v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS,
                            "address,name_tag,label,balance,txn_count\n"
                            "0x9f26ae5cd245bfeeb5926d61497550f79d9c6c1c,Akropolis Hacker 1,"
                            "phish-hack,0 Ether,29\n");
  ASSERT_EQ(phish.records.size(), 1u);
  EXPECT_EQ(phish.records[0].label(), "Phish / Hack");
}

TEST(RecordMapperTest, EtherscanMaliciousRejectsUnknownLabel) {
  LineResult r = MapOne(v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS,
                        "address,name_tag,label,balance,txn_count\n"
                        "0xbceaa0040764009fdcff407e82ad1f06465fd2c4,X,gambling,0 Ether,3\n");
  EXPECT_TRUE(r.invalid);
  ExpectOneIssue(r, kError, "label",
                 "unknown value \"gambling\" in column label; allowed: phish-hack, heist, exploit");
}

// --- forta -----------------------------------------------------------------------------------

TEST(RecordMapperTest, FortaPhishingScamsMapsIsContract) {
  constexpr char kHeader[] = "address,etherscan_tag,etherscan_labels,is_contract\n";
  LineResult eoa = MapOne(v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS,
                          absl::StrCat(kHeader,
                                       "0x000000000532b45f47779fce440748893b257865,"
                                       "Fake_Phishing3901,phish-hack,False\n"));
  ASSERT_EQ(eoa.records.size(), 1u);
  EXPECT_EQ(eoa.records[0].account_type(), "EOA");
  EXPECT_EQ(eoa.records[0].label(), "Phish / Hack");
  EXPECT_EQ(eoa.records[0].name(), "Fake_Phishing3901");
  EXPECT_EQ(eoa.records[0].original_label(), "phish-hack");

  LineResult contract = MapOne(v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS,
                               absl::StrCat(kHeader,
                                            "0x000000000532b45f47779fce440748893b257865,"
                                            "Fake_Phishing1,phish-hack,True\n"));
  ASSERT_EQ(contract.records.size(), 1u);
  EXPECT_EQ(contract.records[0].account_type(), "Smart Contract");

  LineResult bad = MapOne(v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS,
                          absl::StrCat(kHeader,
                                       "0x000000000532b45f47779fce440748893b257865,"
                                       "Fake_Phishing1,phish-hack,maybe\n"));
  EXPECT_TRUE(bad.invalid);
  ExpectOneIssue(bad, kError, "is_contract", "unknown value \"maybe\"");
}

TEST(RecordMapperTest, FortaMaliciousLabelsMapsDataSource) {
  constexpr char kHeader[] = "banned_address,wallet_tag,data_source\n";
  struct Case {
    const char* source;
    const char* label;
  };
  for (const Case& c :
       {Case{"etherscan-phish-hack-list", "Phish / Hack"},
        Case{"etherscan-exploit-list", "Exploit"}, Case{"etherscan-heist-list", "Heist"}}) {
    LineResult r = MapOne(v1::DATASET_FORMAT_FORTA_MALICIOUS_LABELS,
                          absl::StrCat(kHeader,
                                       "0x80d7bb18521acbef32d7906502ebe94928690e93,"
                                       "Fake_Phishing1772,",
                                       c.source, "\n"));
    ASSERT_EQ(r.records.size(), 1u) << c.source;
    EXPECT_EQ(r.records[0].label(), c.label);
    EXPECT_EQ(r.records[0].name(), "Fake_Phishing1772");
    EXPECT_EQ(r.records[0].original_label(), c.source);
  }
  LineResult bad = MapOne(v1::DATASET_FORMAT_FORTA_MALICIOUS_LABELS,
                          absl::StrCat(kHeader,
                                       "0x80d7bb18521acbef32d7906502ebe94928690e93,x,"
                                       "twitter\n"));
  ExpectOneIssue(bad, kError, "data_source",
                 "allowed: etherscan-phish-hack-list, etherscan-exploit-list, "
                 "etherscan-heist-list");
}

constexpr char kContractsHeader[] =
    "contract_address,contract_tag,contract_creator,contract_creation_tx,contract_creator_tag,"
    "source,notes,contract_creator_etherscan_label\n";

TEST(RecordMapperTest, FortaMaliciousContractsYieldsContractAndCreator) {
  LineResult r =
      MapOne(v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS,
             absl::StrCat(kContractsHeader,
                          "0xc5ac25cfc2b8284e84ca47dad21cf1319f732c11,,"
                          "0x07e02088d68229300ae503395c6536f09179dc3e,0xae03,xToken Exploiter,"
                          "Luabase ethereum.tags table,,heist\n"));
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_THAT(r.issues, IsEmpty());
  const common::v1::AddressRecord& contract = r.records[0];
  const common::v1::AddressRecord& creator = r.records[1];
  EXPECT_EQ(contract.address(), Checksum("0xc5ac25cfc2b8284e84ca47dad21cf1319f732c11"));
  EXPECT_EQ(contract.account_type(), "Smart Contract");
  EXPECT_EQ(contract.label(), "Heist");
  EXPECT_EQ(contract.note(), "malicious contract listed by Luabase ethereum.tags table");
  EXPECT_EQ(creator.address(), Checksum("0x07e02088d68229300ae503395c6536f09179dc3e"));
  EXPECT_EQ(creator.account_type(), "EOA");
  EXPECT_EQ(creator.name(), "xToken Exploiter");
  EXPECT_EQ(creator.label(), "Heist");
  EXPECT_EQ(creator.note(), absl::StrCat("deployer of ", contract.address()));
  EXPECT_EQ(creator.line(), 2u);
}

TEST(RecordMapperTest, FortaMaliciousContractsEmptyLabelIsExploitWithNotes) {
  LineResult r = MapOne(v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS,
                        absl::StrCat(kContractsHeader,
                                     "0xc5ac25cfc2b8284e84ca47dad21cf1319f732c11,Pickle Jar,"
                                     "0x07e02088d68229300ae503395c6536f09179dc3e,0xae03,,"
                                     "https://github.com/banteg/evil-jar,Pickle Finance Hack,\n"));
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].label(), "Exploit");
  EXPECT_EQ(r.records[0].name(), "Pickle Jar");
  EXPECT_EQ(r.records[0].note(),
            "malicious contract listed by https://github.com/banteg/evil-jar; Pickle Finance Hack");
  EXPECT_EQ(r.records[1].label(), "Exploit");
}

TEST(RecordMapperTest, FortaMaliciousContractsSkipsAnInvalidCreatorWithAWarning) {
  LineResult empty = MapOne(v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS,
                            absl::StrCat(kContractsHeader,
                                         "0xc5ac25cfc2b8284e84ca47dad21cf1319f732c11,,,,,"
                                         "Luabase ethereum.tags table,,phish-hack\n"));
  ASSERT_EQ(empty.records.size(), 1u);
  EXPECT_FALSE(empty.invalid);
  ExpectOneIssue(empty, kWarning, "contract_creator", "empty address; the creator is skipped");

  LineResult bad = MapOne(v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS,
                          absl::StrCat(kContractsHeader,
                                       "0xc5ac25cfc2b8284e84ca47dad21cf1319f732c11,,0x1234,,,"
                                       "Luabase ethereum.tags table,,phish-hack\n"));
  ASSERT_EQ(bad.records.size(), 1u);
  ExpectOneIssue(bad, kWarning, "contract_creator", "4 hex digits, need 40");
}

// --- uniswap_tokens --------------------------------------------------------------------------

constexpr char kUniswapHeader[] = "address,name,symbol,decimals,chainId\n";

TEST(RecordMapperTest, UniswapTokensAreLegitTokenContracts) {
  LineResult r = MapOne(v1::DATASET_FORMAT_UNISWAP_TOKENS,
                        absl::StrCat(kUniswapHeader, kWeth, ",Wrapped Ether,WETH,18,1\n"));
  ASSERT_EQ(r.records.size(), 1u);
  const common::v1::AddressRecord& rec = r.records[0];
  EXPECT_EQ(rec.address(), kWeth);
  EXPECT_EQ(rec.name(), "Wrapped Ether (WETH)");
  EXPECT_EQ(rec.account_type(), "Smart Contract");
  EXPECT_EQ(rec.contract_type(), "Token");
  EXPECT_EQ(rec.label(), "Legit");
  EXPECT_THAT(Tags(rec), ElementsAre("Token Contract"));
  EXPECT_EQ(rec.original_label(), "uniswap-default-list");
}

TEST(RecordMapperTest, UniswapTokensChainIdMustMatchTheDataset) {
  LineResult r = MapOne(v1::DATASET_FORMAT_UNISWAP_TOKENS,
                        absl::StrCat(kUniswapHeader, kWeth, ",Wrapped Ether,WETH,18,137\n"));
  EXPECT_TRUE(r.invalid);
  ExpectOneIssue(r, kError, "chainId", "chain id 137 differs from the dataset's chain id 1");

  LineResult polygon =
      MapOne(v1::DATASET_FORMAT_UNISWAP_TOKENS,
             absl::StrCat(kUniswapHeader, kWeth, ",Wrapped Ether,WETH,18,137\n"), 137);
  ASSERT_EQ(polygon.records.size(), 1u);
  EXPECT_EQ(polygon.records[0].chain_id(), 137u);

  LineResult junk = MapOne(v1::DATASET_FORMAT_UNISWAP_TOKENS,
                           absl::StrCat(kUniswapHeader, kWeth, ",Wrapped Ether,WETH,18,one\n"));
  ExpectOneIssue(junk, kError, "chainId", "not a number");
}

// --- ofac_sdn --------------------------------------------------------------------------------

TEST(RecordMapperTest, OfacListedIsSanctionedAndDelistedIsUnknown) {
  constexpr char kHeader[] = "address,name,status,date_added\n";
  LineResult listed =
      MapOne(v1::DATASET_FORMAT_OFAC_SDN,
             absl::StrCat(kHeader,
                          "0x098B716B8Aaf21512996dC57EB0615e2383E2f96,LAZARUS GROUP,"
                          "listed,2022-04-14\n"));
  ASSERT_EQ(listed.records.size(), 1u);
  EXPECT_THAT(listed.issues, IsEmpty());
  EXPECT_EQ(listed.records[0].label(), "Sanctioned");
  EXPECT_EQ(listed.records[0].name(), "LAZARUS GROUP");
  EXPECT_EQ(listed.records[0].entity(), "LAZARUS GROUP");
  EXPECT_EQ(listed.records[0].original_label(), "listed");

  LineResult delisted =
      MapOne(v1::DATASET_FORMAT_OFAC_SDN,
             absl::StrCat(kHeader,
                          "0x8589427373d6d84e98730d7795d8f6f8731fda16,\"TORNADO CASH\","
                          "delisted,2022-08-08\n"));
  ASSERT_EQ(delisted.records.size(), 1u);
  const common::v1::AddressRecord& rec = delisted.records[0];
  EXPECT_EQ(rec.label(), "Unknown");
  EXPECT_THAT(Tags(rec), ElementsAre("OFAC delisted"));
  EXPECT_EQ(rec.original_label(), "delisted");
  EXPECT_EQ(rec.note(), "delisted from the OFAC SDN list; added 2022-08-08");

  LineResult bad = MapOne(v1::DATASET_FORMAT_OFAC_SDN,
                          absl::StrCat(kHeader,
                                       "0x8589427373d6d84e98730d7795d8f6f8731fda16,X,"
                                       "pending,\n"));
  ExpectOneIssue(bad, kError, "status", "allowed: listed, delisted");
}

// --- mew_darklist ----------------------------------------------------------------------------

TEST(RecordMapperTest, MewDarklistIsScamWithCommentAndDate) {
  LineResult r = MapOne(v1::DATASET_FORMAT_MEW_DARKLIST,
                        "address,comment,date\n0xF193a9aFb00715AaCF7ca9Ebffafe02C77517C2E,"
                        "\"Fake copy of ROCK2PAY token, do not buy\",2018-11-06\n");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].label(), "Scam");
  EXPECT_EQ(r.records[0].note(), "Fake copy of ROCK2PAY token, do not buy (2018-11-06)");
  EXPECT_EQ(r.records[0].name(), "");
}

// --- cryptoscamdb ----------------------------------------------------------------------------

TEST(RecordMapperTest, CryptoScamDbMapsCategorySubcategoryAndUrl) {
  constexpr char kHeader[] = "address,category,subcategory,site_name,url,reporter\n";
  LineResult phishing = MapOne(v1::DATASET_FORMAT_CRYPTOSCAMDB,
                               absl::StrCat(kHeader,
                                            "0x858457daa7e087ad74cdeeceab8419079bc2ca03,"
                                            "Phishing,MyEtherWallet,myethwallet.net,"
                                            "http://myethwallet.net,CryptoScamDB\n"));
  ASSERT_EQ(phishing.records.size(), 1u);
  EXPECT_EQ(phishing.records[0].label(), "Phish / Hack");
  EXPECT_THAT(Tags(phishing.records[0]), ElementsAre("MyEtherWallet"));
  EXPECT_EQ(phishing.records[0].note(), "http://myethwallet.net");
  EXPECT_EQ(phishing.records[0].name(), "");
  EXPECT_EQ(phishing.records[0].original_label(), "Phishing");

  LineResult scam = MapOne(v1::DATASET_FORMAT_CRYPTOSCAMDB,
                           absl::StrCat(kHeader,
                                        "0x858457daa7e087ad74cdeeceab8419079bc2ca03,"
                                        "Scamming,,x.io,http://x.io,someone\n"));
  ASSERT_EQ(scam.records.size(), 1u);
  EXPECT_EQ(scam.records[0].label(), "Scam");
  EXPECT_THAT(Tags(scam.records[0]), IsEmpty());

  LineResult bad = MapOne(v1::DATASET_FORMAT_CRYPTOSCAMDB,
                          absl::StrCat(kHeader,
                                       "0x858457daa7e087ad74cdeeceab8419079bc2ca03,"
                                       "Spam,,x.io,http://x.io,someone\n"));
  ExpectOneIssue(bad, kError, "category", "allowed: Scamming, Phishing");
}

// --- construction ----------------------------------------------------------------------------

TEST(RecordMapperTest, CreateNeedsTheFormatsColumns) {
  EXPECT_THAT(RecordMapper::Create(v1::DATASET_FORMAT_OFAC_SDN, {"address", "name"},
                                   MapperContext{"s", 1, "f.csv"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs column status")));
  EXPECT_THAT(RecordMapper::Create(v1::DATASET_FORMAT_UNSPECIFIED, {"address"},
                                   MapperContext{"s", 1, "f.csv"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RecordMapperTest, CreateHandsTheMappedFormatsTheirParameters) {
  const MapperContext context{"s", 1, "f.csv"};
  EXPECT_THAT(RecordMapper::Create(v1::DATASET_FORMAT_CSV_MAPPING, {"wallet"}, context),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("format csv_mapping needs UploadMetadata.column_mapping")));
  v1::ColumnMapping mapping;
  mapping.set_address_column("wallet");
  mapping.mutable_label()->set_value("Heist");
  FormatParameters with_mapping;
  with_mapping.column_mapping = &mapping;
  absl::StatusOr<std::unique_ptr<RecordMapper>> mapped =
      RecordMapper::Create(v1::DATASET_FORMAT_CSV_MAPPING, {"Wallet"}, context, with_mapping);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  LineResult result;
  (*mapped)->Map(CsvRow{2, {kWeth}}, &result);
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].label(), "Heist");

  EXPECT_THAT(RecordMapper::Create(v1::DATASET_FORMAT_ADDRESS_LIST, {"address"}, context),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("format address_list needs UploadMetadata.label")));
  FormatParameters list;
  list.label = "Sanctioned";
  list.tags = {"OFAC SDN"};
  absl::StatusOr<std::unique_ptr<RecordMapper>> listed =
      RecordMapper::Create(v1::DATASET_FORMAT_ADDRESS_LIST, {"address"}, context, list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  (*listed)->Map(CsvRow{3, {kDai}}, &result);
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].label(), "Sanctioned");
  EXPECT_THAT(Tags(result.records[0]), ElementsAre("OFAC SDN"));

  // The feature formats need every column their built-in mapping reads.
  EXPECT_THAT(RecordMapper::Create(v1::DATASET_FORMAT_PHISH_FEATURES, {"Address", "FLAG"}, context),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("format phish_features needs column avg min between sent tnx")));
}

}  // namespace
}  // namespace ethscan::dataset

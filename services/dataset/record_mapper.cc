// Column mapping per format (the label vocabulary of each source is closed unless noted):
//
// etherscan_labels (address,name,labels,listed_as): name = name; entity = the text before ':'
//   in the name ("Akropolis: AKRO Token" -> "Akropolis"; with "A | B" names the first part
//   that has one); tags = the ';'-separated slugs (open vocabulary); original_label = labels.
//   listed_as (account|token|account+token) containing token -> "Smart Contract", "Token".
//   Otherwise the contract type comes from the first slug of dex -> DEX, bridge -> Bridge,
//   multisig -> Multisig, factory-contract -> Factory, wrapped-token -> Token. Label, first
//   match wins: ofac-sanctions-lists -> Sanctioned, heist -> Heist, exploit -> Exploit,
//   phish-hack -> Phish / Hack; else Legit when the row has a name or is a token and carries
//   none of the risky slugs (blocked, take-action, tornado-cash, high-risk, flagged-by-sec);
//   else Unknown.
// etherscan_malicious (address,name_tag,label,balance,txn_count): label phish-hack|heist|
//   exploit; name = name_tag; note = "balance <balance>, <txn_count> txns at scrape".
// forta_phishing_scams (address,etherscan_tag,etherscan_labels,is_contract): Phish / Hack;
//   name = etherscan_tag; is_contract True/False -> Smart Contract/EOA (empty: unknown).
// forta_malicious_labels (banned_address,wallet_tag,data_source): data_source
//   etherscan-{phish-hack,exploit,heist}-list; name = wallet_tag.
// forta_malicious_contracts: two records per row. The contract (Smart Contract, name
//   contract_tag, note "malicious contract listed by <source>[; <notes>]") and its creator
//   (EOA, name contract_creator_tag, note "deployer of <contract>"), both labelled from
//   contract_creator_etherscan_label (phish-hack, exploit, heist; empty -> Exploit). An empty or
//   invalid creator is a WARNING and only the contract is kept.
// uniswap_tokens (address,name,symbol,decimals,chainId): name "Name (SYMBOL)", Smart Contract,
//   Token, Legit, tags [Token Contract], original_label uniswap-default-list, note
//   "decimals <n>"; chainId must equal the dataset's chain id.
// ofac_sdn (address,name,status,date_added): name = entity = the SDN name. listed ->
//   Sanctioned, tags [OFAC SDN], note "on the OFAC SDN list since <date>"; delisted -> Unknown,
//   tags [OFAC delisted], note "delisted from the OFAC SDN list; added <date>".
// mew_darklist (address,comment,date): Scam, original_label "darklist", note "<comment>
//   (<date>)".
// cryptoscamdb (address,category,subcategory,site_name,url,reporter): Scamming -> Scam,
//   Phishing -> Phish / Hack; tags [subcategory] when set; note = url; name empty.
// kaggle_fraud_features, phish_features, csv_mapping, address_list, canonical_csv: read by the
//   column-mapping engine (column_mapping.h) through a built-in mapping, the upload's mapping,
//   a constant label and tags, and the canonical record layout.
#include "services/dataset/record_mapper.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/eth/address.h"
#include "common/text/quote.h"
#include "services/dataset/column_mapping.h"
#include "services/dataset/dataset_format.h"

namespace ethscan::dataset {
namespace {

using common::v1::AddressRecord;
using v1::ValidationIssue;

constexpr ValidationIssue::Severity kError = ValidationIssue::SEVERITY_ERROR;
constexpr ValidationIssue::Severity kWarning = ValidationIssue::SEVERITY_WARNING;

// One allowed value of a label column and the report label it maps to.
struct VocabularyEntry {
  absl::string_view value;
  absl::string_view label;
};

// Maps a column position to its trimmed value.
std::string Value(const CsvRow& row, int column) {
  if (column < 0 || static_cast<size_t>(column) >= row.fields.size()) return "";
  return std::string(absl::StripAsciiWhitespace(row.fields[column]));
}

// The text before ':' in a name ("Akropolis: AKRO Token" -> "Akropolis"). Joined names
// ("A | B: c") use the first part that has a colon.
std::string EntityFromName(absl::string_view name) {
  for (absl::string_view part : absl::StrSplit(name, " | ")) {
    size_t colon = part.find(':');
    if (colon == absl::string_view::npos) continue;
    absl::string_view entity = absl::StripAsciiWhitespace(part.substr(0, colon));
    if (!entity.empty()) return static_cast<std::string>(entity);
  }
  return "";
}

// Common machinery for the per-format mappers below.
class MapperBase : public RecordMapper {
 public:
  MapperBase(MapperContext context, std::vector<std::string> header)
      : RecordMapper(std::move(context), std::move(header)) {}

 protected:
  // Column position by lowercase name; Create has checked it exists.
  int Col(absl::string_view name) const { return ColumnIndex(name); }
  // The header's spelling of a column, for issues.
  std::string FieldName(int column) const { return column < 0 ? "" : HeaderName(column); }

  // Maps a label column value through `vocabulary` (compared without letter case). Adds an
  // ERROR naming the allowed values and returns nullopt for anything else.
  std::optional<std::string> MapVocabulary(const CsvRow& row, int column,
                                           std::initializer_list<VocabularyEntry> vocabulary,
                                           LineResult* result) const {
    std::string value = Value(row, column);
    std::vector<std::string> allowed;
    for (const VocabularyEntry& entry : vocabulary) {
      if (absl::EqualsIgnoreCase(value, entry.value)) return static_cast<std::string>(entry.label);
      allowed.push_back(entry.value.empty() ? "(empty)" : static_cast<std::string>(entry.value));
    }
    AddIssue(
        row.line, column, issue_kind::kUnknownValue,
        absl::StrCat("unknown value ", text::Quote(value), " in column ",
                     text::Escape(FieldName(column)), "; allowed: ", absl::StrJoin(allowed, ", ")),
        kError, result);
    return std::nullopt;
  }
};

class EtherscanLabelsMapper final : public MapperBase {
 public:
  using MapperBase::MapperBase;

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override {
    int address_col = Col("address");
    std::optional<std::string> address = ParseAddress(row, address_col, result);
    std::optional<std::string> listed_as = MapVocabulary(
        row, Col("listed_as"),
        {{"account", "account"}, {"token", "token"}, {"account+token", "token"}}, result);
    if (!address || !listed_as) return;
    const std::string name = Value(row, Col("name"));
    const std::string labels = Value(row, Col("labels"));
    std::vector<std::string> slugs;
    for (absl::string_view slug : absl::StrSplit(labels, ';')) {
      slug = absl::StripAsciiWhitespace(slug);
      if (!slug.empty()) slugs.emplace_back(slug);
    }
    auto has = [&slugs](absl::string_view slug) {
      for (const std::string& s : slugs) {
        if (absl::EqualsIgnoreCase(s, slug)) return true;
      }
      return false;
    };
    AddressRecord record = NewRecord(*std::move(address), row.line);
    record.set_name(name);
    record.set_entity(EntityFromName(name));
    for (const std::string& slug : slugs) record.add_tags(slug);
    record.set_original_label(labels);
    const bool token = *listed_as == "token";
    if (token) {
      record.set_account_type(kAccountContract);
      record.set_contract_type("Token");
    } else {
      static constexpr VocabularyEntry kContractTypes[] = {{"dex", "DEX"},
                                                           {"bridge", "Bridge"},
                                                           {"multisig", "Multisig"},
                                                           {"factory-contract", "Factory"},
                                                           {"wrapped-token", "Token"}};
      for (const VocabularyEntry& entry : kContractTypes) {
        if (has(entry.value)) {
          record.set_contract_type(static_cast<std::string>(entry.label));
          break;
        }
      }
    }
    static const VocabularyEntry kRiskLabels[] = {{"ofac-sanctions-lists", kLabelSanctioned},
                                                  {"heist", kLabelHeist},
                                                  {"exploit", kLabelExploit},
                                                  {"phish-hack", kLabelPhishHack}};
    static constexpr absl::string_view kRiskySlugs[] = {"blocked", "take-action", "tornado-cash",
                                                        "high-risk", "flagged-by-sec"};
    for (const VocabularyEntry& entry : kRiskLabels) {
      if (has(entry.value)) {
        record.set_label(static_cast<std::string>(entry.label));
        break;
      }
    }
    if (record.label().empty()) {
      bool risky = false;
      for (absl::string_view slug : kRiskySlugs) risky = risky || has(slug);
      record.set_label((!name.empty() || token) && !risky ? kLabelLegit : kLabelUnknown);
    }
    result->records.push_back(std::move(record));
  }
};

class EtherscanMaliciousMapper final : public MapperBase {
 public:
  using MapperBase::MapperBase;

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override {
    std::optional<std::string> address = ParseAddress(row, Col("address"), result);
    std::optional<std::string> label = MapVocabulary(
        row, Col("label"),
        {{"phish-hack", kLabelPhishHack}, {"heist", kLabelHeist}, {"exploit", kLabelExploit}},
        result);
    if (!address || !label) return;
    AddressRecord record = NewRecord(*std::move(address), row.line);
    record.set_name(Value(row, Col("name_tag")));
    record.set_label(*label);
    record.set_original_label(Value(row, Col("label")));
    std::string balance = Value(row, Col("balance"));
    std::string txns = Value(row, Col("txn_count"));
    std::vector<std::string> parts;
    if (!balance.empty()) parts.push_back(absl::StrCat("balance ", balance));
    if (!txns.empty()) parts.push_back(absl::StrCat(txns, " txns"));
    if (!parts.empty()) record.set_note(absl::StrCat(absl::StrJoin(parts, ", "), " at scrape"));
    result->records.push_back(std::move(record));
  }
};

class FortaPhishingScamsMapper final : public MapperBase {
 public:
  using MapperBase::MapperBase;

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override {
    std::optional<std::string> address = ParseAddress(row, Col("address"), result);
    std::optional<std::string> label =
        MapVocabulary(row, Col("etherscan_labels"), {{"phish-hack", kLabelPhishHack}}, result);
    std::optional<std::string> account_type =
        MapVocabulary(row, Col("is_contract"),
                      {{"True", kAccountContract}, {"False", kAccountEoa}, {"", ""}}, result);
    if (!address || !label || !account_type) return;
    AddressRecord record = NewRecord(*std::move(address), row.line);
    record.set_name(Value(row, Col("etherscan_tag")));
    record.set_account_type(*account_type);
    record.set_label(*label);
    record.set_original_label(Value(row, Col("etherscan_labels")));
    result->records.push_back(std::move(record));
  }
};

class FortaMaliciousLabelsMapper final : public MapperBase {
 public:
  using MapperBase::MapperBase;

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override {
    std::optional<std::string> address = ParseAddress(row, Col("banned_address"), result);
    std::optional<std::string> label =
        MapVocabulary(row, Col("data_source"),
                      {{"etherscan-phish-hack-list", kLabelPhishHack},
                       {"etherscan-exploit-list", kLabelExploit},
                       {"etherscan-heist-list", kLabelHeist}},
                      result);
    if (!address || !label) return;
    AddressRecord record = NewRecord(*std::move(address), row.line);
    record.set_name(Value(row, Col("wallet_tag")));
    record.set_label(*label);
    record.set_original_label(Value(row, Col("data_source")));
    result->records.push_back(std::move(record));
  }
};

class FortaMaliciousContractsMapper final : public MapperBase {
 public:
  using MapperBase::MapperBase;

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override {
    std::optional<std::string> contract = ParseAddress(row, Col("contract_address"), result);
    std::optional<std::string> label = MapVocabulary(row, Col("contract_creator_etherscan_label"),
                                                     {{"phish-hack", kLabelPhishHack},
                                                      {"exploit", kLabelExploit},
                                                      {"heist", kLabelHeist},
                                                      {"", kLabelExploit}},
                                                     result);
    if (!contract || !label) return;
    const std::string original_label = Value(row, Col("contract_creator_etherscan_label"));
    std::string note = absl::StrCat("malicious contract listed by ", Value(row, Col("source")));
    const std::string notes = Value(row, Col("notes"));
    if (!notes.empty()) absl::StrAppend(&note, "; ", notes);

    AddressRecord record = NewRecord(*contract, row.line);
    record.set_name(Value(row, Col("contract_tag")));
    record.set_account_type(kAccountContract);
    record.set_label(*label);
    record.set_original_label(original_label);
    record.set_note(std::move(note));
    result->records.push_back(std::move(record));

    std::optional<std::string> creator =
        ParseAddress(row, Col("contract_creator"), result, kWarning,
                     "; the creator is skipped and only the contract is kept");
    if (!creator) return;
    AddressRecord deployer = NewRecord(*std::move(creator), row.line);
    deployer.set_name(Value(row, Col("contract_creator_tag")));
    deployer.set_account_type(kAccountEoa);
    deployer.set_label(*label);
    deployer.set_original_label(original_label);
    deployer.set_note(absl::StrCat("deployer of ", *contract));
    result->records.push_back(std::move(deployer));
  }
};

class UniswapTokensMapper final : public MapperBase {
 public:
  using MapperBase::MapperBase;

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override {
    std::optional<std::string> address = ParseAddress(row, Col("address"), result);
    const int chain_col = Col("chainid");
    const std::string chain_text = Value(row, chain_col);
    uint64_t chain_id = 0;
    if (!absl::SimpleAtoi(chain_text, &chain_id)) {
      AddIssue(row.line, chain_col, issue_kind::kBadChainId,
               absl::StrCat("chain id ", text::Quote(chain_text), " is not a number"), kError,
               result);
    } else if (chain_id != context().chain_id) {
      AddIssue(row.line, chain_col, issue_kind::kBadChainId,
               absl::StrCat("chain id ", chain_id, " differs from the dataset's chain id ",
                            context().chain_id),
               kError, result);
    }
    if (!address || result->invalid) return;
    const std::string name = Value(row, Col("name"));
    const std::string symbol = Value(row, Col("symbol"));
    AddressRecord record = NewRecord(*std::move(address), row.line);
    record.set_name(symbol.empty() ? name : absl::StrCat(name, " (", symbol, ")"));
    record.set_account_type(kAccountContract);
    record.set_contract_type("Token");
    record.set_label(kLabelLegit);
    record.add_tags("Token Contract");
    record.set_original_label("uniswap-default-list");
    const std::string decimals = Value(row, Col("decimals"));
    if (!decimals.empty()) record.set_note(absl::StrCat("decimals ", decimals));
    result->records.push_back(std::move(record));
  }
};

class OfacSdnMapper final : public MapperBase {
 public:
  using MapperBase::MapperBase;

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override {
    std::optional<std::string> address = ParseAddress(row, Col("address"), result);
    std::optional<std::string> label = MapVocabulary(
        row, Col("status"), {{"listed", kLabelSanctioned}, {"delisted", kLabelUnknown}}, result);
    if (!address || !label) return;
    const std::string name = Value(row, Col("name"));
    const std::string date = Value(row, Col("date_added"));
    AddressRecord record = NewRecord(*std::move(address), row.line);
    record.set_name(name);
    record.set_entity(name);
    record.set_label(*label);
    if (*label == kLabelSanctioned) {
      record.set_original_label("listed");
      record.add_tags("OFAC SDN");
      record.set_note(date.empty() ? "on the OFAC SDN list"
                                   : absl::StrCat("on the OFAC SDN list since ", date));
    } else {
      record.set_original_label("delisted");
      record.add_tags("OFAC delisted");
      record.set_note(date.empty() ? "delisted from the OFAC SDN list"
                                   : absl::StrCat("delisted from the OFAC SDN list; added ", date));
    }
    result->records.push_back(std::move(record));
  }
};

class MewDarklistMapper final : public MapperBase {
 public:
  using MapperBase::MapperBase;

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override {
    std::optional<std::string> address = ParseAddress(row, Col("address"), result);
    if (!address) return;
    const std::string comment = Value(row, Col("comment"));
    const std::string date = Value(row, Col("date"));
    AddressRecord record = NewRecord(*std::move(address), row.line);
    record.set_label(kLabelScam);
    record.set_original_label("darklist");
    if (!comment.empty() && !date.empty()) {
      record.set_note(absl::StrCat(comment, " (", date, ")"));
    } else if (!comment.empty()) {
      record.set_note(comment);
    } else if (!date.empty()) {
      record.set_note(absl::StrCat("darklisted ", date));
    }
    result->records.push_back(std::move(record));
  }
};

class CryptoScamDbMapper final : public MapperBase {
 public:
  using MapperBase::MapperBase;

 protected:
  void MapRow(const CsvRow& row, LineResult* result) const override {
    std::optional<std::string> address = ParseAddress(row, Col("address"), result);
    std::optional<std::string> label = MapVocabulary(
        row, Col("category"), {{"Scamming", kLabelScam}, {"Phishing", kLabelPhishHack}}, result);
    if (!address || !label) return;
    AddressRecord record = NewRecord(*std::move(address), row.line);
    record.set_label(*label);
    record.set_original_label(Value(row, Col("category")));
    const std::string subcategory = Value(row, Col("subcategory"));
    if (!subcategory.empty()) record.add_tags(subcategory);
    record.set_note(Value(row, Col("url")));
    result->records.push_back(std::move(record));
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<RecordMapper>> RecordMapper::Create(
    v1::DatasetFormat format, const std::vector<std::string>& header, MapperContext context,
    const FormatParameters& parameters) {
  std::vector<std::string> lowercase;
  lowercase.reserve(header.size());
  for (const std::string& name : header) lowercase.push_back(absl::AsciiStrToLower(name));
  for (const std::string& column : RequiredColumns(format)) {
    if (std::find(lowercase.begin(), lowercase.end(), column) == lowercase.end()) {
      return absl::InvalidArgumentError(absl::StrCat(context.file, ": format ", FormatName(format),
                                                     " needs column ", column,
                                                     "; header: ", ColumnList(header)));
    }
  }
  std::unique_ptr<RecordMapper> mapper;
  switch (format) {
    case v1::DATASET_FORMAT_ETHERSCAN_LABELS:
      mapper.reset(new EtherscanLabelsMapper(std::move(context), header));
      break;
    case v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS:
      mapper.reset(new EtherscanMaliciousMapper(std::move(context), header));
      break;
    case v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS:
      mapper.reset(new FortaPhishingScamsMapper(std::move(context), header));
      break;
    case v1::DATASET_FORMAT_FORTA_MALICIOUS_LABELS:
      mapper.reset(new FortaMaliciousLabelsMapper(std::move(context), header));
      break;
    case v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS:
      mapper.reset(new FortaMaliciousContractsMapper(std::move(context), header));
      break;
    case v1::DATASET_FORMAT_UNISWAP_TOKENS:
      mapper.reset(new UniswapTokensMapper(std::move(context), header));
      break;
    case v1::DATASET_FORMAT_OFAC_SDN:
      mapper.reset(new OfacSdnMapper(std::move(context), header));
      break;
    case v1::DATASET_FORMAT_MEW_DARKLIST:
      mapper.reset(new MewDarklistMapper(std::move(context), header));
      break;
    case v1::DATASET_FORMAT_CRYPTOSCAMDB:
      mapper.reset(new CryptoScamDbMapper(std::move(context), header));
      break;
    case v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES:
    case v1::DATASET_FORMAT_PHISH_FEATURES:
      return ColumnMapper::Create(*BuiltInMapping(format), header, std::move(context),
                                  absl::StrCat("format ", FormatName(format), ": "));
    case v1::DATASET_FORMAT_CSV_MAPPING:
      if (parameters.column_mapping == nullptr) {
        return absl::InvalidArgumentError(
            "format csv_mapping needs UploadMetadata.column_mapping, which is not set");
      }
      return ColumnMapper::Create(*parameters.column_mapping, header, std::move(context),
                                  "column_mapping.");
    case v1::DATASET_FORMAT_ADDRESS_LIST: {
      absl::StatusOr<v1::ColumnMapping> mapping =
          AddressListMapping(parameters.label, parameters.tags);
      if (!mapping.ok()) return mapping.status();
      return ColumnMapper::Create(*mapping, header, std::move(context), "format address_list: ");
    }
    case v1::DATASET_FORMAT_CANONICAL_CSV:
      return ColumnMapper::CreateCanonicalCsv(header, std::move(context));
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("no record mapper for format ", FormatName(format)));
  }
  return mapper;
}

v1::ValidationIssue MakeIssue(absl::string_view file, uint64_t line, absl::string_view field,
                              absl::string_view kind, std::string reason,
                              v1::ValidationIssue::Severity severity) {
  v1::ValidationIssue issue;
  issue.set_file(file.data(), file.size());
  issue.set_line(line);
  issue.set_field(field.data(), field.size());
  issue.set_kind(kind.data(), kind.size());
  issue.set_reason(std::move(reason));
  issue.set_severity(severity);
  return issue;
}

std::string AddressError(absl::string_view text, const absl::Status& parse_error) {
  // eth::Address::Parse quotes its input with text::Quote, so the message is short already.
  return text::SingleLine(parse_error.message(), 256);
}

void RecordMapper::Map(const CsvRow& row, LineResult* result) const {
  result->records.clear();
  result->addresses.clear();
  result->issues.clear();
  result->invalid = false;
  MapRow(row, result);
  if (result->invalid) result->records.clear();
}

int RecordMapper::ColumnIndex(absl::string_view lowercase_name) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    if (absl::EqualsIgnoreCase(header_[i], lowercase_name)) return static_cast<int>(i);
  }
  return -1;
}

const std::string& RecordMapper::HeaderName(int column) const { return header_[column]; }

void RecordMapper::AddIssue(uint64_t line, int column, absl::string_view kind, std::string reason,
                            ValidationIssue::Severity severity, LineResult* result) const {
  if (severity == kError) result->invalid = true;
  // One cell read for two fields (a label and tags from one column) is reported once.
  for (const ValidationIssue& existing : result->issues) {
    if (existing.reason() == reason && existing.severity() == severity &&
        existing.field() == (column >= 0 ? HeaderName(column) : "")) {
      return;
    }
  }
  result->issues.push_back(MakeIssue(context_.file, line, column >= 0 ? HeaderName(column) : "",
                                     kind, std::move(reason), severity));
}

std::optional<std::string> RecordMapper::ParseAddress(const CsvRow& row, int column,
                                                      LineResult* result,
                                                      ValidationIssue::Severity failure_severity,
                                                      absl::string_view failure_suffix,
                                                      bool strict_checksum) const {
  absl::string_view raw = row.fields[column];
  absl::string_view text = absl::StripAsciiWhitespace(raw);
  if (text.empty()) {
    AddIssue(row.line, column, issue_kind::kInvalidAddress,
             absl::StrCat("empty address", failure_suffix), failure_severity, result);
    return std::nullopt;
  }
  absl::StatusOr<eth::Address> address =
      eth::Address::Parse(text, eth::Address::ChecksumPolicy::kLenient);
  if (!address.ok()) {
    AddIssue(row.line, column, issue_kind::kInvalidAddress,
             absl::StrCat(AddressError(text, address.status()), failure_suffix), failure_severity,
             result);
    return std::nullopt;
  }
  if (text.size() != raw.size()) {
    AddIssue(row.line, column, issue_kind::kAddressWhitespace,
             absl::StrCat("whitespace around address ", text::Quote(text), " removed"), kWarning,
             result);
  }
  std::string checksummed = address->ToChecksumHex();
  if (!eth::Address::HasValidChecksum(text, checksummed)) {
    if (strict_checksum) {
      AddIssue(row.line, column, issue_kind::kBadChecksum,
               absl::StrCat("bad EIP-55 checksum in address ", text::Quote(text), " (should be ",
                            checksummed, "); the mapping sets strict_checksum"),
               kError, result);
      return std::nullopt;
    }
    AddIssue(row.line, column, issue_kind::kBadChecksum,
             absl::StrCat("bad EIP-55 checksum in address ", text::Quote(text),
                          "; kept as the source published it, stored as ", checksummed),
             kWarning, result);
  }
  return checksummed;
}

AddressRecord RecordMapper::NewRecord(std::string address, uint64_t line) const {
  AddressRecord record;
  record.set_address(std::move(address));
  record.set_chain_id(context_.chain_id);
  record.set_source(context_.source);
  record.set_line(line);
  return record;
}

}  // namespace ethscan::dataset

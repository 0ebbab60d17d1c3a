#include "services/dataset/dataset_format.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/address.h"
#include "common/text/quote.h"
#include "services/dataset/column_mapping.h"

namespace ethscan::dataset {
namespace {

constexpr absl::string_view kEnumPrefix = "DATASET_FORMAT_";

// Headers with more columns than this are shortened in explanations.
constexpr size_t kShortHeaderColumns = 12;

const absl::flat_hash_map<int, std::vector<std::string>>& ColumnTable() {
  static const auto* table = new absl::flat_hash_map<int, std::vector<std::string>>{
      {v1::DATASET_FORMAT_ETHERSCAN_LABELS, {"address", "name", "labels", "listed_as"}},
      {v1::DATASET_FORMAT_ETHERSCAN_MALICIOUS,
       {"address", "name_tag", "label", "balance", "txn_count"}},
      {v1::DATASET_FORMAT_FORTA_PHISHING_SCAMS,
       {"address", "etherscan_tag", "etherscan_labels", "is_contract"}},
      {v1::DATASET_FORMAT_FORTA_MALICIOUS_LABELS, {"banned_address", "wallet_tag", "data_source"}},
      {v1::DATASET_FORMAT_FORTA_MALICIOUS_CONTRACTS,
       {"contract_address", "contract_tag", "contract_creator", "contract_creation_tx",
        "contract_creator_tag", "source", "notes", "contract_creator_etherscan_label"}},
      {v1::DATASET_FORMAT_UNISWAP_TOKENS, {"address", "name", "symbol", "decimals", "chainid"}},
      {v1::DATASET_FORMAT_OFAC_SDN, {"address", "name", "status", "date_added"}},
      {v1::DATASET_FORMAT_MEW_DARKLIST, {"address", "comment", "date"}},
      {v1::DATASET_FORMAT_CRYPTOSCAMDB,
       {"address", "category", "subcategory", "site_name", "url", "reporter"}},
      {v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES,
       MappedColumns(*BuiltInMapping(v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES))},
      {v1::DATASET_FORMAT_PHISH_FEATURES,
       MappedColumns(*BuiltInMapping(v1::DATASET_FORMAT_PHISH_FEATURES))},
      {v1::DATASET_FORMAT_CANONICAL_CSV, CanonicalCsvColumns()},
  };
  return *table;
}

// Every CSV format detected from its header columns, in enum order.
std::vector<DatasetFormat> HeaderFormats() {
  std::vector<DatasetFormat> formats;
  for (int i = v1::DatasetFormat_MIN; i <= v1::DatasetFormat_MAX; ++i) {
    if (v1::DatasetFormat_IsValid(i) && !RequiredColumns(static_cast<DatasetFormat>(i)).empty()) {
      formats.push_back(static_cast<DatasetFormat>(i));
    }
  }
  return formats;
}

std::string HeaderError(absl::string_view file, uint64_t line, absl::string_view reason) {
  return absl::StrCat(file, " line ", line, ": ", reason);
}

// The columns joined by ',', shortened after the first few when there are many.
std::string ShortColumns(const std::vector<std::string>& columns) {
  if (columns.size() <= kShortHeaderColumns) return ColumnList(columns);
  std::vector<std::string> head(columns.begin(), columns.begin() + 3);
  return absl::StrCat(ColumnList(head), " and ", columns.size() - 3, " more columns");
}

// The single column of an address list's first line: the header or an address.
bool IsAddressListFirstLine(const std::vector<std::string>& header) {
  return header.size() == 1 &&
         (IsAddressListHeader(header[0]) ||
          eth::Address::Parse(header[0], eth::Address::ChecksumPolicy::kLenient).ok());
}

// How an address list's first line was read, for the explanation.
std::string DescribeAddressListStart(const std::string& column, uint64_t line) {
  return IsAddressListHeader(column)
             ? absl::StrCat("line ", line, " is the single header column ", text::Quote(column))
             : absl::StrCat("line ", line, " is a single address and there is no header");
}

// The error for a header with the behavioural feature columns that matches neither feature
// format exactly, naming what each lacks.
std::string FeatureLayoutMismatch(const absl::flat_hash_set<std::string>& present,
                                  absl::string_view header_text) {
  std::vector<std::string> parts;
  for (DatasetFormat format :
       {v1::DATASET_FORMAT_KAGGLE_FRAUD_FEATURES, v1::DATASET_FORMAT_PHISH_FEATURES}) {
    std::vector<std::string> missing;
    for (const std::string& column : RequiredColumns(format)) {
      if (!present.contains(column)) missing.push_back(column);
    }
    const size_t shown = std::min<size_t>(missing.size(), 5);
    parts.push_back(absl::StrCat(FormatName(format), " lacks ", missing.size(), " of its ",
                                 RequiredColumns(format).size(), " columns (",
                                 absl::StrJoin(missing.begin(), missing.begin() + shown, ","),
                                 missing.size() > shown ? ",…" : "", ")"));
  }
  return absl::StrCat(
      "header columns ", header_text,
      " look like a behavioural feature layout (Address, FLAG and per-address transaction "
      "statistics) but match no known one: ",
      absl::StrJoin(parts, "; "),
      ". Give a column mapping (format csv_mapping) that names the address, label and feature "
      "columns");
}

}  // namespace

std::string ColumnList(const std::vector<std::string>& columns, size_t max_columns) {
  constexpr size_t kColumnChars = 40;
  std::string out;
  for (size_t i = 0; i < columns.size() && i < max_columns; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", text::Escape(columns[i], kColumnChars));
  }
  if (columns.size() > max_columns) {
    absl::StrAppend(&out, " and ", columns.size() - max_columns, " more columns");
  }
  return out;
}

std::string FormatName(DatasetFormat format) {
  std::string name = v1::DatasetFormat_Name(format);
  if (name.empty()) return absl::StrCat("format_", static_cast<int>(format));
  if (absl::StartsWith(name, kEnumPrefix)) name = name.substr(kEnumPrefix.size());
  return absl::AsciiStrToLower(name);
}

bool IsJsonlFormat(DatasetFormat format) {
  return format == v1::DATASET_FORMAT_OPENAI_CHAT_JSONL ||
         format == v1::DATASET_FORMAT_LEGACY_PROMPT_COMPLETION;
}

const std::vector<std::string>& RequiredColumns(DatasetFormat format) {
  static const auto* empty = new std::vector<std::string>();
  auto it = ColumnTable().find(static_cast<int>(format));
  return it == ColumnTable().end() ? *empty : it->second;
}

bool IsAddressListHeader(absl::string_view column) {
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(column), "address");
}

absl::StatusOr<FormatChoice> ChooseFormat(DatasetFormat requested,
                                          const std::vector<std::string>& header,
                                          absl::string_view file, uint64_t header_line) {
  absl::flat_hash_set<std::string> present;
  for (const std::string& column : header) present.insert(absl::AsciiStrToLower(column));
  const std::string header_text = ColumnList(header);

  if (requested != v1::DATASET_FORMAT_UNSPECIFIED) {
    if (!v1::DatasetFormat_IsValid(requested)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown dataset format ", static_cast<int>(requested)));
    }
    if (IsJsonlFormat(requested)) {
      return absl::InvalidArgumentError(HeaderError(
          file, header_line,
          absl::StrCat("format ", FormatName(requested),
                       " is JSON Lines, but the file does not start with a JSON object (header: ",
                       header_text, ")")));
    }
    if (requested == v1::DATASET_FORMAT_MERGED) {
      return absl::InvalidArgumentError(
          "format merged is made by MergeDatasets and cannot be uploaded");
    }
    if (requested == v1::DATASET_FORMAT_CSV_MAPPING) {
      return FormatChoice{requested,
                          absl::StrCat("format csv_mapping given in the upload metadata; the "
                                       "column mapping reads header columns ",
                                       ShortColumns(header))};
    }
    if (requested == v1::DATASET_FORMAT_ADDRESS_LIST) {
      if (header.size() != 1) {
        return absl::InvalidArgumentError(HeaderError(
            file, header_line,
            absl::StrCat("format address_list has one address per line, but this line has ",
                         header.size(), " columns (", header_text,
                         "); for a CSV with more columns give a column mapping")));
      }
      if (!IsAddressListHeader(header[0]) && !absl::StartsWithIgnoreCase(header[0], "0x") &&
          !IsAddressListFirstLine(header)) {
        return absl::InvalidArgumentError(HeaderError(
            file, header_line,
            absl::StrCat("format address_list starts with the header \"address\" or with an "
                         "address, not ",
                         text::Quote(header[0]))));
      }
      return FormatChoice{requested,
                          absl::StrCat("format address_list given in the upload "
                                       "metadata; ",
                                       DescribeAddressListStart(header[0], header_line))};
    }
    std::vector<std::string> missing;
    for (const std::string& column : RequiredColumns(requested)) {
      if (!present.contains(column)) missing.push_back(column);
    }
    if (!missing.empty()) {
      return absl::InvalidArgumentError(
          HeaderError(file, header_line,
                      absl::StrCat("format ", FormatName(requested), " needs the columns ",
                                   absl::StrJoin(RequiredColumns(requested), ","), "; missing ",
                                   absl::StrJoin(missing, ","), " (header: ", header_text, ")")));
    }
    return FormatChoice{requested, absl::StrCat("format ", FormatName(requested),
                                                " given in the upload metadata; header columns ",
                                                ShortColumns(header), " match it")};
  }

  if (IsAddressListFirstLine(header)) {
    return FormatChoice{
        v1::DATASET_FORMAT_ADDRESS_LIST,
        absl::StrCat("detected address_list: ", DescribeAddressListStart(header[0], header_line))};
  }

  std::vector<DatasetFormat> matches;
  size_t best_size = 0;
  for (DatasetFormat format : HeaderFormats()) {
    const std::vector<std::string>& columns = RequiredColumns(format);
    bool all = !columns.empty();
    for (const std::string& column : columns) all = all && present.contains(column);
    if (!all) continue;
    if (columns.size() > best_size) {
      matches.clear();
      best_size = columns.size();
    }
    if (columns.size() == best_size) matches.push_back(format);
  }
  if (matches.size() == 1) {
    return FormatChoice{matches[0], absl::StrCat("detected ", FormatName(matches[0]),
                                                 " from header columns ", ShortColumns(header))};
  }
  if (matches.size() > 1) {
    std::vector<std::string> names;
    names.reserve(matches.size());
    for (DatasetFormat f : matches) names.push_back(FormatName(f));
    return absl::InvalidArgumentError(HeaderError(
        file, header_line,
        absl::StrCat("header columns ", header_text, " fit several formats (",
                     absl::StrJoin(names, ", "), "); give the format in the upload metadata")));
  }
  bool feature_columns = false;
  for (const std::string& column : RequiredColumns(v1::DATASET_FORMAT_PHISH_FEATURES)) {
    feature_columns =
        feature_columns || (column != "address" && column != "flag" && present.contains(column));
  }
  if (present.contains("address") && present.contains("flag") && feature_columns) {
    return absl::InvalidArgumentError(
        HeaderError(file, header_line, FeatureLayoutMismatch(present, ShortColumns(header))));
  }
  const std::vector<DatasetFormat> formats = HeaderFormats();
  std::vector<std::string> known;
  known.reserve(formats.size() + 1);
  for (DatasetFormat format : formats) {
    known.push_back(
        absl::StrCat(FormatName(format), " (", ShortColumns(RequiredColumns(format)), ")"));
  }
  known.push_back(
      "address_list (one column: an address per line, optionally under the header "
      "\"address\")");
  return absl::InvalidArgumentError(
      HeaderError(file, header_line,
                  absl::StrCat("unknown format: header columns ", header_text,
                               " match none of the known formats: ", absl::StrJoin(known, "; "),
                               ". For any other CSV give a column mapping (format csv_mapping)")));
}

}  // namespace ethscan::dataset

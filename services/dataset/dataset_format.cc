#include "services/dataset/dataset_format.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ethscan::dataset {
namespace {

constexpr absl::string_view kEnumPrefix = "DATASET_FORMAT_";

// Column names that only the behavioural feature layout (one row of transaction statistics per
// address, with a FLAG label) has.
constexpr absl::string_view kFeatureColumns[] = {"avg min between sent tnx",
                                                 "avg min between received tnx", "sent tnx",
                                                 "received tnx", "total ether balance"};

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
  };
  return *table;
}

// Every known CSV format (not UNSPECIFIED, not JSON Lines), in enum order.
std::vector<DatasetFormat> KnownFormats() {
  std::vector<DatasetFormat> formats;
  for (int i = v1::DatasetFormat_MIN; i <= v1::DatasetFormat_MAX; ++i) {
    if (v1::DatasetFormat_IsValid(i) && i != v1::DATASET_FORMAT_UNSPECIFIED &&
        !IsJsonlFormat(static_cast<DatasetFormat>(i))) {
      formats.push_back(static_cast<DatasetFormat>(i));
    }
  }
  return formats;
}

std::string HeaderError(absl::string_view file, uint64_t line, absl::string_view reason) {
  return absl::StrCat(file, " line ", line, ": ", reason);
}

}  // namespace

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

absl::StatusOr<FormatChoice> ChooseFormat(DatasetFormat requested,
                                          const std::vector<std::string>& header,
                                          absl::string_view file, uint64_t header_line) {
  absl::flat_hash_set<std::string> present;
  for (const std::string& column : header) present.insert(absl::AsciiStrToLower(column));
  const std::string header_text = absl::StrJoin(header, ",");

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
                                                header_text, " match it")};
  }

  if (present.contains("address") && present.contains("flag")) {
    for (absl::string_view column : kFeatureColumns) {
      if (present.contains(column)) {
        return absl::InvalidArgumentError(HeaderError(
            file, header_line,
            "this is the behavioural feature format (Address, FLAG and per-address transaction "
            "statistics such as \"Sent tnx\"), which the dataset service does not support yet; "
            "upload an address label list instead"));
      }
    }
  }

  std::vector<DatasetFormat> matches;
  size_t best_size = 0;
  for (DatasetFormat format : KnownFormats()) {
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
                                                 " from header columns ", header_text)};
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
  const std::vector<DatasetFormat> formats = KnownFormats();
  std::vector<std::string> known;
  known.reserve(formats.size());
  for (DatasetFormat format : formats) {
    known.push_back(
        absl::StrCat(FormatName(format), " (", absl::StrJoin(RequiredColumns(format), ","), ")"));
  }
  return absl::InvalidArgumentError(
      HeaderError(file, header_line,
                  absl::StrCat("unknown format: header columns ", header_text,
                               " match none of the known formats: ", absl::StrJoin(known, "; "))));
}

}  // namespace ethscan::dataset

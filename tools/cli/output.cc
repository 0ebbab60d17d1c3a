#include "tools/cli/output.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/text/quote.h"

namespace ethscan::cli {
namespace {

using dataset::v1::DatasetFormat;

// Width of "Contract Type: " plus two columns, so every value starts in the same column.
constexpr size_t kReportLabelWidth = 15;
constexpr size_t kDetailLabelWidth = 20;

std::string OrDash(absl::string_view value) { return value.empty() ? "-" : std::string{value}; }

// Appends "  Label:  first" and then each further line aligned under the first value.
void AppendField(std::string* out, absl::string_view label, const std::vector<std::string>& lines,
                 size_t width) {
  std::string head = absl::StrCat(label, ":");
  head.resize(std::max(width, head.size() + 1), ' ');
  if (lines.empty()) {
    absl::StrAppend(out, "  ", head, "-\n");
    return;
  }
  absl::StrAppend(out, "  ", head, lines[0], "\n");
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::StrAppend(out, "  ", std::string(head.size(), ' '), lines[i], "\n");
  }
}

void AppendField(std::string* out, absl::string_view label, absl::string_view value, size_t width) {
  AppendField(out, label, std::vector<std::string>{OrDash(value)}, width);
}

template <typename Container>
std::vector<std::string> Bulleted(const Container& items) {
  std::vector<std::string> lines;
  for (const auto& item : items) lines.push_back(absl::StrCat("- ", item));
  return lines;
}

// "Legit 300, Unknown 20" from a count map, largest first.
template <typename Map>
std::string FormatCounts(const Map& counts) {
  std::vector<std::pair<std::string, uint64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> parts;
  parts.reserve(sorted.size());
  for (const auto& [name, count] : sorted) {
    parts.push_back(absl::StrCat(name.empty() ? "(unknown)" : name, " ", count));
  }
  return absl::StrJoin(parts, ", ");
}

// "step 3/10  train_loss=0.25 valid_loss=0.3" from a metrics map.
template <typename Map>
std::string FormatMetrics(const Map& metrics) {
  std::map<std::string, double> sorted(metrics.begin(), metrics.end());
  std::string out;
  auto step = sorted.find("step");
  if (step != sorted.end()) {
    out = absl::StrFormat("step %g", step->second);
    auto total = sorted.find("total_steps");
    if (total != sorted.end()) {
      absl::StrAppend(&out, absl::StrFormat("/%g", total->second));
      sorted.erase(total);
    }
    sorted.erase(step);
  }
  std::vector<std::string> parts;
  parts.reserve(sorted.size());
  for (const auto& [name, value] : sorted) {
    parts.push_back(absl::StrFormat("%s=%.6g", name, value));
  }
  if (!parts.empty()) absl::StrAppend(&out, out.empty() ? "" : "  ", absl::StrJoin(parts, " "));
  return out;
}

bool IsSet(const google::protobuf::Timestamp& t) { return t.seconds() != 0 || t.nanos() != 0; }

constexpr absl::string_view kFormatPrefix = "DATASET_FORMAT_";

// An enum value's name without `prefix` ("RISK_LEVEL_HIGH" -> "HIGH"), lowercase when `lower`;
// empty when the name lacks the prefix or nothing follows it (an unknown number).
std::string EnumWord(const std::string& name, absl::string_view prefix, bool lower) {
  absl::string_view view(name);
  if (!absl::ConsumePrefix(&view, prefix) || view.empty()) return "";
  return lower ? absl::AsciiStrToLower(view) : std::string(view);
}

// Every named DatasetFormat value but UNSPECIFIED, in enum order.
std::vector<std::pair<DatasetFormat, std::string>> FormatNames() {
  std::vector<std::pair<DatasetFormat, std::string>> names;
  const google::protobuf::EnumDescriptor* d = dataset::v1::DatasetFormat_descriptor();
  for (int i = 0; i < d->value_count(); ++i) {
    const auto format = static_cast<DatasetFormat>(d->value(i)->number());
    if (format == dataset::v1::DATASET_FORMAT_UNSPECIFIED) continue;
    names.emplace_back(format, EnumWord(d->value(i)->name(), kFormatPrefix, /*lower=*/true));
  }
  return names;
}

// "1 warning", "3 errors".
std::string Plural(uint64_t n, absl::string_view noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

std::string FormatSourcedValue(const dataset::v1::SourcedValue& v) {
  return absl::StrCat(v.value().empty() ? "(empty)" : v.value(), " (", OrDash(v.source()), ")");
}

}  // namespace

std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = false;
  options.preserve_proto_field_names = false;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    // Only possible for messages with unresolvable Any fields, which our protos do not use.
    return absl::StrCat("{\"error\":\"cannot print ", message.GetTypeName(), " as JSON\"}");
  }
  return json;
}

std::string ShortestDecimal(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  for (int digits = 1; digits < 17; ++digits) {
    std::string text = absl::StrFormat("%.*g", digits, value);
    double back = 0;
    if (absl::SimpleAtod(text, &back) && back == value) return text;
  }
  return absl::StrFormat("%.17g", value);
}

std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string{text};
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

std::string FormatRiskLevel(common::v1::RiskLevel level) {
  if (level == common::v1::RISK_LEVEL_UNSPECIFIED) return "-";
  std::string word = EnumWord(common::v1::RiskLevel_Name(level), "RISK_LEVEL_", /*lower=*/false);
  return word.empty() ? absl::StrCat(static_cast<int>(level)) : word;
}

std::string FormatWeiAsEther(absl::string_view wei) {
  if (wei.empty() || !std::all_of(wei.begin(), wei.end(), absl::ascii_isdigit)) {
    return absl::StrCat(OrDash(wei), " wei");
  }
  absl::string_view digits = wei;
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  constexpr size_t kDecimals = 18;
  std::string whole = "0";
  std::string fraction(digits);
  if (digits.size() > kDecimals) {
    whole = std::string{digits.substr(0, digits.size() - kDecimals)};
    fraction = std::string{digits.substr(digits.size() - kDecimals)};
  } else {
    fraction.insert(0, kDecimals - digits.size(), '0');
  }
  fraction.resize(6);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  if (whole == "0" && fraction.empty() && digits != "0") return absl::StrCat(digits, " wei");
  return absl::StrCat(whole, fraction.empty() ? "" : ".", fraction, " ETH");
}

std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp) {
  if (!IsSet(timestamp)) return "-";
  absl::Time t = absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

std::vector<std::string> FormatChainData(const gateway::v1::AddressReport& report) {
  switch (report.chain_data_status()) {
    case gateway::v1::CHAIN_DATA_STATUS_NOT_CONFIGURED:
      return {report.chain_data_error().empty()
                  ? "not configured"
                  : absl::StrCat("not configured: ", report.chain_data_error())};
    case gateway::v1::CHAIN_DATA_STATUS_UNAVAILABLE:
      return {report.chain_data_error().empty()
                  ? "unavailable"
                  : absl::StrCat("unavailable: ", report.chain_data_error())};
    case gateway::v1::CHAIN_DATA_STATUS_OK:
      break;
    default:
      return {"-"};
  }
  const enrichment::v1::ChainProfile& p = report.chain_data();
  std::vector<std::string> lines;
  std::string source = absl::StrCat("from ", OrDash(p.source()));
  if (IsSet(p.fetch_time())) {
    absl::StrAppend(&source, ", fetched ", FormatTimestamp(p.fetch_time()));
  }
  lines.push_back(source);
  if (p.is_contract()) {
    std::string contract = "Smart Contract";
    if (p.source_verified()) {
      absl::StrAppend(&contract, ", verified source");
      if (!p.contract_name().empty()) absl::StrAppend(&contract, " (", p.contract_name(), ")");
    } else {
      absl::StrAppend(&contract, ", source not verified");
    }
    if (!p.creator().empty()) absl::StrAppend(&contract, ", creator ", p.creator());
    lines.push_back(absl::StrCat("Account: ", contract));
  } else if (!p.delegated_to().empty()) {
    lines.push_back(absl::StrCat("Account: EOA delegating to ", p.delegated_to(), " (EIP-7702)"));
  } else {
    lines.push_back("Account: EOA");
  }
  if (!p.balance_wei().empty()) {
    lines.push_back(absl::StrCat("Balance: ", FormatWeiAsEther(p.balance_wei())));
  }
  std::string activity = absl::StrCat("Transactions: ", p.transaction_count());
  if (IsSet(p.first_seen_time()) || IsSet(p.last_seen_time())) {
    absl::StrAppend(&activity, " (first ", FormatTimestamp(p.first_seen_time()), ", last ",
                    FormatTimestamp(p.last_seen_time()), ")");
  }
  lines.push_back(activity);
  if (p.internal_transaction_count() > 0 || p.token_transfer_count() > 0) {
    lines.push_back(absl::StrCat("Internal transactions: ", p.internal_transaction_count(),
                                 ", token transfers: ", p.token_transfer_count()));
  }
  if (p.history_truncated()) {
    lines.push_back(
        "History cut at the configured ceiling: counts and features cover its "
        "oldest part");
  }
  return lines;
}

std::vector<std::string> FormatBehaviour(const inference::v1::BehaviouralScore& b) {
  std::vector<std::string> lines = {absl::StrFormat(
      "score %.3f (threshold %.3f): %s, a behavioural estimate from %d live features (%d missing)",
      b.score(), b.threshold(), OrDash(b.label()), b.features_present(), b.features_missing())};
  for (const inference::v1::FeatureContribution& c : b.top_contributions()) {
    lines.push_back(absl::StrFormat(
        "%+.3f  %s = %s", c.contribution(), c.feature(),
        c.has_value() ? absl::StrFormat("%.6g", c.value()) : std::string("missing")));
  }
  return lines;
}

std::string FormatReport(const gateway::v1::AddressReport& report) {
  std::string out = absl::StrCat(OrDash(report.address()), "\n");
  const size_t w = kReportLabelWidth;
  AppendField(&out, "Name", report.name(), w);
  AppendField(&out, "Account Type", report.account_type(), w);
  AppendField(&out, "Contract Type", report.contract_type(), w);
  AppendField(&out, "Entity", report.entity(), w);
  AppendField(&out, "Label", report.label(), w);
  AppendField(&out, "Tags", absl::StrJoin(report.tags(), ", "), w);
  std::string risk = FormatRiskLevel(report.risk_level());
  if (report.risk_level() != common::v1::RISK_LEVEL_UNSPECIFIED) {
    absl::StrAppend(&risk, absl::StrFormat(" (%.2f)", report.risk_score()));
  }
  AppendField(&out, "Risk", risk, w);
  AppendField(&out, "Description", report.description(), w);
  AppendField(&out, "Next steps", Bulleted(report.next_steps()), w);
  std::vector<std::string> evidence;
  for (const common::v1::Evidence& e : report.evidence()) {
    std::string line = absl::StrCat("- ", OrDash(e.source()), ": ", OrDash(e.claim()));
    if (!e.fields().empty()) absl::StrAppend(&line, " (", absl::StrJoin(e.fields(), ", "), ")");
    if (e.overruled()) absl::StrAppend(&line, " [overruled]");
    evidence.push_back(std::move(line));
  }
  AppendField(&out, "Evidence", evidence, w);
  if (!report.conflicts().empty()) AppendField(&out, "Conflicts", Bulleted(report.conflicts()), w);
  AppendField(&out, "Known", report.known() ? "yes, in the training datasets" : "no", w);
  if (report.chain_id() > 1) AppendField(&out, "Chain ID", absl::StrCat(report.chain_id()), w);
  AppendField(&out, "Chain data", FormatChainData(report), w);
  if (report.has_behaviour())
    AppendField(&out, "Behaviour", FormatBehaviour(report.behaviour()), w);
  AppendField(&out, "Model", report.model(), w);
  return out;
}

std::string DatasetFormatName(DatasetFormat format) {
  if (format == dataset::v1::DATASET_FORMAT_UNSPECIFIED) return "auto";
  std::string word = EnumWord(dataset::v1::DatasetFormat_Name(format), kFormatPrefix, true);
  return word.empty() ? absl::StrCat("format ", static_cast<int>(format)) : word;
}

absl::StatusOr<DatasetFormat> ParseDatasetFormat(absl::string_view name) {
  if (name == "auto") return dataset::v1::DATASET_FORMAT_UNSPECIFIED;
  std::vector<std::string> names;
  for (const auto& [value, known] : FormatNames()) {
    if (name == known) return value;
    names.push_back(known);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown format \"", name, "\"; use auto or one of: ", absl::StrJoin(names, ", ")));
}

std::vector<std::string> UploadFormatNames() {
  std::vector<std::string> names;
  for (const auto& [value, name] : FormatNames()) {
    if (value != dataset::v1::DATASET_FORMAT_MERGED) names.push_back(name);
  }
  return names;
}

std::string FormatBytes(double bytes) {
  if (bytes < 1e3) return absl::StrFormat("%.0f B", bytes);
  if (bytes < 1e6) return absl::StrFormat("%.1f kB", bytes / 1e3);
  if (bytes < 1e9) return absl::StrFormat("%.1f MB", bytes / 1e6);
  return absl::StrFormat("%.2f GB", bytes / 1e9);
}

std::string FormatDataset(const dataset::v1::Dataset& d) {
  std::string out;
  const size_t w = kDetailLabelWidth;
  AppendField(&out, "ID", d.id(), w);
  AppendField(&out, "Name", d.name(), w);
  AppendField(&out, "Format", DatasetFormatName(d.format()), w);
  AppendField(&out, "Chain ID", absl::StrCat(d.chain_id() == 0 ? 1 : d.chain_id()), w);
  AppendField(
      &out, "File",
      absl::StrCat(d.filename().empty() ? "-" : d.filename(), " (", d.size_bytes(), " bytes)"), w);
  AppendField(&out, "SHA-256", d.sha256(), w);
  AppendField(&out, "Lines",
              absl::StrCat(d.line_count(), " (", d.invalid_line_count(), " invalid, skipped)"), w);
  AppendField(&out, "Records", absl::StrCat(d.record_count()), w);
  AppendField(&out, "Addresses", absl::StrCat(d.address_count()), w);
  AppendField(&out, "Labels", FormatCounts(d.label_counts()), w);
  if (d.has_split_origin()) {
    const dataset::v1::SplitOrigin& s = d.split_origin();
    const std::string part = EnumWord(dataset::v1::SplitOrigin::Part_Name(s.part()), "PART_", true);
    AppendField(
        &out, "Split from",
        absl::StrFormat("%s (%s part of %g/%g/%g, seed %d)", s.parent_id(), part,
                        s.train_fraction(), s.validation_fraction(), s.test_fraction(), s.seed()),
        w);
  }
  if (d.has_merge_origin()) {
    const dataset::v1::MergeOrigin& m = d.merge_origin();
    AppendField(&out, "Merged from",
                absl::StrCat(absl::StrJoin(m.parent_ids(), ", "), " (highest priority first; ",
                             Plural(m.conflict_count(), "conflict"), " resolved)"),
                w);
  }
  if (!d.referenced_by().empty()) {
    AppendField(&out, "Referenced by", absl::StrJoin(d.referenced_by(), ", "), w);
  }
  AppendField(&out, "Created", FormatTimestamp(d.create_time()), w);
  return out;
}

namespace {

using IssueList = google::protobuf::RepeatedPtrField<dataset::v1::ValidationIssue>;
using IssueCountList = google::protobuf::RepeatedPtrField<dataset::v1::IssueCount>;

bool IsWarning(dataset::v1::ValidationIssue::Severity severity) {
  return severity == dataset::v1::ValidationIssue::SEVERITY_WARNING;
}

// A string the service sent, as one printable line of bounded length.
std::string Printable(absl::string_view text) { return text::SingleLine(text, 1024); }

std::string KindName(absl::string_view kind) {
  return kind.empty() ? std::string("other") : text::Escape(kind);
}

// "file:line: field: reason (error)" after `indent`.
std::string IssueLine(const dataset::v1::ValidationIssue& issue, absl::string_view indent) {
  return absl::StrCat(indent, OrDash(Printable(issue.file())), ":", issue.line(), ": ",
                      issue.field().empty() ? "" : absl::StrCat(Printable(issue.field()), ": "),
                      Printable(issue.reason()), " (",
                      IsWarning(issue.severity()) ? "warning" : "error", ")\n");
}

// The issues of one kind and severity.
struct KindGroup {
  std::string kind;
  uint64_t count = 0;
  std::vector<const dataset::v1::ValidationIssue*> kept;
};

// The kinds of the warnings (or of the errors), by descending count, then kind.
std::vector<KindGroup> GroupByKind(const IssueList& issues, const IssueCountList& counts,
                                   bool warnings) {
  std::map<std::string, KindGroup> groups;
  for (const dataset::v1::IssueCount& count : counts) {
    if (IsWarning(count.severity()) != warnings) continue;
    KindGroup& group = groups[KindName(count.kind())];
    group.kind = KindName(count.kind());
    group.count += count.count();
  }
  for (const dataset::v1::ValidationIssue& issue : issues) {
    if (IsWarning(issue.severity()) != warnings) continue;
    KindGroup& group = groups[KindName(issue.kind())];
    group.kind = KindName(issue.kind());
    group.kept.push_back(&issue);
  }
  std::vector<KindGroup> sorted;
  for (auto& [kind, group] : groups) {
    // Without counts from the service (or for a kind it did not count) the kept ones count.
    group.count = std::max<uint64_t>(group.count, group.kept.size());
    sorted.push_back(std::move(group));
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const KindGroup& a, const KindGroup& b) { return a.count > b.count; });
  return sorted;
}

}  // namespace

std::string FormatIssues(const IssueList& issues, const IssueCountList& counts,
                         const IssueReportOptions& options) {
  std::string out;
  bool omitted = false;
  for (const bool warnings : {false, true}) {
    const std::vector<KindGroup> groups = GroupByKind(issues, counts, warnings);
    if (groups.empty()) continue;
    absl::StrAppend(&out, warnings ? "Warnings (lines kept):\n" : "Errors (lines skipped):\n");
    if (options.all_issues) {
      uint64_t total = 0;
      uint64_t kept = 0;
      for (const KindGroup& group : groups) total += group.count;
      for (const dataset::v1::ValidationIssue& issue : issues) {
        if (IsWarning(issue.severity()) != warnings) continue;
        absl::StrAppend(&out, IssueLine(issue, "  "));
        ++kept;
      }
      if (total > kept) {
        absl::StrAppend(&out, "  … and ", total - kept,
                        " more that the service did not keep (it keeps at most 1000 issues, "
                        "errors first)\n");
      }
      continue;
    }
    for (const KindGroup& group : groups) {
      absl::StrAppend(&out, "  ", group.kind, ": ", group.count, "\n");
      const size_t shown =
          std::min(group.kept.size(), static_cast<size_t>(std::max(0, options.examples_per_kind)));
      for (size_t i = 0; i < shown; ++i) absl::StrAppend(&out, IssueLine(*group.kept[i], "    "));
      if (shown == 0) {
        absl::StrAppend(&out, "    (none among the issues the service kept)\n");
      } else if (group.count > shown) {
        absl::StrAppend(&out, "    … and ", group.count - shown, " more\n");
        omitted = omitted || group.kept.size() > shown;
      }
    }
  }
  if (omitted) absl::StrAppend(&out, "(--all-issues prints every issue the service kept)\n");
  return out;
}

std::string FormatDatasetStats(const dataset::v1::GetDatasetStatsResponse& s) {
  std::string out;
  const size_t w = kDetailLabelWidth;
  AppendField(&out, "ID", s.id(), w);
  AppendField(&out, "Records", absl::StrCat(s.record_count()), w);
  AppendField(&out, "Addresses", absl::StrCat(s.address_count()), w);
  AppendField(&out, "Labels", FormatCounts(s.label_counts()), w);
  AppendField(&out, "Account types", FormatCounts(s.account_type_counts()), w);
  AppendField(&out, "Duplicates", absl::StrCat(s.duplicate_address_count(), " addresses"), w);
  AppendField(&out, "Conflicts", absl::StrCat(s.conflicting_address_count(), " addresses"), w);
  AppendField(&out, "Sources", FormatCounts(s.source_counts()), w);
  AppendField(&out, "Overlap",
              absl::StrCat(s.multi_source_address_count(), " addresses in more than one source"),
              w);
  std::vector<std::string> coverage;
  for (const dataset::v1::FeatureCoverage& f : s.feature_coverage()) {
    coverage.push_back(
        absl::StrFormat("%s: %d records (%.1f%%)", f.name(), f.record_count(), 100 * f.share()));
  }
  AppendField(&out, "Feature coverage",
              coverage.empty() ? std::vector<std::string>{"none"} : coverage, w);
  if (s.has_chat_export()) {
    const dataset::v1::ChatExportStats& c = s.chat_export();
    AppendField(&out, "Chat export",
                absl::StrFormat("%d examples, %d tokens (per example min %d, mean %.1f, max %d)",
                                c.example_count(), c.total_tokens(), c.min_example_tokens(),
                                c.mean_example_tokens(), c.max_example_tokens()),
                w);
    AppendField(
        &out, "Token limit",
        absl::StrCat(c.example_token_limit(), " per example, ", c.examples_over_limit(), " over it",
                     c.examples_over_limit() > 0 ? " (the export refuses these)" : ""),
        w);
    AppendField(&out, "Cost per epoch",
                c.price_per_million_tokens() > 0
                    ? absl::StrFormat("%.2f (at %g per million tokens)",
                                      c.estimated_cost_per_epoch(), c.price_per_million_tokens())
                    : "- (give --price-per-million-tokens P for an estimate)",
                w);
    AppendField(&out, "Token counting", c.token_counting(), w);
  }
  return out;
}

std::string FormatValidationReport(absl::string_view format_detection,
                                   const dataset::v1::Dataset& dataset, const IssueList& issues,
                                   const IssueCountList& counts,
                                   const IssueReportOptions& options) {
  std::string out;
  if (!format_detection.empty())
    absl::StrAppend(&out, "Format detection: ", format_detection, "\n");
  absl::StrAppend(&out, FormatDataset(dataset));
  if (issues.empty() && counts.empty()) {
    absl::StrAppend(&out, "Issues: none\n");
    return out;
  }
  uint64_t errors = 0;
  uint64_t warnings = 0;
  for (const bool warning : {false, true}) {
    for (const KindGroup& group : GroupByKind(issues, counts, warning)) {
      (warning ? warnings : errors) += group.count;
    }
  }
  absl::StrAppend(&out, "Issues: ", errors + warnings, " reported (", Plural(errors, "error"),
                  ": lines skipped, ", Plural(warnings, "warning"), ": lines kept)\n",
                  FormatIssues(issues, counts, options));
  return out;
}

std::string FormatMergeConflicts(const dataset::v1::MergeDatasetsResponse& merge, int limit) {
  std::string out = absl::StrCat("Conflicts resolved: ", merge.conflict_count(), "\n");
  std::vector<std::vector<std::string>> rows;
  for (const dataset::v1::MergeConflict& c : merge.conflicts()) {
    if (limit > 0 && rows.size() == static_cast<size_t>(limit)) break;
    std::vector<std::string> overruled;
    for (const dataset::v1::SourcedValue& v : c.overruled()) {
      overruled.push_back(FormatSourcedValue(v));
    }
    rows.push_back({c.address(), c.field(), FormatSourcedValue(c.chosen()),
                    OrDash(absl::StrJoin(overruled, "; ")), OrDash(c.rule())});
  }
  if (!rows.empty()) {
    absl::StrAppend(
        &out,
        FormatTable({"ADDRESS", "FIELD", "CHOSEN (SOURCE)", "OVERRULED (SOURCES)", "RULE"}, rows));
  }
  const uint64_t listed = static_cast<uint64_t>(merge.conflicts_size());
  if (rows.size() < listed) {
    absl::StrAppend(&out, "… and ", listed - rows.size(),
                    " more (--show-conflicts 0 prints them all, --json the full response)\n");
  }
  if (listed < merge.conflict_count()) {
    absl::StrAppend(&out, "The service listed ", listed, " of ", merge.conflict_count(),
                    " conflicts; every conflict is kept as evidence in the merged records.\n");
  }
  return out;
}

std::string FormatDatasetTable(const std::vector<dataset::v1::Dataset>& datasets) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(datasets.size());
  for (const dataset::v1::Dataset& d : datasets) {
    rows.push_back({d.id(), d.name(), DatasetFormatName(d.format()), absl::StrCat(d.record_count()),
                    absl::StrCat(d.address_count()), absl::StrCat(d.invalid_line_count()),
                    FormatTimestamp(d.create_time())});
  }
  return FormatTable({"ID", "NAME", "FORMAT", "RECORDS", "ADDRESSES", "INVALID", "CREATED"}, rows);
}

std::string JobStatusName(training::v1::JobStatus status) {
  std::string word = EnumWord(training::v1::JobStatus_Name(status), "JOB_STATUS_", true);
  return word.empty() ? absl::StrCat("status ", static_cast<int>(status)) : word;
}

namespace {

// The hyperparameters a job asked for, "name value" for each one set, in field order; "auto"
// for all when none is.
std::string FormatRequestedHyperparameters(const training::v1::Hyperparameters& h) {
  std::vector<std::string> parts;
  auto add = [&parts](absl::string_view name, bool set, double value) {
    if (set) parts.push_back(absl::StrFormat("%s %g", name, value));
  };
  add("n_epochs", h.has_n_epochs() && h.n_epochs() != 0, h.n_epochs());
  add("learning_rate_multiplier",
      h.has_learning_rate_multiplier() && h.learning_rate_multiplier() != 0,
      h.learning_rate_multiplier());
  add("seed", h.has_seed() && h.seed() != 0, static_cast<double>(h.seed()));
  add("learning_rate", h.has_learning_rate(), h.learning_rate());
  add("batch_size", h.has_batch_size(), static_cast<double>(h.batch_size()));
  add("max_depth", h.has_max_depth(), h.max_depth());
  add("min_child_weight", h.has_min_child_weight(), h.min_child_weight());
  add("colsample", h.has_colsample(), h.colsample());
  add("scale_pos_weight", h.has_scale_pos_weight(), h.scale_pos_weight());
  add("early_stopping_patience", h.has_early_stopping_patience(), h.early_stopping_patience());
  if (!h.feature_set().empty()) parts.push_back(absl::StrCat("feature_set ", h.feature_set()));
  if (h.evaluate_other_feature_set()) parts.emplace_back("evaluate_other_feature_set");
  if (parts.empty()) return "auto";
  return absl::StrCat(absl::StrJoin(parts, ", "), " (the others auto)");
}

// "name value" lines of a number map, sorted by name.
template <typename Map>
std::vector<std::string> NamedValueLines(const Map& values) {
  std::map<std::string, double> sorted(values.begin(), values.end());
  size_t width = 0;
  for (const auto& [name, value] : sorted) width = std::max(width, name.size());
  std::vector<std::string> lines;
  lines.reserve(sorted.size());
  for (const auto& [name, value] : sorted) {
    lines.push_back(absl::StrFormat("%-*s  %.6g", static_cast<int>(width), name, value));
  }
  return lines;
}

}  // namespace

std::string FormatJob(const training::v1::Job& job) {
  std::string out = absl::StrCat("Job ", OrDash(job.id()), "\n");
  const size_t w = kDetailLabelWidth;
  AppendField(&out, "Status", JobStatusName(job.status()), w);
  AppendField(&out, "Base model", job.base_model(), w);
  AppendField(&out, "Suffix", job.suffix(), w);
  AppendField(&out, "Backend", job.backend(), w);
  AppendField(&out, "Training dataset", job.training_dataset(), w);
  if (!job.extra_training_datasets().empty()) {
    AppendField(&out, "Extra datasets", absl::StrJoin(job.extra_training_datasets(), ", "), w);
  }
  AppendField(&out, "Validation dataset", job.validation_dataset(), w);
  AppendField(&out, "Test dataset", job.test_dataset(), w);
  AppendField(&out, "Hyperparameters", FormatRequestedHyperparameters(job.hyperparameters()), w);
  if (job.queue_position() > 0) {
    AppendField(&out, "Queue position", absl::StrCat(job.queue_position()), w);
  }
  if (job.total_steps() > 0 || job.step() > 0) {
    AppendField(&out, "Step", absl::StrCat(job.step(), "/", job.total_steps()), w);
  }
  if (job.has_estimated_finish()) {
    AppendField(&out, "Estimated finish", FormatTimestamp(job.estimated_finish()), w);
  }
  if (!job.hyperparameters_used().empty()) {
    AppendField(&out, "Used", NamedValueLines(job.hyperparameters_used()), w);
  }
  AppendField(&out, "Fine-tuned model", job.fine_tuned_model(), w);
  if (job.has_remote()) {
    // Backend "openai": the remote job as the worker mirrors it.
    const training::v1::RemoteJob& r = job.remote();
    std::vector<std::string> lines = {absl::StrCat("endpoint ", OrDash(r.endpoint()))};
    if (!r.model().empty()) lines.push_back(absl::StrCat("model    ", r.model()));
    if (!r.training_file().empty()) {
      lines.push_back(
          absl::StrCat("training ", r.training_file(), " (", r.training_examples(), " examples)"));
    }
    if (!r.validation_file().empty()) {
      lines.push_back(absl::StrCat("valid.   ", r.validation_file(), " (", r.validation_examples(),
                                   " examples)"));
    }
    if (!r.id().empty()) {
      lines.push_back(absl::StrCat("job      ", r.id(), " (", OrDash(r.status()), ")"));
    }
    if (r.trained_tokens() > 0) lines.push_back(absl::StrCat("tokens   ", r.trained_tokens()));
    AppendField(&out, "Remote", lines, w);
  }
  if (!job.error().empty()) AppendField(&out, "Error", job.error(), w);
  if (job.has_failure()) {
    AppendField(&out, "Error code",
                job.failure().param().empty()
                    ? job.failure().code()
                    : absl::StrCat(job.failure().code(), " (param ", job.failure().param(), ")"),
                w);
  }
  if (!job.metadata().empty()) {
    std::vector<std::string> pairs;
    for (const auto& [key, value] : job.metadata()) pairs.push_back(absl::StrCat(key, "=", value));
    std::sort(pairs.begin(), pairs.end());
    AppendField(&out, "Metadata", absl::StrJoin(pairs, ", "), w);
  }
  if (job.seed() != 0) AppendField(&out, "Seed", absl::StrCat(job.seed()), w);
  if (!job.idempotency_key().empty()) {
    AppendField(&out, "Idempotency key", job.idempotency_key(), w);
  }
  AppendField(&out, "Created", FormatTimestamp(job.create_time()), w);
  AppendField(&out, "Started", FormatTimestamp(job.start_time()), w);
  AppendField(&out, "Finished", FormatTimestamp(job.finish_time()), w);
  AppendField(&out, "Attempts", absl::StrCat(job.attempts()), w);
  AppendField(&out, "Trained records", absl::StrCat(job.trained_records()), w);
  if (job.trained_examples() > 0) {
    AppendField(&out, "Trained examples", absl::StrCat(job.trained_examples()), w);
  }
  return out;
}

bool IsStepEvent(const training::v1::JobEvent& event) {
  return event.type() == "metrics" && event.metrics().count("step") > 0 &&
         absl::StartsWith(event.message(), "Step ");
}

std::string FormatJobEvent(const training::v1::JobEvent& event) {
  std::string level = OrDash(event.level());
  level.resize(std::max<size_t>(level.size(), 7), ' ');
  std::string text = event.message();
  if (!IsStepEvent(event) &&
      (event.type() == "metrics" || (text.empty() && !event.metrics().empty()))) {
    std::string metrics = FormatMetrics(event.metrics());
    text = text.empty() ? metrics : absl::StrCat(text, "  ", metrics);
  }
  std::string out = absl::StrCat(FormatTimestamp(event.create_time()), "  ", level, "  ", text);
  if (event.status() != training::v1::JOB_STATUS_UNSPECIFIED) {
    absl::StrAppend(&out, " [", JobStatusName(event.status()), "]");
  }
  return out;
}

std::string TrainingBar(int64_t step, int64_t total, const training::v1::Job& job, int bar_width) {
  const int64_t filled =
      total <= 0 ? 0 : std::clamp<int64_t>(step * bar_width / total, 0, bar_width);
  std::string bar = "[";
  for (int64_t i = 0; i < bar_width; ++i) absl::StrAppend(&bar, i < filled ? "#" : "\u00b7");
  absl::StrAppend(&bar, "]  ", step, "/", total);
  if (job.has_estimated_finish()) {
    absl::StrAppend(&bar, "  ETA ", FormatTimestamp(job.estimated_finish()));
  }
  return bar;
}

std::string WithEstimatedFinish(const std::string& line, const training::v1::Job& job) {
  if (!job.has_estimated_finish() || !absl::StrContains(line, "  Step ")) return line;
  return absl::StrCat(line, "  ETA ", FormatTimestamp(job.estimated_finish()));
}

std::vector<std::string> WatchEventFilter::Add(const training::v1::JobEvent& event) {
  std::vector<std::string> lines;
  if (!IsStepEvent(event)) {
    if (!held_step_.empty()) lines.push_back(std::exchange(held_step_, ""));
    lines.push_back(FormatJobEvent(event));
    return lines;
  }
  const auto metric = [&event](const char* name) {
    auto it = event.metrics().find(name);
    return it == event.metrics().end() ? 0.0 : it->second;
  };
  const int64_t step = static_cast<int64_t>(metric("step"));
  const int64_t total = static_cast<int64_t>(metric("total_steps"));
  if ((step_interval_ > 0 && step % step_interval_ == 0) || (total > 0 && step >= total)) {
    held_step_.clear();
    lines.push_back(FormatJobEvent(event));
  } else {
    held_step_ = FormatJobEvent(event);
  }
  return lines;
}

std::vector<std::string> WatchEventFilter::Finish() {
  std::vector<std::string> lines;
  if (!held_step_.empty()) lines.push_back(std::exchange(held_step_, ""));
  return lines;
}

std::string FormatJobTable(const std::vector<training::v1::Job>& jobs) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(jobs.size());
  for (const training::v1::Job& j : jobs) {
    rows.push_back({j.id(), JobStatusName(j.status()), OrDash(j.suffix()),
                    OrDash(j.fine_tuned_model()), FormatTimestamp(j.create_time())});
  }
  return FormatTable({"ID", "STATUS", "SUFFIX", "MODEL", "CREATED"}, rows);
}

std::string FormatCheckpointTable(const std::vector<training::v1::Checkpoint>& checkpoints) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(checkpoints.size());
  for (const training::v1::Checkpoint& c : checkpoints) {
    const auto metric = [&c](const char* name) -> std::string {
      auto it = c.metrics().find(name);
      return it == c.metrics().end() ? "-" : absl::StrFormat("%.4f", it->second);
    };
    rows.push_back({absl::StrCat(c.step()), OrDash(c.model()), metric("train_loss"),
                    metric("valid_loss"), FormatTimestamp(c.create_time())});
  }
  return FormatTable({"STEP", "MODEL", "TRAIN_LOSS", "VALID_LOSS", "CREATED"}, rows);
}

std::string FormatDeadLetterTable(const std::vector<training::v1::DeadLetter>& dead) {
  if (dead.empty()) return "(no job failed for good)\n";
  std::vector<std::vector<std::string>> rows;
  rows.reserve(dead.size());
  for (const training::v1::DeadLetter& d : dead) {
    rows.push_back({FormatTimestamp(d.create_time()), OrDash(d.job_id()),
                    absl::StrCat(d.attempts()), OrDash(d.error())});
  }
  return FormatTable({"FAILED", "JOB", "ATTEMPTS", "ERROR"}, rows);
}

std::string FormatModel(const training::v1::Model& m) {
  std::string out = absl::StrCat("Model ", OrDash(m.name()), "\n");
  const size_t w = kDetailLabelWidth;
  AppendField(&out, "Kind", m.kind(), w);
  AppendField(&out, "Aliases", absl::StrJoin(m.aliases(), ", "), w);
  AppendField(&out, "Job", m.job_id(), w);
  AppendField(&out, "Base model", m.base_model(), w);
  AppendField(&out, "Training datasets", absl::StrJoin(m.training_datasets(), ", "), w);
  AppendField(&out, "Addresses", absl::StrCat(m.address_count()), w);
  AppendField(&out, "Size", absl::StrCat(m.size_bytes(), " bytes"), w);
  AppendField(&out, "SHA-256", m.sha256(), w);
  AppendField(&out, "Created", FormatTimestamp(m.create_time()), w);
  return out;
}

std::string FormatModelTable(const std::vector<training::v1::Model>& models) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(models.size());
  for (const training::v1::Model& m : models) {
    rows.push_back({m.name(), OrDash(m.kind()), absl::StrCat(m.address_count()),
                    OrDash(absl::StrJoin(m.aliases(), ",")), FormatTimestamp(m.create_time())});
  }
  return FormatTable({"NAME", "KIND", "ADDRESSES", "ALIASES", "CREATED"}, rows);
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return "(none)\n";
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto append_row = [&out, &widths](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  };
  append_row(header);
  for (const auto& row : rows) append_row(row);
  return out;
}

}  // namespace ethscan::cli

// Text the `ethscan` client prints: readable risk reports, dataset, job and model summaries,
// tables, and protobuf JSON lines for --json. Pure functions of their arguments (no I/O),
// safe to call from any thread. Every multi-line result ends with a newline.
#ifndef ETHSCAN_TOOLS_CLI_OUTPUT_H_
#define ETHSCAN_TOOLS_CLI_OUTPUT_H_

#include <google/protobuf/message.h>
#include <google/protobuf/repeated_ptr_field.h>
#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/common/v1/common.pb.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"
#include "ethscan/enrichment/v1/enrichment_service.pb.h"
#include "ethscan/gateway/v1/scan_service.pb.h"
#include "ethscan/training/v1/model_registry_service.pb.h"
#include "ethscan/training/v1/training_service.pb.h"

namespace ethscan::cli {

// `message` as protobuf JSON on one line (lowerCamelCase names, enums by name, default values
// left out), without a trailing newline.
std::string ToJsonLine(const google::protobuf::Message& message);

// The readable risk report of one address:
//   0x1f98…
//     Name:          Uniswap (UNI)
//     …
//     Model:         ft:ethscan-base:demo:ftjob-…
// Empty fields print as "-".
std::string FormatReport(const gateway::v1::AddressReport& report);

// "LOW", "MEDIUM", "HIGH", "CRITICAL"; "-" for unspecified.
std::string FormatRiskLevel(common::v1::RiskLevel level);

// The "Chain data" lines of a report: "unavailable: <reason>", "not configured", or the
// profile's key facts (several lines, each without indentation).
std::vector<std::string> FormatChainData(const gateway::v1::AddressReport& report);

// A behavioural score: the score, threshold and label on the first line, then one line per
// top feature contribution ("+0.412  sent_tnx = 5").
std::vector<std::string> FormatBehaviour(const inference::v1::BehaviouralScore& behaviour);

// A wei amount (decimal string) in ether, truncated to 6 decimals: "1.5 ETH", "0 ETH",
// "12 wei" when below 0.000001 ETH. Text that is not a decimal number is returned with " wei".
std::string FormatWeiAsEther(absl::string_view wei);

// "2026-01-02 03:04:05 UTC"; "-" when unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp);

// The CLI's name of a dataset format: the enum value's name without "DATASET_FORMAT_", in
// lowercase ("etherscan_labels", "csv_mapping"); "auto" for unspecified.
std::string DatasetFormatName(dataset::v1::DatasetFormat format);
// Parses a CLI format name ("auto" is unspecified); INVALID_ARGUMENT listing the valid names
// otherwise.
absl::StatusOr<dataset::v1::DatasetFormat> ParseDatasetFormat(absl::string_view name);
// The names of the formats a file can be uploaded as, in enum order (every format but
// "merged", which only DatasetService.MergeDatasets makes).
std::vector<std::string> UploadFormatNames();

// The shortest decimal text that reads back as exactly `value`: "0.25", "0.123456789",
// "1e-07"; "nan", "inf" and "-inf" for those.
std::string ShortestDecimal(double value);

// `text` as one RFC 4180 CSV field: in double quotes (inner quotes doubled) when it holds a
// comma, a quote or a line break, else as is.
std::string CsvField(absl::string_view text);

// "512 B", "12.3 kB", "480.0 MB", "1.02 GB" (decimal units, as in MB/s).
std::string FormatBytes(double bytes);

// A dataset's metadata, one "  Key: value" line per field; the split origin, merge origin and
// referencing jobs and models when set.
std::string FormatDataset(const dataset::v1::Dataset& dataset);
// How a validation report prints its issues.
struct IssueReportOptions {
  // Examples printed under each kind in the grouped summary.
  int examples_per_kind = 3;
  // Every issue the service kept instead of the grouped summary (errors first, then
  // warnings, each in line order).
  bool all_issues = false;
};
// The issues of an upload or a validation, errors first ("Errors (lines skipped):"), then
// warnings ("Warnings (lines kept):"). By default each is grouped by kind, "  kind: count"
// (counts from `counts`, the service's complete IssueCounts, or from the kept issues when it
// sent none) by descending count, with the first `examples_per_kind` kept issues of the kind
// as "    file:line: field: reason (error|warning)". With `all_issues` every kept issue is
// printed. The service's strings are printed escaped, one line each. Empty when there are no
// issues.
std::string FormatIssues(
    const google::protobuf::RepeatedPtrField<dataset::v1::ValidationIssue>& issues,
    const google::protobuf::RepeatedPtrField<dataset::v1::IssueCount>& counts,
    const IssueReportOptions& options);
// The report of an upload or a validation: "Format detection: …", the dataset, then
// "Issues: N reported (E errors: lines skipped, W warnings: lines kept)" and FormatIssues.
std::string FormatValidationReport(
    absl::string_view format_detection, const dataset::v1::Dataset& dataset,
    const google::protobuf::RepeatedPtrField<dataset::v1::ValidationIssue>& issues,
    const google::protobuf::RepeatedPtrField<dataset::v1::IssueCount>& counts,
    const IssueReportOptions& options);
// Statistics of a dataset: counts and distributions, sources and their overlap, feature
// coverage, and the chat export's tokens and estimated cost per epoch.
std::string FormatDatasetStats(const dataset::v1::GetDatasetStatsResponse& stats);
// The conflict report of a merge: "Conflicts resolved: N", then up to `limit` conflicts (all
// when `limit` is 0) as a table ADDRESS, FIELD, CHOSEN (SOURCE), OVERRULED (SOURCES), RULE, and
// how many were left out.
std::string FormatMergeConflicts(const dataset::v1::MergeDatasetsResponse& merge, int limit);
// One row per dataset (ID, NAME, FORMAT, RECORDS, ADDRESSES, INVALID, CREATED).
std::string FormatDatasetTable(const std::vector<dataset::v1::Dataset>& datasets);

// "queued", "succeeded", …, as the OpenAI fine-tuning vocabulary spells them.
std::string JobStatusName(training::v1::JobStatus status);
// A job's fields, one per line: the hyperparameters asked for (unset ones are "auto"), and
// once training ran the step reached and the hyperparameters it used.
std::string FormatJob(const training::v1::Job& job);
// True for the per-round metrics event of training ("Step 120/300: training loss=…").
bool IsStepEvent(const training::v1::JobEvent& event);
// One line: "2026-01-02 03:04:05 UTC  info     message [status]". A step event prints its
// message only; another metrics event adds its metrics ("step 3/10  train_loss=0.1234 …"),
// which stand alone when it has no message.
std::string FormatJobEvent(const training::v1::JobEvent& event);

// The progress bar `jobs watch` draws on a terminal's stderr while a job trains, e.g.
//   [########············]  120/300  ETA 03:10:04 UTC
// (`bar_width` cells; no ETA before the job has one).
std::string TrainingBar(int64_t step, int64_t total, const training::v1::Job& job,
                        int bar_width = 20);

// A `jobs watch` line of a training step with the job's estimated finish appended ("  ETA
// 2026-12-02 03:10:04 UTC") while the job has one; other lines as they are.
std::string WithEstimatedFinish(const std::string& line, const training::v1::Job& job);

// Chooses which events a watch prints: every event but the step events, of which only every
// `step_interval`-th step, the last step (total_steps) and the latest one before another
// event or the end. Not thread-safe.
class WatchEventFilter {
 public:
  explicit WatchEventFilter(int step_interval = 50) : step_interval_(step_interval) {}
  // The lines (FormatJobEvent) to print now for `event`.
  std::vector<std::string> Add(const training::v1::JobEvent& event);
  // The held-back step line, if any, once the stream ends.
  std::vector<std::string> Finish();

 private:
  const int step_interval_;
  std::string held_step_;
};
// One row per job (ID, STATUS, SUFFIX, MODEL, CREATED).
std::string FormatJobTable(const std::vector<training::v1::Job>& jobs);
// One row per checkpoint (STEP, MODEL, TRAIN_LOSS, VALID_LOSS, CREATED).
// FAILED, JOB, ATTEMPTS, ERROR; a line saying so when there is none.
std::string FormatDeadLetterTable(const std::vector<training::v1::DeadLetter>& dead);

std::string FormatCheckpointTable(const std::vector<training::v1::Checkpoint>& checkpoints);

// A model's fields, one per line.
std::string FormatModel(const training::v1::Model& model);
// One row per model (NAME, KIND, ADDRESSES, ALIASES, CREATED).
std::string FormatModelTable(const std::vector<training::v1::Model>& models);

// A left-aligned table with a header row, columns two spaces apart. "(none)" when `rows` is
// empty.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_OUTPUT_H_

// The streaming ingest of one uploaded file: it hashes the bytes, parses them as CSV or as JSON
// Lines, chooses the format, maps every row or line to canonical records, hands the records to
// a sink, and accumulates the dataset's counts and the issues found. Nothing is buffered beyond
// the current row (and, for a JSON Lines file fed in large chunks, the one chunk held back while
// the next is hashed and mapped ahead on a second thread), so files of any size within the
// limit stream through in constant memory (plus one entry per distinct address, for the address
// count).
//
// CSV or JSON Lines: a requested format decides; with DATASET_FORMAT_UNSPECIFIED a file whose
// first character (after a byte-order mark and blank space) is '{' is read as JSON Lines and
// its format detected from the first line (jsonl_mapper.h), any other file as CSV with the
// format detected from the header (dataset_format.h). Without a format, a column mapping in
// the options implies DATASET_FORMAT_CSV_MAPPING and a label or tags imply
// DATASET_FORMAT_ADDRESS_LIST. An address list without a header has its first line mapped as
// a record (its surrounding whitespace, trimmed by the CSV reader, is not reported).
//
// The content-addressed dataset id is "ds-" + the first 16 hex digits of SHA-256 over
// (format name + "\n" + dataset name + "\n" + chain id + "\n" + parameters + the file's
// SHA-256 in 64 lowercase hex digits, the dataset's `sha256`), so the bytes are hashed once and
// the same bytes read as the same format under the same name and chain always get the same id,
// whether the format was given or detected, while other bytes (another digest) or another
// format, name, chain or parameters get another id. `parameters` is empty for every format but two,
// where it is its length in decimal + "\n" + its bytes: for DATASET_FORMAT_CSV_MAPPING the
// mapping's deterministic serialization, for DATASET_FORMAT_ADDRESS_LIST "label\n" + label +
// "\ntags" + "\n" + tag for each tag (label and tags trimmed). So the same bytes under another
// mapping, label or tags get another id.
//
// Thread-safety: not thread-safe; one pipeline per upload.
#ifndef ETHSCAN_SERVICES_DATASET_INGEST_PIPELINE_H_
#define ETHSCAN_SERVICES_DATASET_INGEST_PIPELINE_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/eth/address.h"
#include "common/eth/hash.h"
#include "common/report/labels.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"
#include "services/dataset/csv_reader.h"
#include "services/dataset/dataset_format.h"
#include "services/dataset/jsonl_mapper.h"
#include "services/dataset/jsonl_reader.h"
#include "services/dataset/record_mapper.h"
#include "services/dataset/record_store.h"

namespace ethscan::dataset {

// Settings of one ingest; the upload metadata after defaults were applied.
struct IngestOptions {
  // Dataset name; also the records' `source`.
  std::string name;
  // Requested format; UNSPECIFIED detects it from the header.
  v1::DatasetFormat format = v1::DATASET_FORMAT_UNSPECIFIED;
  // Chain id of every record (never 0).
  uint64_t chain_id = 1;
  // Original file name; messages use `name` when it is empty.
  std::string filename;
  // Largest share of invalid lines (0..1] before the file is rejected.
  double max_invalid_fraction = 0.05;
  // Largest file accepted, in bytes.
  uint64_t max_bytes = uint64_t{1} << 30;
  // Issues kept in the result, ERRORs in preference to WARNINGs (the counts stay complete).
  size_t max_issues = 1000;
  // Longest CSV row or JSON line accepted, in bytes.
  size_t max_row_bytes = 1 << 20;
  // Most records the file may yield; RESOURCE_EXHAUSTED as soon as it yields more.
  uint64_t max_records = uint64_t{100} << 20;
  // DATASET_FORMAT_CSV_MAPPING only (required there): how the columns map onto records.
  std::optional<v1::ColumnMapping> column_mapping;
  // DATASET_FORMAT_ADDRESS_LIST only (label required there): the report label and the tags of
  // every address.
  std::string label;
  std::vector<std::string> tags;
  // Size limits of one record, in characters (UTF-8 code points), which keep the stored size
  // proportional to the input: a constant of the request (a tag or the label of an address
  // list, a mapping's constant or translated value) is copied into every record. A record over
  // a limit is an ERROR issue naming the line and the field, and its line is skipped; a
  // request value over a limit makes the request INVALID_ARGUMENT before anything is read.
  // Longest tag.
  size_t max_tag_chars = 128;
  // Most tags of one record.
  size_t max_tags = 32;
  // Longest name, account type, contract type, entity, label, original label, source,
  // feature name and text feature.
  size_t max_field_chars = 256;
  // Longest note.
  size_t max_note_chars = 1024;
};

// Checks the format-specific options before any byte is read: a column mapping only with
// DATASET_FORMAT_CSV_MAPPING (or no format) and valid (ValidateColumnMapping), which that
// format requires; a label and tags only with DATASET_FORMAT_ADDRESS_LIST (or no format), the
// label a report label (nearest one suggested), which that format requires; never
// DATASET_FORMAT_MERGED; the label, the tags and the mapping's constant and translated values
// within the size limits. INVALID_ARGUMENT naming the UploadMetadata field.
absl::Status ValidateIngestOptions(const IngestOptions& options);

// What the ingest found so far (complete after Finish).
struct IngestResult {
  // The dataset's metadata: everything but create_time. `id` is set by Finish.
  v1::Dataset dataset;
  // How the format was chosen, in words; empty before the header was read.
  std::string format_detection;
  // At most `max_issues` issues in line order: the first ones, with later ERRORs displacing
  // the latest WARNINGs once the list is full.
  std::vector<v1::ValidationIssue> issues;
  // Issues per severity and kind over the whole file (ERRORs first, then by descending count
  // and kind); complete after Finish or a rejection.
  std::vector<v1::IssueCount> issue_counts;
  // Why the file is rejected, with file, line and reason; empty when it is accepted.
  std::string rejection;
};

class IngestPipeline : private CsvReader::Handler,
                       private JsonlReader::Handler,
                       private AddressCaseMemo {
 public:
  // `sink` (not owned, may be null for a dry run) receives the records in file order. Options
  // that fail ValidateIngestOptions make every call fail with that error.
  IngestPipeline(IngestOptions options, RecordSink* sink);

  // Processes the next bytes of the file. INVALID_ARGUMENT when the file is rejected (the
  // reason is also in result().rejection), RESOURCE_EXHAUSTED when the file grows past
  // max_bytes, or the sink's error. After an error the pipeline must not be fed again.
  absl::Status AddChunk(absl::string_view chunk);
  // AddChunk, taking the bytes: a JSON Lines file is then parsed one chunk behind while the
  // next one is hashed and mapped ahead on a second thread (JsonlLookahead), with no copy.
  absl::Status TakeChunk(std::string chunk);
  // Ends the file and applies the whole-file checks (a header and at least one data row, the
  // invalid-line share). INVALID_ARGUMENT when the file is rejected.
  absl::Status Finish();

  const IngestResult& result() const { return result_; }
  // The name used for the file in messages.
  const std::string& display_name() const { return display_name_; }

 private:
  // How the bytes are read.
  enum class Mode { kUndecided, kCsv, kJsonl };
  static Mode ModeFor(v1::DatasetFormat requested);
  // The requested format, or the one the options imply when none was requested.
  static v1::DatasetFormat EffectiveFormat(const IngestOptions& options);
  // The format parameters hashed into the id (see the file comment).
  std::string IdParameters(v1::DatasetFormat format) const;

  absl::Status OnHeader(uint64_t line, const std::vector<std::string>& columns) override;
  absl::Status OnRow(const CsvRow& row) override;
  absl::Status OnMalformedRow(uint64_t line, absl::string_view reason) override;
  absl::Status OnLine(uint64_t line, absl::string_view text, bool has_line_break) override;

  // Hands bytes to the reader of the mode, deciding the mode first while it is undecided.
  absl::Status Feed(absl::string_view bytes);
  absl::Status FeedDecided(absl::string_view bytes);
  // Records the chosen format and starts the id hash.
  void StartFormat(const FormatChoice& choice);
  // Counts the mapped line in line_result_ and writes its records.
  absl::Status AcceptLine();
  // ERRORs for the records of line_result_ that pass a size limit; true when all are within.
  bool CheckLimits();
  // Counts the issue and keeps it while there is room (or a WARNING to displace).
  void AddIssue(v1::ValidationIssue issue);
  // Counts an issue that is not kept (its text is not built).
  void CountIssue(v1::ValidationIssue::Severity severity, absl::string_view kind);
  // Fills result_.issue_counts from issue_counts_.
  void FillIssueCounts();
  absl::Status Reject(absl::Status status);
  // Fails once the pipeline failed or finished, or when `size` more bytes pass max_bytes;
  // otherwise counts them.
  absl::Status CheckChunk(size_t size);
  // Whether a chunk of `chunk_size` bytes goes through lookahead_ (made on the first such).
  bool UsesLookahead(size_t chunk_size) const;

  const IngestOptions options_;
  const std::string display_name_;
  RecordSink* const sink_;
  // options_.format, or the format the options imply.
  const v1::DatasetFormat format_;
  Mode mode_;
  // The first bytes of the file while the mode is undecided.
  std::string sniff_;
  CsvReader reader_;
  JsonlReader jsonl_reader_;
  std::unique_ptr<RecordMapper> mapper_;
  std::unique_ptr<JsonlMapper> jsonl_mapper_;
  // SHA-256 of the file bytes: the dataset's `sha256`, and with id_header_ its id.
  eth::Sha256 file_sha_;
  // What the id hashes before the file's digest (format, name, chain, parameters); set when
  // the format is known.
  std::string id_header_;
  // Distinct addresses among the records, as 20-byte values.
  // What the first record of an address said, to flag later records that disagree: the line,
  // the label, and 16-bit fingerprints of name, account type, contract type and entity (kept
  // small: one entry per distinct address).
  struct FirstSeen {
    FirstSeen() : case_mask(0), case_mask_known(0), label_severity(-1) {}
    // 0 while no record had the address (the JSON Lines mapper asked for its letter case).
    uint64_t line = 0;
    // eth::ChecksumUppercaseMask of the address once case_mask_known; packed with the label's
    // common::LabelSeverity (its index in kReportLabels) into one word.
    uint64_t case_mask : 40;
    uint64_t case_mask_known : 1;
    int64_t label_severity : 8;
    uint16_t fingerprints[4] = {0, 0, 0, 0};
  };
  static_assert(sizeof(FirstSeen) == 24, "one small entry per distinct address");
  // Warns when `record` (whose label has common::LabelSeverity `severity`) disagrees with the
  // first record of its address on another line.
  void CheckDuplicate(const common::v1::AddressRecord& record, int severity,
                      const eth::Address& address);
  // The letter case of addresses for the JSON Lines mapper, remembered in addresses_.
  uint64_t UppercaseMask(const eth::Address& address, absl::string_view lower_hex) override;
  void WillAsk(const eth::Address& address) override { addresses_.prefetch(address); }
  // Adds label_counts_ to the dataset's label_counts and zeroes them.
  void FlushLabelCounts();
  // ERRORs for CSV fields that are not valid UTF-8; true when the row is fine.
  bool CheckUtf8(const CsvRow& row);
  // Distinct addresses among the records, as 20-byte values, with what they first said.
  absl::flat_hash_map<eth::Address, FirstSeen> addresses_;
  // Entries of addresses_ that a record set (line != 0).
  uint64_t distinct_addresses_ = 0;
  // The header's column names, for naming fields in issues the pipeline finds itself.
  std::vector<std::string> header_;
  LineResult line_result_;
  // Records per report label (by common::LabelSeverity) not yet in the dataset's
  // label_counts, which a protobuf map would cost a string hash per record to keep current.
  uint64_t label_counts_[std::size(common::kReportLabels)] = {};
  // The first ERROR issue, quoted when too many lines are invalid.
  std::string first_error_;
  // Issues per (severity, kind), over the whole file.
  absl::flat_hash_map<std::pair<int, std::string>, uint64_t> issue_counts_;
  // WARNINGs among result_.issues.
  size_t kept_warnings_ = 0;
  IngestResult result_;
  absl::Status error_;
  bool finished_ = false;
  // Feeds jsonl_reader_ once the JSON Lines format is known and a large chunk comes; from then
  // on every chunk goes through it. Declared last: its second thread may still be hashing into
  // file_sha_ and mapping with jsonl_mapper_ when an error ends the ingest, and it is destroyed
  // (which waits for that thread) before them.
  std::unique_ptr<JsonlLookahead> lookahead_;
};

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_INGEST_PIPELINE_H_

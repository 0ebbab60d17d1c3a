// Mappers of the JSON Lines formats: each turns one line of an OpenAI chat fine-tuning file or
// of a legacy prompt/completion file into one canonical AddressRecord, plus the issues found.
//
// DATASET_FORMAT_OPENAI_CHAT_JSONL: {"messages": [{"role": …, "content": …, "weight": 0|1}, …]}
//   - roles are "system", "user" or "assistant"; user and assistant content is a non-empty
//     string; "weight" (assistant messages only) is 0 or 1;
//   - the last message is the assistant's: it holds the report fields;
//   - the last user message before it holds the address.
// DATASET_FORMAT_LEGACY_PROMPT_COMPLETION: {"prompt": "0x…", "completion": "…"}: the prompt
//   holds the address, the completion the report fields. Other keys are ignored.
//
// The address is the whole text (trimmed) or, failing that, the one "0x" + 40 hex digit token
// in it; it is stored in EIP-55 form, and a mixed-case address with a wrong checksum is kept
// with a WARNING, as the CSV mappers do.
//
// The report fields are a JSON object ({"Name": …, "Account Type": …, "Contract Type": …,
// "Entity": …, "Label": …, "Tags": […]}, the chat export's form) or the legacy text
// `"Name": " Akropolis (AKRO)", "Account Type": "Smart Contract", …, "Tags": "DeFi"` (the
// members of such an object without the braces). Keys are matched without regard to letter
// case; values are trimmed; "Tags" is an array of strings or one string of ','-separated
// tags; an unknown key is a WARNING. "Label" is required and must be a report label
// (case-insensitive; an ERROR suggests the nearest one); "Account Type" is empty, "EOA" or
// "Smart Contract". The label as written is kept as `original_label`.
//
// Every problem names the field, e.g. "messages[2].content.Label" or "completion"; malformed
// JSON names the byte column (1-based) within the line, or within the content string for the
// report fields.
//
// Two parsers, one result. Map first tries a fast path (simdjson's DOM parser, which checks
// the whole line: JSON syntax, UTF-8, escapes, numbers) that accepts only a line it can map
// with no issue at all: no duplicate or unknown report keys, no checksum warning, nothing
// odd. Any other line, valid with warnings or invalid, is mapped again by the reference path
// (nlohmann/json), which names every problem. So the fast path never changes a result or a
// message; it only skips work for the common clean line. MapWithReferenceParser and
// TryMapFast expose the two paths so tests can compare them.
//
// Thread-safety: not thread-safe (the fast path reuses its parse buffers); use one mapper per
// stream. ChooseJsonlFormat and NearestValue are thread-safe.
#ifndef ETHSCAN_SERVICES_DATASET_JSONL_MAPPER_H_
#define ETHSCAN_SERVICES_DATASET_JSONL_MAPPER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/eth/address.h"
#include "ethscan/dataset/v1/dataset_service.pb.h"
#include "services/dataset/dataset_format.h"
#include "services/dataset/jsonl_reader.h"
#include "services/dataset/record_mapper.h"

namespace ethscan::dataset {

// Chooses the JSON Lines format from the requested one and the file's first non-blank line
// (`line` is its number). A requested JSON Lines format is taken as given. With
// DATASET_FORMAT_UNSPECIFIED an object with a "messages" key is OpenAI chat and one with
// "prompt" or "completion" keys legacy prompt/completion. INVALID_ARGUMENT naming `file` and
// `line` when the line is not valid JSON (with the byte column), not an object, or has none
// of those keys, and for a requested format that is not a JSON Lines one.
absl::StatusOr<FormatChoice> ChooseJsonlFormat(DatasetFormat requested, absl::string_view text,
                                               absl::string_view file, uint64_t line);

// Remembers the EIP-55 letter case of the addresses of a file for JsonlMapper, which asks on
// the thread that calls Map.
class AddressCaseMemo {
 public:
  virtual ~AddressCaseMemo() = default;
  // eth::ChecksumUppercaseMask(lower_hex) of `address` (whose 40 lowercase digits are
  // `lower_hex`), remembered or computed.
  virtual uint64_t UppercaseMask(const eth::Address& address, absl::string_view lower_hex) = 0;
  // A hint that UppercaseMask will soon be asked about `address` (to start loading its entry).
  virtual void WillAsk(const eth::Address& address) { (void)address; }
};

class JsonlMapper {
 public:
  // An address written as "0x" and 40 hex digits, decoded (the fast path's).
  struct PlainAddress;

  // INVALID_ARGUMENT for a format that is not a JSON Lines one.
  static absl::StatusOr<std::unique_ptr<JsonlMapper>> Create(DatasetFormat format,
                                                             MapperContext context);
  ~JsonlMapper();
  JsonlMapper(const JsonlMapper&) = delete;
  JsonlMapper& operator=(const JsonlMapper&) = delete;

  // Maps one line. `has_line_break` is false for a last line that ends the file without one;
  // a parse error there adds that the file may be truncated. Clears `result` first.
  void Map(uint64_t line, absl::string_view text, bool has_line_break, LineResult* result);

  // The fast path alone: true when it mapped the line (one record, no issue) into `result`;
  // false when the line needs the reference path (`result` is then unspecified).
  bool TryMapFast(uint64_t line, absl::string_view text, LineResult* result);
  // The reference path alone; Map's result is always equal to it.
  void MapWithReferenceParser(uint64_t line, absl::string_view text, bool has_line_break,
                              LineResult* result) const;

  // With a memo (not owned; null for none), lines mapped ahead leave their address's EIP-55
  // form to Map, which completes it from the memo on the first thread: an address met before
  // then costs no Keccak-256. Results are the same either way.
  void SetAddressCaseMemo(AddressCaseMemo* memo);

  // Lines whose result Map took from those mapped ahead so far (for tests and benchmarks).
  uint64_t lines_taken_ahead() const;

 private:
  friend class JsonlLookahead;

  // The fast path's reusable parsers and buffers (simdjson stays out of this header), and the
  // lines mapped ahead.
  class FastParser;
  struct ParserPair;

  JsonlMapper(DatasetFormat format, MapperContext context);

  // Mapping ahead of time, with the fast path (JsonlLookahead drives it). PlanAhead lists the
  // complete lines of `block` (bytes that start a line and end their chunk; `first_line` is
  // its number), split as JsonlReader splits them, and returns the number of line breaks in
  // `block`. MapPlanned maps them, claiming blocks of lines from the front or from the back
  // until none is left; one thread from each end may run it at the same time. CommitPrepared,
  // called on the first thread once both finished, hands the results to Map: a later Map call with
  // the same line number and the same text (the same bytes at the same address, as JsonlReader
  // hands over a line lying within one chunk) then only takes the result; every other line is
  // mapped by Map as usual.
  uint64_t PlanAhead(uint64_t first_line, absl::string_view block);
  void MapPlanned(bool from_back);
  void CommitPrepared();

  // The fast path with the given parsers; `padded` when SIMDJSON_PADDING readable bytes
  // follow `text`, which is then parsed where it lies.
  // With `checksum_deferred` (and `deferred_plain`) the EIP-55 form of a plain address is left
  // out of the record (*checksum_deferred says so) and its decoding kept in *deferred_plain.
  bool MapFast(ParserPair& parsers, uint64_t line, absl::string_view text, bool padded,
               LineResult* result, PlainAddress* deferred_plain, bool* checksum_deferred);
  // Fills the record of a clean line, and its decoded address, from the address text and the
  // report fields text.
  bool FinishFast(ParserPair& parsers, uint64_t line, absl::string_view address_text,
                  absl::string_view fields_text, common::v1::AddressRecord* record,
                  eth::Address* address, PlainAddress* deferred_plain, bool* checksum_deferred);

  const DatasetFormat format_;
  const MapperContext context_;
  const std::unique_ptr<FastParser> fast_;
};

// Feeds a file to `reader` (whose handler maps lines with `mapper`) chunk by chunk, one chunk
// behind: while the reader takes chunk N-1 on the calling thread, a second thread runs the
// side work on chunk N (the file hash, in the upload pipeline) and then maps chunk N's lines
// ahead from the front; once the reader is done, the calling thread maps them from the back
// until the two meet. So the two threads share the work evenly whatever their speeds. The
// results are those of side_work(chunk) and reader.Feed(chunk) for every chunk in order. Runs
// everything on the calling thread when no thread can be started. At most two chunks are
// held.
//
// Thread-safety: not thread-safe; the second thread is internal.
class JsonlLookahead {
 public:
  // `reader` and `mapper` (not owned) must outlive the lookahead; the reader has taken every
  // byte before the first chunk given to Add, and is fed only through the lookahead from now.
  JsonlLookahead(JsonlReader* reader, JsonlMapper* mapper,
                 std::function<void(absl::string_view)> side_work);
  // Waits for the second thread; a chunk taken but not yet fed is dropped.
  ~JsonlLookahead();
  JsonlLookahead(const JsonlLookahead&) = delete;
  JsonlLookahead& operator=(const JsonlLookahead&) = delete;

  // Takes the next chunk and feeds the previous one to the reader; the reader's status.
  absl::Status Add(std::string chunk);
  // Feeds the last chunk taken; call it before reader.Finish().
  absl::Status Flush();

 private:
  // Maps from the back what the second thread left, waits for it and hands the results to
  // the mapper.
  void Collect();
  // Plans held_'s lines and posts the side work and the mapping ahead to the second thread.
  void Start();
  // The second thread: runs Work each time it is posted, until the lookahead is destroyed.
  void HelperLoop();
  // The side work on held_, then mapping its lines from the front.
  void Work();

  JsonlReader* const reader_;
  JsonlMapper* const mapper_;
  const std::function<void(absl::string_view)> side_work_;
  // The chunk the second thread works on, fed to the reader with the next Add or Flush.
  std::string held_;
  // Line breaks in the bytes up to the end of held_ (the reader's count at the start).
  uint64_t line_breaks_;
  // Work was started on held_ and not yet collected.
  bool in_flight_ = false;
  // No thread could be started: Work runs on the calling thread.
  bool no_helper_ = false;
  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through it.
  std::mutex mu_;
  std::condition_variable changed_;
  // Work is posted to the second thread and not finished (guarded by mu_).
  bool work_posted_ = false;
  bool stopping_ = false;
  // Started at the first Start; the destructor stops and joins it.
  std::thread helper_;
};

// The allowed value closest to `value` by edit distance, compared without letter case, where
// each single word of a several-word value also counts as that value ("phish" suggests
// "Phish / Hack", "contract" "Smart Contract"); on a tie the whole spelling and then the
// earlier value win. Only the first 64 bytes of `value` are compared. Empty when `allowed` is
// empty. Used to suggest a fix for an unknown label.
std::string NearestValue(absl::string_view value, const std::vector<std::string>& allowed);

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_JSONL_MAPPER_H_

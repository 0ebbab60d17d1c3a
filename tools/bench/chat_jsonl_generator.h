// A deterministic generator of OpenAI chat JSONL files for the upload benchmark: one example
// per line in exactly the form ExportDataset writes (system prompt, user message with the
// address, assistant message with the report fields as JSON; chat_format.h), with plausible
// report fields. Addresses are the real ones found in a data directory's CSV files, then
// synthetic ones; the same options always give the same bytes.
//
// Thread-safety: the function is thread-safe; it touches only its own output file.
#ifndef ETHSCAN_TOOLS_BENCH_CHAT_JSONL_GENERATOR_H_
#define ETHSCAN_TOOLS_BENCH_CHAT_JSONL_GENERATOR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace ethscan::bench {

struct ChatJsonlOptions {
  // Directory scanned (recursively, *.csv files in path order) for "0x" + 40 hex digit
  // addresses; empty for synthetic addresses only.
  std::string data_dir;
  // The file ends with the first line that brings it to at least this many bytes.
  uint64_t min_bytes = uint64_t{1} << 30;
  // Distinct addresses in the file: the real ones first, then synthetic ones. Line i is about
  // address i modulo this count.
  uint64_t distinct_addresses = 200000;
  // Seed of the field choices and of the synthetic addresses.
  uint64_t seed = 1;
};

struct ChatJsonlStats {
  uint64_t bytes = 0;
  uint64_t lines = 0;
  // Addresses taken from the data directory, and all distinct addresses used.
  uint64_t real_addresses = 0;
  uint64_t distinct_addresses = 0;
};

// Writes the file to `path` (replacing it). INVALID_ARGUMENT for a zero size or address
// count, NOT_FOUND for a missing data directory, INTERNAL for I/O errors.
absl::StatusOr<ChatJsonlStats> WriteChatJsonl(const ChatJsonlOptions& options,
                                              const std::string& path);

}  // namespace ethscan::bench

#endif  // ETHSCAN_TOOLS_BENCH_CHAT_JSONL_GENERATOR_H_

// An offline estimate of how many tokens OpenAI's chat fine-tuning counts for a chat example.
// No tokenizer vocabulary is available to the service, so the count is an estimate, not the
// exact BPE count; kTokenCountingMethod says so wherever a count is reported.
//
// Method (version "estimate-v1"):
//  1. Message overhead, as in the OpenAI cookbook's num_tokens_from_messages for current chat
//     models: every message costs 3 tokens plus the tokens of its role and content, a message
//     with a name 1 more plus the name's tokens, and every example 3 more for the priming of
//     the reply.
//  2. A text is pre-tokenised like the cl100k_base / o200k_base split pattern: contractions
//     ('s 't 're 've 'm 'll 'd); a run of letters with at most one leading non-letter,
//     non-digit character (" Name", "_Phishing"); groups of at most 3 digits; a run of other
//     symbols with at most one leading space (`":"`, `{"`); runs of white space. Every byte
//     >= 0x80 counts as part of a letter run (UTF-8 letters).
//  3. Each piece is estimated: a digit group, a contraction and a run of white space 1 token
//     (white space 1 more per 16 characters); a run of ASCII letters 1 token up to 8 letters
//     and 1/4 token per further letter, plus 1/2 token for a leading symbol; a run of hex
//     letters a-f next to a digit (inside a hex string such as an address) 1 token per 3
//     letters, rounded up, so that hex costs about 1.7-2 characters per token, as cl100k
//     splits it; every non-ASCII character 1 token; a run of symbols 1 token per 3 symbols,
//     rounded up.
//  4. A text's estimate is the sum over its pieces, rounded to the nearest whole token (at
//     least 1 for a non-empty text).
// The estimate is meant for cost planning and the per-example limit check; English prose and
// the compact JSON of the export come out within roughly 15 % of the real counts.
//
// Thread-safety: every function is thread-safe.
#ifndef ETHSCAN_SERVICES_DATASET_TOKEN_ESTIMATE_H_
#define ETHSCAN_SERVICES_DATASET_TOKEN_ESTIMATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace ethscan::dataset {

// The method in one sentence, for ChatExportStats.token_counting.
extern const char kTokenCountingMethod[];

// Per-message, per-name and per-example overheads of the OpenAI chat format.
inline constexpr uint64_t kTokensPerMessage = 3;
inline constexpr uint64_t kTokensPerName = 1;
inline constexpr uint64_t kTokensPerExamplePriming = 3;

// One message of a chat example.
struct ChatMessage {
  std::string role;
  std::string content;
  // Optional participant name; empty for none.
  std::string name;
};

// The pieces a text is split into by step 2 of the method, in order (for tests and tools).
std::vector<std::string> PreTokenize(absl::string_view text);

// Estimated tokens of one text (steps 2-4): 0 for an empty text, else at least 1.
uint64_t EstimateTextTokens(absl::string_view text);

// Estimated tokens of one message: kTokensPerMessage plus its role and content, plus
// kTokensPerName and the name when it has one.
uint64_t EstimateMessageTokens(const ChatMessage& message);

// Estimated tokens of one example: its messages plus kTokensPerExamplePriming.
uint64_t EstimateExampleTokens(const std::vector<ChatMessage>& messages);

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_TOKEN_ESTIMATE_H_

// The OpenAI chat fine-tuning form of a dataset: one JSONL example per address,
//   {"messages":[{"role":"system","content":<kChatSystemPrompt>},
//                {"role":"user","content":"<EIP-55 address>"},
//                {"role":"assistant","content":"<report fields as a JSON object>"}]}
// where the assistant content is a JSON object with exactly the keys "Name", "Account Type",
// "Contract Type", "Entity", "Label" (strings; "" when unknown, Label "Unknown" when unknown)
// and "Tags" (an array of strings), in that order. Pure functions, no I/O.
//
// Thread-safety: every function here is thread-safe.
#ifndef ETHSCAN_SERVICES_DATASET_CHAT_FORMAT_H_
#define ETHSCAN_SERVICES_DATASET_CHAT_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ethscan/common/v1/common.pb.h"
#include "services/dataset/token_estimate.h"

namespace ethscan::dataset {

// The system message of every exported example: what the model is asked to do and the exact
// form of its answer.
extern const char kChatSystemPrompt[];

// The report field names, in the order the assistant message writes them.
inline constexpr const char* kReportFieldNames[] = {"Name",   "Account Type", "Contract Type",
                                                    "Entity", "Label",        "Tags"};

// The fewest examples an OpenAI chat fine-tuning file may hold.
inline constexpr size_t kMinChatExamples = 10;

// The assistant message of `record`: the report fields as a compact JSON object. An empty
// label is written as "Unknown". Invalid UTF-8 in a field is replaced by U+FFFD.
std::string ReportFieldsJson(const common::v1::AddressRecord& record);

// The messages of the example for `record` (already merged per address): system, user,
// assistant, as described above. ExportDataset writes it and GetDatasetStats counts its tokens,
// so both always see the same example.
std::vector<ChatMessage> BuildChatExample(const common::v1::AddressRecord& record);

// One example as a JSONL line, ending in "\n".
std::string ChatExampleLine(const std::vector<ChatMessage>& messages);

// One example line for `record` (already merged per address), ending in "\n".
std::string ChatExampleLine(const common::v1::AddressRecord& record);

// Estimated tokens of an example (token_estimate.h); the system prompt's count is computed once.
uint64_t ChatExampleTokens(const std::vector<ChatMessage>& messages);

// The default per-example token limit of the chat export (OpenAI's context of the fine-tunable
// models).
inline constexpr uint64_t kDefaultMaxExampleTokens = 65536;

}  // namespace ethscan::dataset

#endif  // ETHSCAN_SERVICES_DATASET_CHAT_FORMAT_H_

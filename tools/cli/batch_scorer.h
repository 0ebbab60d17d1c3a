// Scores a stream of rows through InferenceService.BatchPredict on one or more models at once
// (one bidirectional stream per model, each answering its requests in order), for
// `ethscan predict` and `ethscan models compare`.
//
// Rows come from a Source called on a writer thread and go out as soon as there is room: at
// most `max_in_flight` rows are sent but not yet answered by every model, so a file of any size
// is neither held in memory nor sent as one call per row. The calling thread reads the answers
// and hands each row with its responses (one per model, in model order) to a Sink. All
// streams share one deadline.
//
// Threading: Run blocks the calling thread; the Source runs on a thread of its own, the Sink
// on the calling thread, each never concurrently with itself. Whatever the Source shares with
// the Sink must be synchronised by the caller.
#ifndef ETHSCAN_TOOLS_CLI_BATCH_SCORER_H_
#define ETHSCAN_TOOLS_CLI_BATCH_SCORER_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ethscan/inference/v1/inference_service.grpc.pb.h"
#include "tools/cli/arg_parser.h"

namespace ethscan::cli {

// One row to score.
struct ScoringRow {
  // Where the row came from (a file's line, a record's position), for messages.
  uint64_t line = 0;
  // As the caller wants it reported.
  std::string address;
  // The row's target, for an evaluation (1 flagged, 0 not); unused by predict.
  float label = 0;
  // The request; its `model` is set per stream. Not kept after it is sent.
  inference::v1::PredictRequest request;
};

struct BatchScorerOptions {
  // Model names or aliases, one stream each; at least one.
  std::vector<std::string> models;
  // Rows sent but not yet answered by every model, at most.
  size_t max_in_flight = 256;
  // Deadline of the streams, from the start of Run.
  absl::Duration timeout = absl::Minutes(1);
};

// How a run ended. At most one of the three failed: the first thing that went wrong stops the
// others (a source or sink error cancels the streams).
struct BatchScorerResult {
  // The Source's error.
  absl::Status source;
  // The Sink's error.
  absl::Status sink;
  // The first stream that failed, else OK.
  grpc::Status rpc;
  // Index in `models` of the stream that failed.
  size_t failed_model = 0;
  // Rows handed to the Sink.
  uint64_t rows = 0;
  // ScoringRow::line of the oldest row sent but not answered when the run stopped (the row a
  // failed stream choked on), 0 when there was none.
  uint64_t unanswered_line = 0;

  bool ok() const { return source.ok() && sink.ok() && rpc.ok(); }
};

// The next row, nullopt at the end; an error stops the run.
using ScoringSource = std::function<absl::StatusOr<std::optional<ScoringRow>>()>;
// One row's responses, one per model in order; the row's request has been moved out. An error
// stops the run.
using ScoringSink = std::function<absl::Status(
    const ScoringRow& row, const std::vector<inference::v1::PredictResponse>& responses)>;

// Runs the streams over `stub` (not owned; calls carry `globals`' API key) until the Source
// ends and every row is answered, or something fails.
BatchScorerResult ScoreRows(inference::v1::InferenceService::StubInterface& stub,
                            const GlobalOptions& globals, const BatchScorerOptions& options,
                            const ScoringSource& source, const ScoringSink& sink);

// The deadline of a stream over `units` of work (a file's MiB, a dataset's thousands of
// records) given the per-call --timeout: one timeout per unit, at least one.
absl::Duration StreamTimeout(absl::Duration per_call, uint64_t units);

}  // namespace ethscan::cli

#endif  // ETHSCAN_TOOLS_CLI_BATCH_SCORER_H_

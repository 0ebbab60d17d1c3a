// `ethscan predict`: behavioural scores for a feature file in the Kaggle column layout, through
// InferenceService.BatchPredict, written to a CSV `address,score,label`.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/features/schema.h"
#include "common/text/quote.h"
#include "tools/cli/atomic_file.h"
#include "tools/cli/batch_scorer.h"
#include "tools/cli/command_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/feature_csv.h"
#include "tools/cli/output.h"

namespace ethscan::cli {
namespace {

namespace infv1 = ::ethscan::inference::v1;

// Skipped rows printed one by one; beyond these only counted.
constexpr uint64_t kPrintedSkips = 20;
// Input bytes per --timeout of the stream's deadline (about 4,000 rows of the Kaggle layout).
constexpr uint64_t kBytesPerTimeout = 1 << 20;

// The rows a run passes over: added on the writer thread, printed on the calling thread.
class SkipLog {
 public:
  explicit SkipLog(std::string file) : file_(std::move(file)) {}

  void Add(const SkippedRow& row) {
    absl::MutexLock lock(&mu_);
    ++count_;
    if (count_ <= kPrintedSkips) {
      unprinted_.push_back(absl::StrCat(file_, " line ", row.line, ": ", row.reason));
    }
  }

  // Prints the messages added since the last call.
  void Print(const CommandContext& c) {
    std::vector<std::string> lines;
    {
      absl::MutexLock lock(&mu_);
      lines.swap(unprinted_);
    }
    for (const std::string& line : lines) {
      c.err << "ethscan predict: " << line << "; row skipped\n";
    }
  }

  // Prints the rest and how many were not printed.
  void Finish(const CommandContext& c) {
    Print(c);
    const uint64_t n = count();
    if (n > kPrintedSkips) {
      c.err << "ethscan predict: … and " << n - kPrintedSkips << " more rows skipped (" << n
            << " in all)\n";
    }
  }

  uint64_t count() const {
    absl::MutexLock lock(&mu_);
    return count_;
  }

 private:
  const std::string file_;
  mutable absl::Mutex mu_;
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> unprinted_ ABSL_GUARDED_BY(mu_);
};

// The model as the user named it and, when that was an alias or the default, as it resolved.
std::string ModelLabel(const std::string& requested, const std::string& answered) {
  if (requested.empty()) return answered.empty() ? "(the default model)" : answered;
  if (answered.empty() || answered == requested) return requested;
  return absl::StrCat(requested, " (", answered, ")");
}

// What the scored rows add up to.
struct Tally {
  uint64_t scored = 0;
  uint64_t flagged = 0;
  double threshold = 0;
  std::string model;
};

}  // namespace

int RunPredict(const CommandContext& c) {
  const Invocation& inv = c.invocation;
  if (!inv.Has("input")) return UsageFailure(c, "--input FEATURES.csv is required");
  if (!inv.Has("output")) return UsageFailure(c, "--output SCORES.csv is required");
  const std::string input = inv.Get("input");
  const std::string output = inv.Get("output");
  const std::string model = inv.Get("model");

  absl::StatusOr<std::unique_ptr<FeatureCsvReader>> opened = FeatureCsvReader::Open(input);
  if (!opened.ok()) return Failure(c, opened.status().message());
  FeatureCsvReader& reader = **opened;
  if (!reader.unknown_columns().empty()) {
    std::vector<std::string> quoted;
    for (const std::string& name : reader.unknown_columns()) quoted.push_back(text::Quote(name));
    c.err << "ethscan predict: ignoring columns that are no feature of " << features::kSchemaName
          << ": " << absl::StrJoin(quoted, ", ") << "\n";
  }
  std::error_code ec;
  const uintmax_t input_bytes = std::filesystem::file_size(input, ec);
  absl::StatusOr<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(output);
  if (!file.ok()) return Failure(c, file.status().message());
  (*file)->Append("address,score,label\n");

  BatchScorerOptions options;
  options.models = {model};
  options.timeout = StreamTimeout(inv.globals.timeout,
                                  ec ? 1 : (input_bytes + kBytesPerTimeout - 1) / kBytesPerTimeout);
  SkipLog skips(input);
  const ScoringSource source = [&]() -> absl::StatusOr<std::optional<ScoringRow>> {
    absl::StatusOr<std::optional<FeatureRow>> row =
        reader.Next([&skips](const SkippedRow& s) { skips.Add(s); });
    if (!row.ok()) return row.status();
    if (!row->has_value()) return std::optional<ScoringRow>();
    ScoringRow out;
    out.line = (*row)->line;
    out.address = std::move((*row)->address);
    out.request.set_address(out.address);
    for (const auto& [name, value] : (*row)->features) {
      (*out.request.mutable_features())[name] = value;
    }
    return std::optional<ScoringRow>(std::move(out));
  };
  Tally tally;
  const ScoringSink sink = [&](const ScoringRow& row,
                               const std::vector<infv1::PredictResponse>& responses) {
    skips.Print(c);
    const infv1::PredictResponse& r = responses[0];
    if (!r.has_behaviour()) {
      const std::string name = ModelLabel(model, r.model());
      if (tally.scored == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "model ", name,
            " has no behavioural classifier, so it cannot score features (train one on a "
            "feature file such as the Kaggle layout)"));
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "model ", name, " returned no behavioural score for ", input, " line ", row.line));
    }
    const infv1::BehaviouralScore& b = r.behaviour();
    if (tally.scored == 0) {
      tally.threshold = b.threshold();
      tally.model = ModelLabel(model, r.model());
    }
    ++tally.scored;
    if (b.flagged()) ++tally.flagged;
    (*file)->Append(
        absl::StrCat(row.address, ",", ShortestDecimal(b.score()), ",", CsvField(b.label()), "\n"));
    if (inv.globals.json) PrintJson(c, r);
    return absl::OkStatus();
  };
  auto stub = c.factory.NewInferenceStub(inv.globals.inference);
  const BatchScorerResult result = ScoreRows(*stub, inv.globals, options, source, sink);
  skips.Finish(c);
  if (!result.source.ok()) return Failure(c, result.source.message());
  if (!result.sink.ok()) return Failure(c, result.sink.message());
  if (!result.rpc.ok()) {
    if (result.unanswered_line > 0) {
      c.err << "ethscan predict: the stream stopped at " << input << " line "
            << result.unanswered_line << "\n";
    }
    return RpcFailure(c, result.rpc, InferenceEndpoint(inv.globals), options.timeout);
  }
  if (tally.scored == 0 && skips.count() > 0) {
    return Failure(c, absl::StrCat("no row of ", input, " could be scored (", skips.count(),
                                   " skipped); nothing written"));
  }
  absl::Status committed = (*file)->Commit();
  if (!committed.ok()) return Failure(c, committed.message());
  if (!inv.globals.json) {
    c.err << "Scored " << tally.scored << " rows";
    if (tally.scored > 0) {
      c.err << " with model " << tally.model << ": " << tally.flagged << " flagged (threshold "
            << absl::StrFormat("%.4g", tally.threshold) << ")";
    }
    c.err << "; " << skips.count() << " rows skipped.\nWrote " << output << "\n";
  }
  return kExitOk;
}

}  // namespace ethscan::cli

#include "tools/cli/batch_scorer.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "tools/cli/commands.h"

namespace ethscan::cli {
namespace {

namespace infv1 = ::ethscan::inference::v1;
using Stream = grpc::ClientReaderWriterInterface<infv1::PredictRequest, infv1::PredictResponse>;

// The state the writer thread and the reading thread share.
class Pump {
 public:
  Pump(infv1::InferenceService::StubInterface& stub, const GlobalOptions& globals,
       const BatchScorerOptions& options)
      : options_(options) {
    for (size_t i = 0; i < options.models.size(); ++i) {
      contexts_.push_back(std::make_unique<grpc::ClientContext>());
      PrepareContext(contexts_.back().get(), globals, options.timeout);
      streams_.push_back(stub.BatchPredict(contexts_.back().get()));
    }
  }

  BatchScorerResult Run(const ScoringSource& source, const ScoringSink& sink) {
    std::thread writer([this, &source] { Write(source); });
    Read(sink);
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    // A stream that ended early has its status waiting; cancelling it would replace that
    // with CANCELLED, so only the others are cancelled.
    if (!result_.sink.ok()) CancelAll();
    if (!reads_ok_) CancelAllBut(ended_stream_);
    writer.join();
    std::vector<grpc::Status> statuses(streams_.size());
    for (size_t i = 0; i < streams_.size(); ++i) statuses[i] = streams_[i]->Finish();
    if (!reads_ok_ && !statuses[ended_stream_].ok()) {
      result_.rpc = statuses[ended_stream_];
      result_.failed_model = ended_stream_;
    }
    for (size_t i = 0; i < streams_.size() && result_.rpc.ok(); ++i) {
      if (!statuses[i].ok()) {
        result_.rpc = statuses[i];
        result_.failed_model = i;
      }
    }
    absl::MutexLock lock(&mu_);
    if (!pending_.empty()) result_.unanswered_line = pending_.front().line;
    result_.source = source_error_;
    // A source or sink error cancelled the streams; their CANCELLED says nothing more.
    if (!result_.source.ok() || !result_.sink.ok()) result_.rpc = grpc::Status::OK;
    // A stream that ended early leaves the remaining rows unanswered: that is its status.
    if (result_.rpc.ok() && result_.sink.ok() && result_.source.ok() && !reads_ok_) {
      result_.rpc = grpc::Status(grpc::StatusCode::INTERNAL,
                                 "the inference service ended the stream before answering "
                                 "every request");
      result_.failed_model = ended_stream_;
    }
    return result_;
  }

 private:
  void CancelAll() {
    for (auto& context : contexts_) context->TryCancel();
  }
  void CancelAllBut(size_t keep) {
    for (size_t i = 0; i < contexts_.size(); ++i) {
      if (i != keep) contexts_[i]->TryCancel();
    }
  }

  // Writer thread: sends each row to every stream while there is room.
  void Write(const ScoringSource& source) {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &Pump::HasRoomOrStopped));
        if (stop_) break;
      }
      absl::StatusOr<std::optional<ScoringRow>> next = source();
      if (!next.ok()) {
        absl::MutexLock lock(&mu_);
        source_error_ = next.status();
        stop_ = true;
        CancelAll();
        break;
      }
      if (!next->has_value()) break;
      ScoringRow row = **std::move(next);
      infv1::PredictRequest request = std::move(row.request);
      row.request.Clear();
      {
        absl::MutexLock lock(&mu_);
        pending_.push_back(std::move(row));
      }
      bool written = true;
      for (size_t i = 0; i < streams_.size() && written; ++i) {
        request.set_model(options_.models[i]);
        written = streams_[i]->Write(request);
      }
      // A stream that broke ends with its status, which the reader collects.
      if (!written) break;
    }
    for (auto& stream : streams_) stream->WritesDone();
    absl::MutexLock lock(&mu_);
    writer_done_ = true;
  }

  // Calling thread: reads every stream's answer to the oldest row, then hands the row on.
  void Read(const ScoringSink& sink) {
    std::vector<infv1::PredictResponse> responses(streams_.size());
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &Pump::HasPendingOrWriterDone));
        if (pending_.empty()) return;  // The writer is done and every row is answered.
      }
      for (size_t i = 0; i < streams_.size(); ++i) {
        if (!streams_[i]->Read(&responses[i])) {
          reads_ok_ = false;
          ended_stream_ = i;
          return;
        }
      }
      ScoringRow row;
      {
        absl::MutexLock lock(&mu_);
        row = std::move(pending_.front());
        pending_.pop_front();
      }
      ++result_.rows;
      absl::Status status = sink(row, responses);
      if (!status.ok()) {
        result_.sink = std::move(status);
        return;
      }
    }
  }

  bool HasRoomOrStopped() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || pending_.size() < options_.max_in_flight;
  }
  bool HasPendingOrWriterDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !pending_.empty() || writer_done_;
  }

  const BatchScorerOptions& options_;
  // One context and stream per model; set up before the threads start, then only the calls
  // gRPC allows from a writer and a reader thread at once are made on them.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts_;
  std::vector<std::unique_ptr<Stream>> streams_;

  absl::Mutex mu_;
  // Rows sent (or being sent) and not yet answered, oldest first.
  std::deque<ScoringRow> pending_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status source_error_ ABSL_GUARDED_BY(mu_);

  // Reading thread only.
  BatchScorerResult result_;
  bool reads_ok_ = true;
  // The stream whose Read failed, when !reads_ok_.
  size_t ended_stream_ = 0;
};

}  // namespace

BatchScorerResult ScoreRows(infv1::InferenceService::StubInterface& stub,
                            const GlobalOptions& globals, const BatchScorerOptions& options,
                            const ScoringSource& source, const ScoringSink& sink) {
  BatchScorerOptions checked = options;
  if (checked.max_in_flight == 0) checked.max_in_flight = 1;
  if (checked.models.empty()) checked.models.emplace_back();
  Pump pump(stub, globals, checked);
  return pump.Run(source, sink);
}

absl::Duration StreamTimeout(absl::Duration per_call, uint64_t units) {
  return per_call * static_cast<double>(std::max<uint64_t>(units, 1));
}

}  // namespace ethscan::cli

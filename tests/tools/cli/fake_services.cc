#include "tests/tools/cli/fake_services.h"

#include <grpc/support/time.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/address.h"
#include "common/features/schema.h"

namespace ethscan::cli::testing {
namespace {

namespace dsv1 = ::ethscan::dataset::v1;
namespace trv1 = ::ethscan::training::v1;

CallInfo InfoOf(const grpc::ServerContext& context) {
  CallInfo info;
  auto it = context.client_metadata().find("x-api-key");
  if (it != context.client_metadata().end()) {
    info.api_key = std::string(it->second.data(), it->second.size());
  }
  gpr_timespec deadline = context.raw_deadline();
  info.has_deadline = gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) != 0;
  return info;
}

trv1::JobEvent Event(const std::string& id, const std::string& message, trv1::JobStatus status) {
  trv1::JobEvent event;
  event.set_id(id);
  event.set_level(status == trv1::JOB_STATUS_FAILED ? "error" : "info");
  event.set_type("message");
  event.set_message(message);
  event.set_status(status);
  event.mutable_create_time()->set_seconds(1767225600);  // 2026-01-01 00:00:00 UTC
  return event;
}

// Hands out stubs over one in-process channel, recording the targets asked for.
class InProcessFactory final : public ClientFactory {
 public:
  InProcessFactory(std::shared_ptr<grpc::Channel> channel, std::vector<std::string>* targets)
      : channel_(std::move(channel)), targets_(targets) {}

  std::unique_ptr<gateway::v1::ScanService::StubInterface> NewScanStub(
      const std::string& target) override {
    Record("scan", target);
    return gateway::v1::ScanService::NewStub(channel_);
  }
  std::unique_ptr<dsv1::DatasetService::StubInterface> NewDatasetStub(
      const std::string& target) override {
    Record("dataset", target);
    return dsv1::DatasetService::NewStub(channel_);
  }
  std::unique_ptr<trv1::TrainingService::StubInterface> NewTrainingStub(
      const std::string& target) override {
    Record("training", target);
    return trv1::TrainingService::NewStub(channel_);
  }
  std::unique_ptr<trv1::ModelRegistryService::StubInterface> NewModelRegistryStub(
      const std::string& target) override {
    Record("models", target);
    return trv1::ModelRegistryService::NewStub(channel_);
  }
  std::unique_ptr<inference::v1::InferenceService::StubInterface> NewInferenceStub(
      const std::string& target) override {
    Record("inference", target);
    return inference::v1::InferenceService::NewStub(channel_);
  }
  std::unique_ptr<grpc::health::v1::Health::StubInterface> NewHealthStub(
      const std::string& target) override {
    Record("health", target);
    return grpc::health::v1::Health::NewStub(channel_);
  }

 private:
  void Record(const char* what, const std::string& target) {
    if (targets_ != nullptr) targets_->push_back(absl::StrCat(what, "@", target));
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::vector<std::string>* targets_;
};

}  // namespace

// --- FakeScanService --------------------------------------------------------------------------

void FakeScanService::AddReport(const gateway::v1::AddressReport& report,
                                const std::string& address) {
  absl::MutexLock lock(&mu_);
  reports_[address] = report;
}

void FakeScanService::AddError(const std::string& address, grpc::Status status) {
  absl::MutexLock lock(&mu_);
  errors_[address] = std::move(status);
}

grpc::Status FakeScanService::ScanAddress(grpc::ServerContext* context,
                                          const gateway::v1::ScanAddressRequest* request,
                                          gateway::v1::AddressReport* response) {
  absl::MutexLock lock(&mu_);
  requests_.push_back(*request);
  calls_.push_back(InfoOf(*context));
  auto error = errors_.find(request->address());
  if (error != errors_.end()) return error->second;
  auto report = reports_.find(request->address());
  if (report == reports_.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no report for ", request->address()));
  }
  *response = report->second;
  return grpc::Status::OK;
}

std::vector<gateway::v1::ScanAddressRequest> FakeScanService::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

std::vector<CallInfo> FakeScanService::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

// --- FakeDatasetService -----------------------------------------------------------------------

void FakeDatasetService::SetIssues(const std::vector<dsv1::ValidationIssue>& issues) {
  absl::MutexLock lock(&mu_);
  issues_ = issues;
}

void FakeDatasetService::SetPageSize(int page_size) {
  absl::MutexLock lock(&mu_);
  page_size_ = page_size;
}

grpc::Status FakeDatasetService::ReadUpload(grpc::ServerContext* context,
                                            grpc::ServerReader<dsv1::UploadDatasetRequest>* reader,
                                            Upload* upload) {
  dsv1::UploadDatasetRequest request;
  if (!reader->Read(&request) || !request.has_metadata()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first upload message must carry metadata");
  }
  upload->metadata = request.metadata();
  while (reader->Read(&request)) {
    if (request.has_metadata()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "metadata sent twice");
    }
    upload->chunk_sizes.push_back(request.chunk().size());
    upload->bytes += request.chunk();
  }
  absl::MutexLock lock(&mu_);
  uploads_.push_back(*upload);
  calls_.push_back(InfoOf(*context));
  return grpc::Status::OK;
}

dsv1::Dataset FakeDatasetService::DescribeUpload(const Upload& upload) {
  dsv1::Dataset d;
  d.set_id(absl::StrCat(
      "ds-", absl::Hex(std::hash<std::string>{}(upload.bytes + "|" + upload.metadata.name()),
                       absl::kZeroPad16)));
  d.set_name(upload.metadata.name());
  d.set_filename(upload.metadata.filename());
  d.set_format(upload.metadata.format() == dsv1::DATASET_FORMAT_UNSPECIFIED
                   ? dsv1::DATASET_FORMAT_UNISWAP_TOKENS
                   : upload.metadata.format());
  d.set_chain_id(upload.metadata.chain_id() == 0 ? 1 : upload.metadata.chain_id());
  d.set_size_bytes(upload.bytes.size());
  uint64_t lines = 0;
  for (char ch : upload.bytes) lines += ch == '\n' ? 1 : 0;
  d.set_line_count(lines > 0 ? lines - 1 : 0);
  d.set_record_count(d.line_count());
  d.set_address_count(d.line_count());
  (*d.mutable_label_counts())["Legit"] = d.line_count();
  d.mutable_create_time()->set_seconds(1767225600);
  return d;
}

void FakeDatasetService::AddDataset(const dsv1::Dataset& dataset) {
  absl::MutexLock lock(&mu_);
  stored_.push_back(dataset);
}

void FakeDatasetService::SetError(const std::string& method, grpc::Status status) {
  absl::MutexLock lock(&mu_);
  errors_[method] = std::move(status);
}

void FakeDatasetService::SetMergeResponse(const dsv1::MergeDatasetsResponse& response) {
  absl::MutexLock lock(&mu_);
  merge_response_ = response;
}

void FakeDatasetService::SetStatsResponse(const dsv1::GetDatasetStatsResponse& response) {
  absl::MutexLock lock(&mu_);
  stats_response_ = response;
}

void FakeDatasetService::SetExport(const std::vector<std::string>& chunks, grpc::Status status) {
  absl::MutexLock lock(&mu_);
  export_chunks_ = chunks;
  export_status_ = std::move(status);
}

grpc::Status FakeDatasetService::ErrorFor(const std::string& method) const {
  absl::MutexLock lock(&mu_);
  return ErrorForLocked(method);
}

grpc::Status FakeDatasetService::ErrorForLocked(const std::string& method) const {
  auto error = errors_.find(method);
  return error == errors_.end() ? grpc::Status::OK : error->second;
}

grpc::Status FakeDatasetService::BeginLocked(const grpc::ServerContext& context,
                                             const std::string& method) {
  calls_.push_back(InfoOf(context));
  return ErrorForLocked(method);
}

grpc::Status FakeDatasetService::UploadDataset(
    grpc::ServerContext* context, grpc::ServerReader<dsv1::UploadDatasetRequest>* reader,
    dsv1::UploadDatasetResponse* response) {
  grpc::Status error = ErrorFor("UploadDataset");
  if (!error.ok()) return error;
  Upload upload;
  grpc::Status status = ReadUpload(context, reader, &upload);
  if (!status.ok()) return status;
  dsv1::Dataset dataset = DescribeUpload(upload);
  absl::MutexLock lock(&mu_);
  bool existed = false;
  for (const dsv1::Dataset& d : stored_) existed = existed || d.id() == dataset.id();
  if (!existed) stored_.push_back(dataset);
  *response->mutable_dataset() = dataset;
  response->set_already_existed(existed);
  response->set_format_detection(upload.metadata.format() == dsv1::DATASET_FORMAT_UNSPECIFIED
                                     ? "detected from header columns address,name,symbol"
                                     : "given by the client");
  for (const dsv1::ValidationIssue& issue : issues_) *response->add_issues() = issue;
  return grpc::Status::OK;
}

grpc::Status FakeDatasetService::ValidateDataset(
    grpc::ServerContext* context, grpc::ServerReader<dsv1::UploadDatasetRequest>* reader,
    dsv1::ValidateDatasetResponse* response) {
  grpc::Status error = ErrorFor("ValidateDataset");
  if (!error.ok()) return error;
  Upload upload;
  grpc::Status status = ReadUpload(context, reader, &upload);
  if (!status.ok()) return status;
  const bool valid = !absl::StrContains(upload.bytes, "REJECT");
  response->set_valid(valid);
  *response->mutable_dataset() = DescribeUpload(upload);
  response->mutable_dataset()->clear_id();
  if (!valid) response->set_rejection("too many invalid lines");
  return grpc::Status::OK;
}

grpc::Status FakeDatasetService::GetDataset(grpc::ServerContext* context,
                                            const dsv1::GetDatasetRequest* request,
                                            dsv1::GetDatasetResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(InfoOf(*context));
  for (const dsv1::Dataset& d : stored_) {
    if (d.id() == request->id()) {
      *response->mutable_dataset() = d;
      return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      absl::StrCat("dataset \"", request->id(), "\" not found"));
}

grpc::Status FakeDatasetService::ListDatasets(grpc::ServerContext* context,
                                              const dsv1::ListDatasetsRequest* request,
                                              dsv1::ListDatasetsResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(InfoOf(*context));
  size_t start = 0;
  if (!request->page_token().empty() && !absl::SimpleAtoi(request->page_token(), &start)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad page token");
  }
  // Newest first.
  std::vector<dsv1::Dataset> newest_first(stored_.rbegin(), stored_.rend());
  size_t end = std::min(newest_first.size(), start + static_cast<size_t>(page_size_));
  for (size_t i = start; i < end; ++i) *response->add_datasets() = newest_first[i];
  if (end < newest_first.size()) response->set_next_page_token(absl::StrCat(end));
  return grpc::Status::OK;
}

grpc::Status FakeDatasetService::SplitDataset(grpc::ServerContext* context,
                                              const dsv1::SplitDatasetRequest* request,
                                              dsv1::SplitDatasetResponse* response) {
  absl::MutexLock lock(&mu_);
  grpc::Status status = BeginLocked(*context, "SplitDataset");
  if (!status.ok()) return status;
  split_requests_.push_back(*request);
  const std::pair<double, dsv1::Dataset*> parts[] = {
      {request->train_fraction(), response->mutable_train()},
      {request->validation_fraction(), response->mutable_validation()},
      {request->test_fraction(), response->mutable_test()}};
  int index = 0;
  for (const auto& [fraction, dataset] : parts) {
    ++index;
    if (fraction <= 0) continue;
    dataset->set_id(absl::StrCat(request->id(), "-part", index));
    dataset->set_record_count(static_cast<uint64_t>(fraction * 100));
    dataset->set_address_count(static_cast<uint64_t>(fraction * 100));
  }
  if (request->validation_fraction() <= 0) response->clear_validation();
  if (request->train_fraction() <= 0) response->clear_train();
  if (request->test_fraction() <= 0) response->clear_test();
  return grpc::Status::OK;
}

grpc::Status FakeDatasetService::MergeDatasets(grpc::ServerContext* context,
                                               const dsv1::MergeDatasetsRequest* request,
                                               dsv1::MergeDatasetsResponse* response) {
  absl::MutexLock lock(&mu_);
  grpc::Status status = BeginLocked(*context, "MergeDatasets");
  if (!status.ok()) return status;
  merge_requests_.push_back(*request);
  *response = merge_response_;
  stored_.push_back(response->dataset());
  return grpc::Status::OK;
}

grpc::Status FakeDatasetService::DeleteDataset(grpc::ServerContext* context,
                                               const dsv1::DeleteDatasetRequest* request,
                                               dsv1::DeleteDatasetResponse* response) {
  absl::MutexLock lock(&mu_);
  grpc::Status status = BeginLocked(*context, "DeleteDataset");
  if (!status.ok()) return status;
  delete_requests_.push_back(*request);
  for (auto it = stored_.begin(); it != stored_.end(); ++it) {
    if (it->id() != request->id()) continue;
    if (!it->referenced_by().empty()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("dataset \"", request->id(), "\" is referenced by ",
                                       absl::StrJoin(it->referenced_by(), ", ")));
    }
    stored_.erase(it);
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      absl::StrCat("dataset \"", request->id(), "\" not found"));
}

grpc::Status FakeDatasetService::GetDatasetStats(grpc::ServerContext* context,
                                                 const dsv1::GetDatasetStatsRequest* request,
                                                 dsv1::GetDatasetStatsResponse* response) {
  absl::MutexLock lock(&mu_);
  grpc::Status status = BeginLocked(*context, "GetDatasetStats");
  if (!status.ok()) return status;
  stats_requests_.push_back(*request);
  *response = stats_response_;
  response->set_id(request->id());
  return grpc::Status::OK;
}

grpc::Status FakeDatasetService::ExportDataset(
    grpc::ServerContext* context, const dsv1::ExportDatasetRequest* request,
    grpc::ServerWriter<dsv1::ExportDatasetResponse>* writer) {
  std::vector<std::string> chunks;
  grpc::Status final_status;
  {
    absl::MutexLock lock(&mu_);
    grpc::Status status = BeginLocked(*context, "ExportDataset");
    if (!status.ok()) return status;
    export_requests_.push_back(*request);
    chunks = export_chunks_;
    final_status = export_status_;
  }
  for (const std::string& chunk : chunks) {
    dsv1::ExportDatasetResponse response;
    response.set_chunk(chunk);
    if (!writer->Write(response)) break;
  }
  return final_status;
}

void FakeDatasetService::SetRecords(const std::string& id,
                                    const std::vector<common::v1::AddressRecord>& records,
                                    int batch_size) {
  absl::MutexLock lock(&mu_);
  records_[id] = {records, batch_size};
}

grpc::Status FakeDatasetService::ReadRecords(
    grpc::ServerContext* context, const dsv1::ReadRecordsRequest* request,
    grpc::ServerWriter<dsv1::ReadRecordsResponse>* writer) {
  std::vector<common::v1::AddressRecord> records;
  int batch_size = 1;
  {
    absl::MutexLock lock(&mu_);
    grpc::Status status = BeginLocked(*context, "ReadRecords");
    if (!status.ok()) return status;
    auto it = records_.find(request->id());
    if (it == records_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("dataset \"", request->id(), "\" not found"));
    }
    records = it->second.first;
    batch_size = std::max(1, it->second.second);
  }
  dsv1::ReadRecordsResponse response;
  for (const common::v1::AddressRecord& record : records) {
    *response.add_records() = record;
    if (response.records_size() == batch_size) {
      if (!writer->Write(response)) return grpc::Status::OK;
      response.Clear();
    }
  }
  if (response.records_size() > 0) writer->Write(response);
  return grpc::Status::OK;
}

std::vector<dsv1::SplitDatasetRequest> FakeDatasetService::split_requests() const {
  absl::MutexLock lock(&mu_);
  return split_requests_;
}

std::vector<dsv1::MergeDatasetsRequest> FakeDatasetService::merge_requests() const {
  absl::MutexLock lock(&mu_);
  return merge_requests_;
}

std::vector<dsv1::DeleteDatasetRequest> FakeDatasetService::delete_requests() const {
  absl::MutexLock lock(&mu_);
  return delete_requests_;
}

std::vector<dsv1::GetDatasetStatsRequest> FakeDatasetService::stats_requests() const {
  absl::MutexLock lock(&mu_);
  return stats_requests_;
}

std::vector<dsv1::ExportDatasetRequest> FakeDatasetService::export_requests() const {
  absl::MutexLock lock(&mu_);
  return export_requests_;
}

std::vector<std::string> FakeDatasetService::stored_ids() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const dsv1::Dataset& d : stored_) ids.push_back(d.id());
  return ids;
}

std::vector<FakeDatasetService::Upload> FakeDatasetService::uploads() const {
  absl::MutexLock lock(&mu_);
  return uploads_;
}

std::vector<CallInfo> FakeDatasetService::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

// --- FakeTrainingService ----------------------------------------------------------------------

void FakeTrainingService::SetOutcome(trv1::JobStatus status, const std::string& error) {
  absl::MutexLock lock(&mu_);
  outcome_ = status;
  error_ = error;
}

void FakeTrainingService::SetTrainingEvents(const std::vector<trv1::JobEvent>& events) {
  absl::MutexLock lock(&mu_);
  training_events_ = events;
}

void FakeTrainingService::SetCheckpoints(const std::vector<trv1::Checkpoint>& checkpoints) {
  absl::MutexLock lock(&mu_);
  checkpoints_ = checkpoints;
}

grpc::Status FakeTrainingService::ListCheckpoints(grpc::ServerContext* context,
                                                  const trv1::ListCheckpointsRequest* request,
                                                  trv1::ListCheckpointsResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(InfoOf(*context));
  if (jobs_.count(request->id()) == 0) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("job \"", request->id(), "\" not found"));
  }
  for (const trv1::Checkpoint& c : checkpoints_) *response->add_checkpoints() = c;
  return grpc::Status::OK;
}

grpc::Status FakeTrainingService::CreateJob(grpc::ServerContext* context,
                                            const trv1::CreateJobRequest* request,
                                            trv1::CreateJobResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(InfoOf(*context));
  if (request->training_dataset().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no training dataset");
  }
  create_requests_.push_back(*request);
  trv1::Job job;
  job.set_id(absl::StrCat("ftjob-", absl::Hex(jobs_.size() + 1, absl::kZeroPad16)));
  job.set_status(trv1::JOB_STATUS_QUEUED);
  job.set_base_model(request->base_model().empty() ? "ethscan-base" : request->base_model());
  job.set_suffix(request->suffix().empty() ? "custom" : request->suffix());
  job.set_backend(request->backend().empty() ? "local" : request->backend());
  job.set_training_dataset(request->training_dataset());
  *job.mutable_extra_training_datasets() = request->extra_training_datasets();
  job.set_validation_dataset(request->validation_dataset());
  job.set_test_dataset(request->test_dataset());
  *job.mutable_hyperparameters() = request->hyperparameters();
  *job.mutable_metadata() = request->metadata();
  job.set_idempotency_key(request->idempotency_key());
  job.mutable_create_time()->set_seconds(1767225600);
  jobs_[job.id()] = job;
  *response->mutable_job() = job;
  return grpc::Status::OK;
}

grpc::Status FakeTrainingService::GetJob(grpc::ServerContext* context,
                                         const trv1::GetJobRequest* request,
                                         trv1::GetJobResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(InfoOf(*context));
  auto it = jobs_.find(request->id());
  if (it == jobs_.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("job \"", request->id(), "\" not found"));
  }
  *response->mutable_job() = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeTrainingService::WatchJob(grpc::ServerContext* context,
                                           const trv1::WatchJobRequest* request,
                                           grpc::ServerWriter<trv1::WatchJobResponse>* writer) {
  std::vector<trv1::WatchJobResponse> responses;
  {
    absl::MutexLock lock(&mu_);
    calls_.push_back(InfoOf(*context));
    watch_requests_.push_back(*request);
    auto it = jobs_.find(request->id());
    if (it == jobs_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("job \"", request->id(), "\" not found"));
    }
    trv1::Job& job = it->second;
    auto add = [&responses, &job](trv1::JobEvent event) {
      trv1::WatchJobResponse r;
      *r.mutable_event() = std::move(event);
      *r.mutable_job() = job;
      responses.push_back(std::move(r));
    };
    add(Event("1-0", "job queued", trv1::JOB_STATUS_QUEUED));
    job.set_status(trv1::JOB_STATUS_RUNNING);
    add(Event("2-0", "training started", trv1::JOB_STATUS_RUNNING));
    if (training_events_.has_value()) {
      for (const trv1::JobEvent& event : *training_events_) add(event);
    } else {
      trv1::JobEvent metrics = Event("3-0", "", trv1::JOB_STATUS_UNSPECIFIED);
      metrics.set_type("metrics");
      (*metrics.mutable_metrics())["step"] = 10;
      (*metrics.mutable_metrics())["total_steps"] = 10;
      (*metrics.mutable_metrics())["train_loss"] = 0.125;
      add(metrics);
    }
    job.set_status(outcome_);
    if (outcome_ == trv1::JOB_STATUS_SUCCEEDED) {
      job.set_fine_tuned_model(
          absl::StrCat("ft:", job.base_model(), ":", job.suffix(), ":", job.id()));
      job.set_step(10);
      job.set_total_steps(10);
      (*job.mutable_hyperparameters_used())["n_epochs"] = 4;
      (*job.mutable_hyperparameters_used())["learning_rate"] = 0.1;
      add(Event("4-0", "model published", outcome_));
    } else {
      job.set_error(error_);
      add(Event("4-0", error_, outcome_));
    }
  }
  for (const trv1::WatchJobResponse& r : responses) {
    if (!writer->Write(r)) break;
  }
  return grpc::Status::OK;
}

grpc::Status FakeTrainingService::CancelJob(grpc::ServerContext* context,
                                            const trv1::CancelJobRequest* request,
                                            trv1::CancelJobResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(InfoOf(*context));
  auto it = jobs_.find(request->id());
  if (it == jobs_.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("job \"", request->id(), "\" not found"));
  }
  if (it->second.status() == trv1::JOB_STATUS_SUCCEEDED ||
      it->second.status() == trv1::JOB_STATUS_FAILED ||
      it->second.status() == trv1::JOB_STATUS_CANCELLED) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("job \"", request->id(), "\" already finished"));
  }
  it->second.set_status(trv1::JOB_STATUS_CANCELLED);
  *response->mutable_job() = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeTrainingService::ListJobs(grpc::ServerContext* context,
                                           const trv1::ListJobsRequest* request,
                                           trv1::ListJobsResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(InfoOf(*context));
  list_requests_.push_back(*request);
  const int limit = request->limit() > 0 ? request->limit() : 1000;
  bool past_after = request->after().empty();
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    if (!past_after) {
      past_after = it->first == request->after();
      continue;
    }
    if (request->status() != trv1::JOB_STATUS_UNSPECIFIED &&
        it->second.status() != request->status()) {
      continue;
    }
    if (response->jobs_size() == limit) {
      response->set_has_more(true);
      break;
    }
    *response->add_jobs() = it->second;
  }
  return grpc::Status::OK;
}

grpc::Status FakeTrainingService::ListDeadLetters(grpc::ServerContext* context,
                                                  const trv1::ListDeadLettersRequest* request,
                                                  trv1::ListDeadLettersResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(InfoOf(*context));
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    if (it->second.status() != trv1::JOB_STATUS_FAILED) continue;
    trv1::DeadLetter* d = response->add_dead_letters();
    d->set_id(absl::StrCat(1767225600000 + response->dead_letters_size(), "-0"));
    d->set_job_id(it->first);
    d->set_error(it->second.error());
    d->set_attempts(3);
    d->mutable_create_time()->set_seconds(1767225600);
  }
  return grpc::Status::OK;
}

std::vector<trv1::ListJobsRequest> FakeTrainingService::list_requests() const {
  absl::MutexLock lock(&mu_);
  return list_requests_;
}

std::vector<trv1::WatchJobRequest> FakeTrainingService::watch_requests() const {
  absl::MutexLock lock(&mu_);
  return watch_requests_;
}

std::vector<trv1::CreateJobRequest> FakeTrainingService::create_requests() const {
  absl::MutexLock lock(&mu_);
  return create_requests_;
}

std::vector<CallInfo> FakeTrainingService::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

// --- FakeModelRegistryService -----------------------------------------------------------------

void FakeModelRegistryService::AddModel(const trv1::Model& model) {
  absl::MutexLock lock(&mu_);
  models_.push_back(model);
}

grpc::Status FakeModelRegistryService::ListModels(grpc::ServerContext* context,
                                                  const trv1::ListModelsRequest* request,
                                                  trv1::ListModelsResponse* response) {
  absl::MutexLock lock(&mu_);
  for (auto it = models_.rbegin(); it != models_.rend(); ++it) *response->add_models() = *it;
  return grpc::Status::OK;
}

grpc::Status FakeModelRegistryService::SetAlias(grpc::ServerContext* context,
                                                const trv1::SetAliasRequest* request,
                                                trv1::SetAliasResponse* response) {
  absl::MutexLock lock(&mu_);
  if (request->alias().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "alias is empty");
  }
  for (trv1::Model& m : models_) {
    if (m.name() == request->model()) {
      m.add_aliases(request->alias());
      *response->mutable_model() = m;
      return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      absl::StrCat("model \"", request->model(), "\" not found"));
}

grpc::Status FakeModelRegistryService::DeleteModel(grpc::ServerContext* context,
                                                   const trv1::DeleteModelRequest* request,
                                                   trv1::DeleteModelResponse* response) {
  absl::MutexLock lock(&mu_);
  for (auto it = models_.begin(); it != models_.end(); ++it) {
    if (it->name() == request->name()) {
      models_.erase(it);
      return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      absl::StrCat("model \"", request->name(), "\" not found"));
}

void FakeModelRegistryService::SetPackage(const std::string& name, const std::string& bytes) {
  absl::MutexLock lock(&mu_);
  packages_[name] = bytes;
}

const trv1::Model* FakeModelRegistryService::FindLocked(const std::string& name) const {
  for (const trv1::Model& m : models_) {
    if (m.name() == name) return &m;
    for (const std::string& alias : m.aliases()) {
      if (alias == name) return &m;
    }
  }
  return nullptr;
}

grpc::Status FakeModelRegistryService::GetModel(grpc::ServerContext* context,
                                                const trv1::GetModelRequest* request,
                                                trv1::GetModelResponse* response) {
  absl::MutexLock lock(&mu_);
  const trv1::Model* model = FindLocked(request->name());
  if (model == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("model \"", request->name(), "\" not found"));
  }
  *response->mutable_model() = *model;
  return grpc::Status::OK;
}

grpc::Status FakeModelRegistryService::DownloadModel(
    grpc::ServerContext* context, const trv1::DownloadModelRequest* request,
    grpc::ServerWriter<trv1::DownloadModelResponse>* writer) {
  trv1::DownloadModelResponse first;
  std::string bytes;
  {
    absl::MutexLock lock(&mu_);
    const trv1::Model* model = FindLocked(request->name());
    if (model == nullptr) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("model \"", request->name(), "\" not found"));
    }
    *first.mutable_model() = *model;
    bytes = packages_[model->name()];
  }
  if (!writer->Write(first)) return grpc::Status::OK;
  constexpr size_t kChunk = 1000;
  for (size_t offset = 0; offset < bytes.size(); offset += kChunk) {
    trv1::DownloadModelResponse chunk;
    chunk.set_chunk(bytes.substr(offset, kChunk));
    if (!writer->Write(chunk)) break;
  }
  return grpc::Status::OK;
}

std::vector<trv1::Model> FakeModelRegistryService::models() const {
  absl::MutexLock lock(&mu_);
  return models_;
}

// --- FakeInferenceService ---------------------------------------------------------------------

void FakeInferenceService::AddModel(const std::string& name, const Model& model) {
  absl::MutexLock lock(&mu_);
  models_.emplace_back(name, model);
}

grpc::Status FakeInferenceService::Answer(const inference::v1::PredictRequest& request,
                                          inference::v1::PredictResponse* response) const {
  absl::StatusOr<eth::Address> address = eth::Address::Parse(request.address());
  if (!address.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string(address.status().message()));
  }
  for (const auto& [name, value] : request.features()) {
    if (!features::SchemaIndexOfColumn(name).has_value()) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("features: feature \"", name, "\" is not in ethscan.features.v1"));
    }
  }
  const std::pair<std::string, Model>* found = nullptr;
  for (const auto& entry : models_) {
    if (entry.first == request.model()) found = &entry;
  }
  if (found == nullptr && !models_.empty() &&
      (request.model().empty() || request.model() == "production")) {
    found = &models_.front();
  }
  if (found == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("model \"", request.model(), "\" not found"));
  }
  const Model& model = found->second;
  response->set_address(address->ToChecksumHex());
  response->set_model(found->first);
  response->set_label("Unknown");
  response->add_answered_by("knowledge");
  if (!model.classifier || request.features().empty()) return grpc::Status::OK;
  response->add_answered_by("classifier");
  auto it = request.features().find(model.score_feature);
  const double score = it == request.features().end() ? 0 : std::clamp(it->second, 0.0, 1.0);
  inference::v1::BehaviouralScore* b = response->mutable_behaviour();
  b->set_score(score);
  b->set_threshold(model.threshold);
  b->set_flagged(score >= model.threshold);
  b->set_label(b->flagged() ? "Phish / Hack" : "Unknown");
  b->set_feature_set(model.feature_set);
  b->set_features_present(request.features_size());
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::BatchPredict(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<inference::v1::PredictResponse, inference::v1::PredictRequest>*
        stream) {
  {
    absl::MutexLock lock(&mu_);
    calls_.push_back(InfoOf(*context));
  }
  inference::v1::PredictRequest request;
  for (uint64_t position = 0; stream->Read(&request); ++position) {
    inference::v1::PredictResponse response;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      status = Answer(request, &response);
    }
    if (!status.ok()) {
      return grpc::Status(status.error_code(),
                          absl::StrCat("request ", position, ": ", status.error_message()));
    }
    if (!stream->Write(response)) break;
  }
  return grpc::Status::OK;
}

std::vector<inference::v1::PredictRequest> FakeInferenceService::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

std::vector<CallInfo> FakeInferenceService::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

// --- InProcessServices ------------------------------------------------------------------------

InProcessServices::InProcessServices() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.RegisterService(&scan_);
  builder.RegisterService(&dataset_);
  builder.RegisterService(&training_);
  builder.RegisterService(&models_);
  builder.RegisterService(&inference_);
  server_ = builder.BuildAndStart();
}

InProcessServices::~InProcessServices() {
  server_->Shutdown();
  server_->Wait();
}

std::unique_ptr<ClientFactory> InProcessServices::NewFactory(std::vector<std::string>* targets) {
  return std::make_unique<InProcessFactory>(server_->InProcessChannel(grpc::ChannelArguments()),
                                            targets);
}

}  // namespace ethscan::cli::testing

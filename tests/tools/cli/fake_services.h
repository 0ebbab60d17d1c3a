// In-process fakes of the services the `ethscan` client talks to, and a ClientFactory that
// hands out stubs over an in-process channel to them (no sockets). Each fake keeps what it
// was sent so tests can assert on it; all state is guarded, since the fakes run on gRPC's
// server threads while the test thread reads them after the calls return.
#ifndef ETHSCAN_TESTS_TOOLS_CLI_FAKE_SERVICES_H_
#define ETHSCAN_TESTS_TOOLS_CLI_FAKE_SERVICES_H_

#include <grpcpp/server.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "ethscan/gateway/v1/scan_service.grpc.pb.h"
#include "ethscan/inference/v1/inference_service.grpc.pb.h"
#include "ethscan/training/v1/model_registry_service.grpc.pb.h"
#include "ethscan/training/v1/training_service.grpc.pb.h"
#include "tools/cli/client_factory.h"

namespace ethscan::cli::testing {

// What a fake saw of one call's context.
struct CallInfo {
  // Value of the "x-api-key" metadata, empty when absent.
  std::string api_key;
  // True when the client set a finite deadline.
  bool has_deadline = false;
};

// ScanService answering from a table of reports and errors keyed by the request's address.
class FakeScanService final : public gateway::v1::ScanService::Service {
 public:
  void AddReport(const gateway::v1::AddressReport& report, const std::string& address);
  void AddError(const std::string& address, grpc::Status status);

  grpc::Status ScanAddress(grpc::ServerContext* context,
                           const gateway::v1::ScanAddressRequest* request,
                           gateway::v1::AddressReport* response) override;

  std::vector<gateway::v1::ScanAddressRequest> requests() const;
  std::vector<CallInfo> calls() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, gateway::v1::AddressReport> reports_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, grpc::Status> errors_ ABSL_GUARDED_BY(mu_);
  std::vector<gateway::v1::ScanAddressRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<CallInfo> calls_ ABSL_GUARDED_BY(mu_);
};

// DatasetService that stores uploads in memory: the id is derived from the bytes, a repeated
// upload of the same bytes and name reports `already_existed`. Validation accepts a file
// unless its bytes contain "REJECT". Merge, stats and export answer with canned responses;
// DeleteDataset refuses a stored dataset whose `referenced_by` is not empty, naming the
// holders, as the real service does. Every request of those RPCs is recorded.
class FakeDatasetService final : public dataset::v1::DatasetService::Service {
 public:
  // One upload as the fake received it.
  struct Upload {
    dataset::v1::UploadMetadata metadata;
    std::vector<size_t> chunk_sizes;
    std::string bytes;
  };

  // Issues every upload response carries.
  void SetIssues(const std::vector<dataset::v1::ValidationIssue>& issues);
  // Datasets per ListDatasets page; the default is one page per stored dataset.
  void SetPageSize(int page_size);
  // Stores a dataset as if it had been uploaded (GetDataset, ListDatasets, DeleteDataset see
  // it).
  void AddDataset(const dataset::v1::Dataset& dataset);
  // Makes the RPC named `method` ("UploadDataset", "MergeDatasets", …) fail with `status`
  // before it reads its request; an upload fails without reading the stream.
  void SetError(const std::string& method, grpc::Status status);
  // The answer of MergeDatasets (the merged dataset is also stored).
  void SetMergeResponse(const dataset::v1::MergeDatasetsResponse& response);
  // The records ReadRecords streams for dataset `id`, `batch_size` per message.
  void SetRecords(const std::string& id, const std::vector<common::v1::AddressRecord>& records,
                  int batch_size = 100);
  // The answer of GetDatasetStats; its `id` is set to the requested one.
  void SetStatsResponse(const dataset::v1::GetDatasetStatsResponse& response);
  // The chunks ExportDataset streams before it finishes with `status`.
  void SetExport(const std::vector<std::string>& chunks, grpc::Status status = grpc::Status::OK);

  grpc::Status UploadDataset(grpc::ServerContext* context,
                             grpc::ServerReader<dataset::v1::UploadDatasetRequest>* reader,
                             dataset::v1::UploadDatasetResponse* response) override;
  grpc::Status ValidateDataset(grpc::ServerContext* context,
                               grpc::ServerReader<dataset::v1::UploadDatasetRequest>* reader,
                               dataset::v1::ValidateDatasetResponse* response) override;
  grpc::Status GetDataset(grpc::ServerContext* context,
                          const dataset::v1::GetDatasetRequest* request,
                          dataset::v1::GetDatasetResponse* response) override;
  grpc::Status ListDatasets(grpc::ServerContext* context,
                            const dataset::v1::ListDatasetsRequest* request,
                            dataset::v1::ListDatasetsResponse* response) override;
  grpc::Status SplitDataset(grpc::ServerContext* context,
                            const dataset::v1::SplitDatasetRequest* request,
                            dataset::v1::SplitDatasetResponse* response) override;
  grpc::Status MergeDatasets(grpc::ServerContext* context,
                             const dataset::v1::MergeDatasetsRequest* request,
                             dataset::v1::MergeDatasetsResponse* response) override;
  grpc::Status DeleteDataset(grpc::ServerContext* context,
                             const dataset::v1::DeleteDatasetRequest* request,
                             dataset::v1::DeleteDatasetResponse* response) override;
  grpc::Status GetDatasetStats(grpc::ServerContext* context,
                               const dataset::v1::GetDatasetStatsRequest* request,
                               dataset::v1::GetDatasetStatsResponse* response) override;
  grpc::Status ExportDataset(
      grpc::ServerContext* context, const dataset::v1::ExportDatasetRequest* request,
      grpc::ServerWriter<dataset::v1::ExportDatasetResponse>* writer) override;
  grpc::Status ReadRecords(grpc::ServerContext* context,
                           const dataset::v1::ReadRecordsRequest* request,
                           grpc::ServerWriter<dataset::v1::ReadRecordsResponse>* writer) override;

  std::vector<Upload> uploads() const;
  std::vector<CallInfo> calls() const;
  std::vector<dataset::v1::SplitDatasetRequest> split_requests() const;
  std::vector<dataset::v1::MergeDatasetsRequest> merge_requests() const;
  std::vector<dataset::v1::DeleteDatasetRequest> delete_requests() const;
  std::vector<dataset::v1::GetDatasetStatsRequest> stats_requests() const;
  std::vector<dataset::v1::ExportDatasetRequest> export_requests() const;
  // Ids of the stored datasets, oldest first.
  std::vector<std::string> stored_ids() const;

 private:
  // The error set for `method` by SetError, or OK.
  grpc::Status ErrorFor(const std::string& method) const;
  grpc::Status ErrorForLocked(const std::string& method) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Records the call's context; returns the error set for `method`, or OK.
  grpc::Status BeginLocked(const grpc::ServerContext& context, const std::string& method)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Reads an upload stream; INVALID_ARGUMENT when the first message is not metadata.
  grpc::Status ReadUpload(grpc::ServerContext* context,
                          grpc::ServerReader<dataset::v1::UploadDatasetRequest>* reader,
                          Upload* upload);
  static dataset::v1::Dataset DescribeUpload(const Upload& upload);

  mutable absl::Mutex mu_;
  std::vector<Upload> uploads_ ABSL_GUARDED_BY(mu_);
  std::vector<dataset::v1::Dataset> stored_ ABSL_GUARDED_BY(mu_);  // newest last
  std::vector<dataset::v1::ValidationIssue> issues_ ABSL_GUARDED_BY(mu_);
  std::vector<CallInfo> calls_ ABSL_GUARDED_BY(mu_);
  int page_size_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, grpc::Status> errors_ ABSL_GUARDED_BY(mu_);
  dataset::v1::MergeDatasetsResponse merge_response_ ABSL_GUARDED_BY(mu_);
  dataset::v1::GetDatasetStatsResponse stats_response_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> export_chunks_ ABSL_GUARDED_BY(mu_);
  grpc::Status export_status_ ABSL_GUARDED_BY(mu_);
  std::vector<dataset::v1::SplitDatasetRequest> split_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<dataset::v1::MergeDatasetsRequest> merge_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<dataset::v1::DeleteDatasetRequest> delete_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<dataset::v1::GetDatasetStatsRequest> stats_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<dataset::v1::ExportDatasetRequest> export_requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::pair<std::vector<common::v1::AddressRecord>, int>> records_
      ABSL_GUARDED_BY(mu_);
};

// TrainingService whose jobs run instantly: WatchJob streams a queued, a running, the
// training events (by default one metrics event, step 10/10) and a final event. The final
// status is SUCCEEDED unless SetOutcome says otherwise; a job that succeeds reports step
// 10/10 and the hyperparameters it used (n_epochs 4, learning_rate 0.1). A job keeps the
// request's datasets and hyperparameters.
class FakeTrainingService final : public training::v1::TrainingService::Service {
 public:
  void SetOutcome(training::v1::JobStatus status, const std::string& error);
  // The events WatchJob streams between "training started" and the final one.
  void SetTrainingEvents(const std::vector<training::v1::JobEvent>& events);
  // The answer of ListCheckpoints for any known job.
  void SetCheckpoints(const std::vector<training::v1::Checkpoint>& checkpoints);

  grpc::Status CreateJob(grpc::ServerContext* context,
                         const training::v1::CreateJobRequest* request,
                         training::v1::CreateJobResponse* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const training::v1::GetJobRequest* request,
                      training::v1::GetJobResponse* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const training::v1::WatchJobRequest* request,
                        grpc::ServerWriter<training::v1::WatchJobResponse>* writer) override;
  // Newest first after `after`, in `status` when set, at most `limit` (page_size when 0),
  // with has_more; metadata filters are recorded, not applied.
  grpc::Status ListJobs(grpc::ServerContext* context, const training::v1::ListJobsRequest* request,
                        training::v1::ListJobsResponse* response) override;
  // The jobs that failed so far (SetOutcome FAILED), newest first, with their error.
  grpc::Status ListDeadLetters(grpc::ServerContext* context,
                               const training::v1::ListDeadLettersRequest* request,
                               training::v1::ListDeadLettersResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context,
                         const training::v1::CancelJobRequest* request,
                         training::v1::CancelJobResponse* response) override;
  grpc::Status ListCheckpoints(grpc::ServerContext* context,
                               const training::v1::ListCheckpointsRequest* request,
                               training::v1::ListCheckpointsResponse* response) override;

  std::vector<training::v1::CreateJobRequest> create_requests() const;
  std::vector<training::v1::ListJobsRequest> list_requests() const;
  std::vector<training::v1::WatchJobRequest> watch_requests() const;
  std::vector<CallInfo> calls() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, training::v1::Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<training::v1::CreateJobRequest> create_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<training::v1::ListJobsRequest> list_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<training::v1::WatchJobRequest> watch_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<CallInfo> calls_ ABSL_GUARDED_BY(mu_);
  training::v1::JobStatus outcome_ ABSL_GUARDED_BY(mu_) = training::v1::JOB_STATUS_SUCCEEDED;
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::optional<std::vector<training::v1::JobEvent>> training_events_ ABSL_GUARDED_BY(mu_);
  std::vector<training::v1::Checkpoint> checkpoints_ ABSL_GUARDED_BY(mu_);
};

// ModelRegistryService over an in-memory list of models. GetModel and DownloadModel find a
// model by name or alias; a model's download is the bytes SetPackage gave it, in chunks of at
// most 1000 bytes.
class FakeModelRegistryService final : public training::v1::ModelRegistryService::Service {
 public:
  void AddModel(const training::v1::Model& model);
  void SetPackage(const std::string& name, const std::string& bytes);

  grpc::Status ListModels(grpc::ServerContext* context,
                          const training::v1::ListModelsRequest* request,
                          training::v1::ListModelsResponse* response) override;
  grpc::Status SetAlias(grpc::ServerContext* context, const training::v1::SetAliasRequest* request,
                        training::v1::SetAliasResponse* response) override;
  grpc::Status DeleteModel(grpc::ServerContext* context,
                           const training::v1::DeleteModelRequest* request,
                           training::v1::DeleteModelResponse* response) override;
  grpc::Status GetModel(grpc::ServerContext* context, const training::v1::GetModelRequest* request,
                        training::v1::GetModelResponse* response) override;
  grpc::Status DownloadModel(
      grpc::ServerContext* context, const training::v1::DownloadModelRequest* request,
      grpc::ServerWriter<training::v1::DownloadModelResponse>* writer) override;

  std::vector<training::v1::Model> models() const;

 private:
  // The model named or aliased `name`, or null.
  const training::v1::Model* FindLocked(const std::string& name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<training::v1::Model> models_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> packages_ ABSL_GUARDED_BY(mu_);
};

// InferenceService whose models score from one feature: the score is the value the request
// gives `score_feature` (canonical name), clamped to [0, 1], 0 when it is missing. Like the real
// service, BatchPredict answers each request in order and ends the stream with
// INVALID_ARGUMENT ("request N: …") at an invalid address or a feature name that is not in
// ethscan.features.v1, and with NOT_FOUND at an unknown model. A model without a classifier
// answers without `behaviour`.
class FakeInferenceService final : public inference::v1::InferenceService::Service {
 public:
  struct Model {
    std::string score_feature = "sent_tnx";
    double threshold = 0.5;
    bool classifier = true;
    std::string feature_set = "all";
  };
  // `name` answers as itself; the empty name and "production" answer as the first model added.
  void AddModel(const std::string& name, const Model& model);

  grpc::Status BatchPredict(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<inference::v1::PredictResponse, inference::v1::PredictRequest>*
          stream) override;

  // Every request BatchPredict read, in order.
  std::vector<inference::v1::PredictRequest> requests() const;
  std::vector<CallInfo> calls() const;

 private:
  grpc::Status Answer(const inference::v1::PredictRequest& request,
                      inference::v1::PredictResponse* response) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, Model>> models_ ABSL_GUARDED_BY(mu_);
  std::vector<inference::v1::PredictRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<CallInfo> calls_ ABSL_GUARDED_BY(mu_);
};

// Runs the fakes and the default health service in one in-process gRPC server (no
// listening port) and makes stubs to it. Each stub request records the target it was asked for, so
// tests can check routing.
class InProcessServices {
 public:
  InProcessServices();
  ~InProcessServices();

  FakeScanService& scan() { return scan_; }
  FakeDatasetService& dataset() { return dataset_; }
  FakeTrainingService& training() { return training_; }
  FakeModelRegistryService& models() { return models_; }
  FakeInferenceService& inference() { return inference_; }

  // A new factory over the in-process channel; `targets` (optional, owned by the caller)
  // receives "scan@TARGET", "dataset@TARGET", … for every stub made.
  std::unique_ptr<ClientFactory> NewFactory(std::vector<std::string>* targets = nullptr);

 private:
  FakeScanService scan_;
  FakeDatasetService dataset_;
  FakeTrainingService training_;
  FakeModelRegistryService models_;
  FakeInferenceService inference_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace ethscan::cli::testing

#endif  // ETHSCAN_TESTS_TOOLS_CLI_FAKE_SERVICES_H_

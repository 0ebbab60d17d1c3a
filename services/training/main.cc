// ethscan_training: the training service (--role=server: TrainingService and
// ModelRegistryService) or a training worker (--role=worker: consumes the job queue, serves
// only gRPC health).
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/config/usage.h"
#include "common/grpc/server.h"
#include "common/log/log.h"
#include "services/training/app.h"

ABSL_FLAG(std::string, role, "server", "server (gRPC services) or worker (job consumer)");
ABSL_FLAG(std::string, listen, "",
          "HOST:PORT to listen on (env ETHSCAN_TRAINING_LISTEN, 0.0.0.0:50053; worker: "
          "ETHSCAN_TRAINING_WORKER_LISTEN, 0.0.0.0:50056)");
ABSL_FLAG(std::string, shutdown_deadline, "10s", "Grace period for in-flight calls on SIGTERM");
ABSL_FLAG(std::string, models_dir, "",
          "Model registry folder (env ETHSCAN_MODELS_DIR, .ethscan/data/models)");
ABSL_FLAG(std::string, dataset_addr, "",
          "Dataset service HOST:PORT (env ETHSCAN_DATASET_ADDR, localhost:50052)");
ABSL_FLAG(std::string, claim_idle, "60s",
          "Worker: claim queue entries pending this long from crashed workers");

int main(int argc, char** argv) {
  namespace training = ethscan::training;
  ethscan::common::BlockTerminationSignals();
  ethscan::config::InitUsage(
      "ethscan_training --role=server|worker [--listen=HOST:PORT] …: the training service (jobs, "
      "model registry) or, with --role=worker, a worker that trains queued jobs. Redis from "
      "REDIS_URL.");
  absl::ParseCommandLine(argc, argv);
  training::TrainingFlags flags;
  flags.role = absl::GetFlag(FLAGS_role);
  flags.listen = absl::GetFlag(FLAGS_listen);
  flags.shutdown_deadline = absl::GetFlag(FLAGS_shutdown_deadline);
  flags.models_dir = absl::GetFlag(FLAGS_models_dir);
  flags.dataset_addr = absl::GetFlag(FLAGS_dataset_addr);
  flags.claim_idle = absl::GetFlag(FLAGS_claim_idle);
  ethscan::log::SetComponent(flags.role == "worker" ? "training-worker" : "training");
  absl::StatusOr<training::TrainingConfig> config = training::ConfigFromFlags(flags);
  if (!config.ok()) {
    ethscan::log::Error(config.status().message());
    return 2;
  }
  absl::Status status = training::RunTraining(*config);
  if (!status.ok()) {
    ethscan::log::Error(status.message());
    return 1;
  }
  return 0;
}

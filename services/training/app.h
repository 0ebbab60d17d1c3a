// Wiring of the ethscan_training binary: configuration from flags and the environment, and
// the two roles. `--role=server` serves TrainingService and ModelRegistryService;
// `--role=worker` consumes the job queue and serves only gRPC health. Both share Redis and
// the models volume.
//
// Thread-safety: RunTraining blocks the calling thread until SIGTERM/SIGINT; call
// common::BlockTerminationSignals() first thing in main.
#ifndef ETHSCAN_SERVICES_TRAINING_APP_H_
#define ETHSCAN_SERVICES_TRAINING_APP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc/server.h"
#include "common/redis/redis_client.h"

namespace ethscan::training {

// Raw flag values; empty means "not set" (then the environment, then the default, applies).
struct TrainingFlags {
  std::string role = "server";
  std::string listen;
  std::string shutdown_deadline = "10s";
  std::string models_dir;
  std::string dataset_addr;
  std::string claim_idle = "60s";
};

// Validated configuration.
struct TrainingConfig {
  enum class Role { kServer, kWorker };
  Role role = Role::kServer;
  // --listen (ETHSCAN_TRAINING_LISTEN, 0.0.0.0:50053; for the worker
  // ETHSCAN_TRAINING_WORKER_LISTEN, 0.0.0.0:50056) and --shutdown_deadline.
  common::ServerOptions server;
  // --models_dir (ETHSCAN_MODELS_DIR, .ethscan/data/models).
  std::string models_dir;
  // --dataset_addr (ETHSCAN_DATASET_ADDR, localhost:50052).
  std::string dataset_addr;
  // REDIS_URL.
  redis::Options redis;
  // --claim_idle: how long a queue entry stays pending before another worker claims it.
  absl::Duration claim_idle = absl::Seconds(60);
  // OPENAI_BASE_URL and OPENAI_API_KEY are both set.
  bool openai_configured = false;
  // Backend "openai": the API's base URL and key (never logged; the URL only redacted), and
  // the remote model a job fine-tunes unless it names one (ETHSCAN_OPENAI_BASE_MODEL).
  std::string openai_base_url;
  std::string openai_api_key;
  std::string openai_base_model;
};

// INVALID_ARGUMENT naming the bad flag.
absl::StatusOr<TrainingConfig> ConfigFromFlags(const TrainingFlags& flags);

// The health service name of a worker's readiness: SERVING while Redis answers and the job
// queue's consumer group exists. (The server
// role reports readiness under ethscan.training.v1.TrainingService and
// ethscan.training.v1.ModelRegistryService.)
inline constexpr char kWorkerReadinessService[] = "ethscan.training.v1.TrainingWorker";

// Runs the configured role until SIGTERM/SIGINT. Starts even while Redis is down (calls answer
// UNAVAILABLE and readiness is NOT_SERVING until it answers). Startup errors (models folder
// not writable, port taken) are returned.
absl::Status RunTraining(const TrainingConfig& config);

}  // namespace ethscan::training

#endif  // ETHSCAN_SERVICES_TRAINING_APP_H_

#include "services/training/app.h"

#include <algorithm>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "common/http/http_client.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"
#include "common/time/clock.h"
#include "services/training/dataset_client.h"
#include "services/training/job_manager.h"
#include "services/training/model_registry.h"
#include "services/training/redis_job_queue.h"
#include "services/training/redis_job_store.h"
#include "services/training/redis_model_store.h"
#include "services/training/training_service.h"
#include "services/training/worker.h"

namespace ethscan::training {
namespace {

// How long a worker's queue read blocks; its connection's timeout must exceed it.
constexpr absl::Duration kQueueBlock = absl::Seconds(2);

// Redis may start after this process or be restarting: the connection is made by the first
// command, and until Redis answers calls are UNAVAILABLE and readiness NOT_SERVING.
absl::StatusOr<std::unique_ptr<redis::Client>> Connect(const redis::Options& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<redis::HiredisClient> client,
                   redis::HiredisClient::CreateLazy(options));
  return std::unique_ptr<redis::Client>(std::move(client));
}

// What both roles share: Redis, the stores, the registry and the dataset client.
struct Common {
  std::unique_ptr<redis::Client> redis;
  std::unique_ptr<redis::Client> blocking;
  std::unique_ptr<RedisJobStore> jobs;
  std::unique_ptr<RedisJobQueue> queue;
  std::unique_ptr<RedisModelStore> models;
  std::unique_ptr<DatasetClient> datasets;
  std::unique_ptr<ModelRegistry> registry;
};

absl::StatusOr<std::unique_ptr<Common>> Build(const TrainingConfig& config) {
  auto c = std::make_unique<Common>();
  ASSIGN_OR_RETURN(c->redis, Connect(config.redis));
  // Blocking reads (XREAD, XREADGROUP) run on connections of their own whose timeout exceeds
  // the block time.
  redis::Options blocking = config.redis;
  blocking.command_timeout = std::max(blocking.command_timeout, kQueueBlock + absl::Seconds(5));
  redis::Client* queue_reads = c->redis.get();  // The server only enqueues.
  if (config.role == TrainingConfig::Role::kWorker) {
    ASSIGN_OR_RETURN(c->blocking, Connect(blocking));
    queue_reads = c->blocking.get();
  }
  c->jobs =
      std::make_unique<RedisJobStore>(c->redis.get(), [blocking] { return Connect(blocking); });
  c->queue = std::make_unique<RedisJobQueue>(c->redis.get(), queue_reads);
  // The consumer group is made (again, should Redis have lost it) by every readiness check.
  if (absl::Status group = c->queue->EnsureGroup(); !group.ok()) {
    log::Warning("job queue not ready yet: ", group.message());
  }
  c->models = std::make_unique<RedisModelStore>(c->redis.get());
  ModelRegistry::Options registry;
  registry.models_dir = config.models_dir;
  // A model that an unfinished job continues is kept (DeleteModel, PruneModels).
  RedisJobStore* jobs = c->jobs.get();
  registry.job_using =
      [jobs](absl::string_view model) -> absl::StatusOr<std::optional<std::string>> {
    constexpr int64_t kPage = 500;
    for (int64_t offset = 0;; offset += kPage) {
      ASSIGN_OR_RETURN(JobPage page, jobs->List(offset, kPage));
      for (const v1::Job& job : page.jobs) {
        if (!IsFinished(job.status()) && job.base_model() == model) {
          return std::optional<std::string>(job.id());
        }
      }
      if (page.jobs.empty() || offset + kPage >= page.total) break;
    }
    return std::optional<std::string>();
  };
  c->datasets = std::make_unique<DatasetClient>(
      dataset::v1::DatasetService::NewStub(common::CreateChannel(config.dataset_addr)));
  ASSIGN_OR_RETURN(c->registry,
                   ModelRegistry::Create(registry, c->models.get(), c->datasets.get()));
  log::Info("redis at ", text::RedactUrl(config.redis.url), "; models in ", config.models_dir,
            "; dataset service at ", config.dataset_addr);
  return c;
}

absl::Status RunServerRole(const TrainingConfig& config) {
  ASSIGN_OR_RETURN(std::unique_ptr<Common> c, Build(config));
  JobManager::Options options;
  options.openai_configured = config.openai_configured;
  options.openai_base_model = config.openai_base_model;
  if (config.openai_configured) {
    log::Info("backend openai: ", text::RedactUrl(config.openai_base_url), ", default base model ",
              config.openai_base_model);
  }
  JobManager manager(options, c->jobs.get(), c->queue.get(), c->registry.get(), c->datasets.get(),
                     &common::SystemClock::Get());
  TrainingServiceImpl training(&manager);
  ModelRegistryServiceImpl registry(c->registry.get());
  // Readiness follows Redis, where jobs, the queue and model metadata live.
  common::ServerOptions server = config.server;
  server.readiness_services = {v1::TrainingService::service_full_name(),
                               v1::ModelRegistryService::service_full_name()};
  server.readiness_check = [queue = c->queue.get()] { return queue->EnsureGroup(); };
  return common::RunServer(server, {&training, &registry});
}

absl::Status RunWorkerRole(const TrainingConfig& config) {
  ASSIGN_OR_RETURN(std::unique_ptr<Common> c, Build(config));
  Worker::Options options;
  options.claim_idle = config.claim_idle;
  options.block = kQueueBlock;
  http::CurlClient http;
  if (config.openai_configured) {
    openai::Client::Options remote;
    remote.base_url = config.openai_base_url;
    remote.api_key = config.openai_api_key;
    options.openai = remote;
    options.http = &http;
    log::Info("backend openai: ", text::RedactUrl(config.openai_base_url));
  }
  Worker worker(options, c->jobs.get(), c->queue.get(), c->registry.get(), c->datasets.get(),
                &common::SystemClock::Get());
  std::thread loop([&worker] { worker.Run(); });
  auto stop = [&worker, &loop] {
    worker.Stop();
    if (loop.joinable()) loop.join();
  };
  common::ServerOptions server = config.server;
  server.readiness_services = {std::string(kWorkerReadinessService)};
  server.readiness_check = [queue = c->queue.get()] { return queue->EnsureGroup(); };
  absl::Status status = common::RunServer(server, {}, stop);
  stop();
  return status;
}

}  // namespace

absl::StatusOr<TrainingConfig> ConfigFromFlags(const TrainingFlags& flags) {
  TrainingConfig config;
  if (flags.role == "server") {
    config.role = TrainingConfig::Role::kServer;
  } else if (flags.role == "worker") {
    config.role = TrainingConfig::Role::kWorker;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--role \"", flags.role, "\" must be server or worker"));
  }
  const bool worker = config.role == TrainingConfig::Role::kWorker;
  ASSIGN_OR_RETURN(
      config.server,
      common::ServerOptionsFromFlags(
          flags.listen, worker ? "ETHSCAN_TRAINING_WORKER_LISTEN" : "ETHSCAN_TRAINING_LISTEN",
          worker ? config::kTrainingWorkerPort : config::kTrainingPort, flags.shutdown_deadline));
  config.models_dir =
      config::FlagOrEnv(flags.models_dir, "ETHSCAN_MODELS_DIR", ".ethscan/data/models");
  config.dataset_addr = config::FlagOrEnv(flags.dataset_addr, "ETHSCAN_DATASET_ADDR",
                                          absl::StrCat("localhost:", config::kDatasetPort));
  RETURN_IF_ERROR(config::ValidateHostPort(config.dataset_addr, "--dataset_addr"));
  config.redis = redis::Options::FromEnv();
  RETURN_IF_ERROR(redis::ParseUrl(config.redis.url).status());
  ASSIGN_OR_RETURN(config.claim_idle, config::ParseDurationFlag(flags.claim_idle, "--claim_idle"));
  if (config.claim_idle <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--claim_idle must be positive");
  }
  config.openai_base_url = config::GetEnv("OPENAI_BASE_URL");
  config.openai_api_key = config::GetEnv("OPENAI_API_KEY");
  config.openai_configured = !config.openai_base_url.empty() && !config.openai_api_key.empty();
  if (config.openai_configured && !absl::StartsWith(config.openai_base_url, "http://") &&
      !absl::StartsWith(config.openai_base_url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("OPENAI_BASE_URL ", text::Quote(text::RedactUrl(config.openai_base_url)),
                     " must start with http:// or https://"));
  }
  config.openai_base_model = config::GetEnv("ETHSCAN_OPENAI_BASE_MODEL", kDefaultOpenAiBaseModel);
  RETURN_IF_ERROR(ValidateRemoteModel(config.openai_base_model));
  return config;
}

absl::Status RunTraining(const TrainingConfig& config) {
  return config.role == TrainingConfig::Role::kWorker ? RunWorkerRole(config)
                                                      : RunServerRole(config);
}

}  // namespace ethscan::training

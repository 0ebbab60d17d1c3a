// Everything a job manager or worker test needs, wired with fakes: a fake clock, in-memory
// job store, queue and model store, a registry on a temporary folder, and a fake dataset
// service on an in-process channel.
//
// Thread-safety: as thread-safe as its parts (all are).
#ifndef ETHSCAN_TESTS_SERVICES_TRAINING_TEST_ENV_H_
#define ETHSCAN_TESTS_SERVICES_TRAINING_TEST_ENV_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "common/time/clock.h"
#include "services/training/dataset_client.h"
#include "services/training/job_manager.h"
#include "services/training/model_registry.h"
#include "services/training/worker.h"
#include "tests/services/training/fakes.h"
#include "tests/testing/test_paths.h"

namespace ethscan::training::testing {

// Members are public: tests reach into the fakes. Declaration order is construction order.
struct TestEnv {
  TestEnv()
      : dir(ethscan::testing::MakeTempDir("training-test")), queue(&clock), server({&datasets}) {
    DatasetClient::Options client_options;
    client_options.batch_size = 2;
    dataset_client = std::make_unique<DatasetClient>(
        dataset::v1::DatasetService::NewStub(server.channel()), client_options);
    ModelRegistry::Options options;
    options.models_dir = dir + "/models";
    registry = ModelRegistry::Create(options, &models, dataset_client.get()).value();
  }
  ~TestEnv() { std::filesystem::remove_all(dir); }

  // A manager with sequential job ids "ftjob-000000000000000<n>".
  std::unique_ptr<JobManager> Manager(bool openai_configured = false) {
    JobManager::Options options;
    options.openai_configured = openai_configured;
    options.new_job_id = [this] { return absl::StrFormat("ftjob-%016x", ++next_job); };
    options.watch_poll = absl::Milliseconds(50);
    return std::make_unique<JobManager>(options, &store, &queue, registry.get(),
                                        dataset_client.get(), &clock);
  }

  // A worker that never waits for the queue and claims entries idle for 60 s.
  std::unique_ptr<Worker> MakeWorker(
      const std::string& consumer,
      const std::function<void(Worker::Options*)>& configure = nullptr) {
    Worker::Options options;
    options.consumer = consumer;
    options.block = absl::ZeroDuration();
    options.claim_idle = absl::Seconds(60);
    if (configure) configure(&options);
    return std::make_unique<Worker>(options, &store, &queue, registry.get(), dataset_client.get(),
                                    &clock);
  }

  std::string dir;
  common::FakeClock clock;
  InMemoryJobStore store;
  InMemoryJobQueue queue;
  InMemoryModelStore models;
  FakeDatasetService datasets;
  InProcessServer server;
  int next_job = 0;
  std::unique_ptr<DatasetClient> dataset_client;
  std::unique_ptr<ModelRegistry> registry;
};

}  // namespace ethscan::training::testing

#endif  // ETHSCAN_TESTS_SERVICES_TRAINING_TEST_ENV_H_

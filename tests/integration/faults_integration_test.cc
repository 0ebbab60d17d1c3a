// Faults, for real: a password-protected redis-server and the Redis-backed services (dataset,
// training server, training worker) as processes on free loopback ports. Redis goes away for
// longer than a connection lives and comes back; SIGPIPE is delivered; a second process asks
// for a port in use; and no log line of any of it carries the Redis password.
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "ethscan/training/v1/model_registry_service.grpc.pb.h"
#include "ethscan/training/v1/training_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/free_port.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/test_paths.h"

namespace ethscan::testing {
namespace {

constexpr char kPassword[] = "it-Redis-Pa55word-7f3a";
constexpr char kDatasetReadiness[] = "ethscan.dataset.v1.DatasetService";
constexpr char kTrainingReadiness[] = "ethscan.training.v1.TrainingService";
constexpr char kWorkerReadiness[] = "ethscan.training.v1.TrainingWorker";

class FaultsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("ethscan-faults");
    RedisServer::Options options;
    options.password = kPassword;
    absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    for (const char* name : {"dataset", "training", "worker"}) ports_[name] = PickFreePort();
    const std::string models = absl::StrCat("--models_dir=", dir_, "/models");
    const std::string datasets = absl::StrCat("--dataset_addr=", Target("dataset"));
    ASSERT_TRUE(Start("dataset", {"ethscan_dataset", Listen("dataset"),
                                  absl::StrCat("--data_dir=", dir_, "/dataset")})
                    .ok());
    ASSERT_TRUE(Start("training",
                      {"ethscan_training", "--role=server", Listen("training"), models, datasets})
                    .ok());
    ASSERT_TRUE(
        Start("worker", {"ethscan_training", "--role=worker", Listen("worker"), models, datasets})
            .ok());
  }

  void TearDown() override {
    processes_.clear();
    redis_.reset();
    // Every line any process wrote, this test's failures included, is free of the password.
    for (const std::string& log : logs_) {
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      EXPECT_EQ(text.str().find(kPassword), std::string::npos)
          << log << " shows the Redis password:\n"
          << text.str();
    }
    std::string cmd = absl::StrCat("rm -rf '", dir_, "'");
    if (std::system(cmd.c_str()) != 0) {
    }
  }

  std::string Target(const std::string& name) const {
    return absl::StrCat("127.0.0.1:", ports_.at(name));
  }
  std::string Listen(const std::string& name) const {
    return absl::StrCat("--listen=", Target(name));
  }

  absl::StatusOr<std::unique_ptr<ChildProcess>> Launch(const std::string& log_name,
                                                       std::vector<std::string> args) {
    args.front() = absl::StrCat(BinaryDir(), "/", args.front());
    std::string log = absl::StrCat(dir_, "/", log_name, ".log");
    logs_.push_back(log);
    return ChildProcess::Start(
        args, {{"REDIS_URL", redis_->url()}, {"ETHERSCAN_API_KEY", ""}, {"ETH_RPC_URL", ""}}, log);
  }

  absl::Status Start(const std::string& name, std::vector<std::string> args) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> process = Launch(name, std::move(args));
    if (!process.ok()) return process.status();
    processes_[name] = *std::move(process);
    absl::Status healthy = WaitForHealthy(Target(name), absl::Seconds(20));
    if (!healthy.ok()) ADD_FAILURE() << healthy << "\n" << processes_[name]->LogTail();
    return healthy;
  }

  grpc::Status ListDatasets() {
    auto stub = dataset::v1::DatasetService::NewStub(common::CreateChannel(Target("dataset")));
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    dataset::v1::ListDatasetsRequest request;
    dataset::v1::ListDatasetsResponse response;
    return stub->ListDatasets(&context, request, &response);
  }

  grpc::Status ListJobs() {
    auto stub = training::v1::TrainingService::NewStub(common::CreateChannel(Target("training")));
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(10));
    training::v1::ListJobsRequest request;
    training::v1::ListJobsResponse response;
    return stub->ListJobs(&context, request, &response);
  }

  void ExpectAllRunning() {
    for (auto& [name, process] : processes_) {
      EXPECT_TRUE(process->Running()) << name << " died:\n" << process->LogTail();
    }
  }

  std::string dir_;
  std::unique_ptr<RedisServer> redis_;
  std::map<std::string, int> ports_;
  std::map<std::string, std::unique_ptr<ChildProcess>> processes_;
  std::vector<std::string> logs_;
};

TEST_F(FaultsIntegrationTest, NoServiceDiesOfSigpipe) {
  for (auto& [name, process] : processes_) kill(process->pid(), SIGPIPE);
  for (const char* name : {"dataset", "training", "worker"}) {
    EXPECT_TRUE(WaitForHealthy(Target(name), absl::Seconds(5)).ok()) << name;
  }
  ExpectAllRunning();
  EXPECT_TRUE(ListDatasets().ok());
  EXPECT_TRUE(ListJobs().ok());
}

TEST_F(FaultsIntegrationTest, RedisAwayLongerThanAConnectionLivesThenBack) {
  ASSERT_TRUE(ListDatasets().ok());
  ASSERT_TRUE(ListJobs().ok());
  redis_->Kill();
  // Readiness follows Redis within a few checks; liveness stays SERVING.
  EXPECT_TRUE(WaitForHealth(Target("dataset"), kDatasetReadiness, false, absl::Seconds(15)).ok());
  EXPECT_TRUE(WaitForHealth(Target("training"), kTrainingReadiness, false, absl::Seconds(15)).ok());
  EXPECT_TRUE(WaitForHealth(Target("worker"), kWorkerReadiness, false, absl::Seconds(15)).ok());
  for (const char* name : {"dataset", "training", "worker"}) {
    EXPECT_TRUE(WaitForHealthy(Target(name), absl::Seconds(5)).ok()) << name;
  }
  EXPECT_EQ(ListDatasets().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ListJobs().error_code(), grpc::StatusCode::UNAVAILABLE);

  // A dataset service started now does not exit: it serves, not ready, until Redis is back.
  ports_["late-dataset"] = PickFreePort();
  absl::StatusOr<std::unique_ptr<ChildProcess>> late =
      Launch("late-dataset", {"ethscan_dataset", Listen("late-dataset"),
                              absl::StrCat("--data_dir=", dir_, "/late-dataset")});
  ASSERT_TRUE(late.ok()) << late.status();
  processes_["late-dataset"] = *std::move(late);
  EXPECT_TRUE(WaitForHealthy(Target("late-dataset"), absl::Seconds(20)).ok())
      << processes_["late-dataset"]->LogTail();
  EXPECT_TRUE(
      WaitForHealth(Target("late-dataset"), kDatasetReadiness, false, absl::Seconds(5)).ok());

  // Longer than TCP keepalive needs to find every idle connection dead (15 s idle, then
  // probes), so the next write on an old connection fails with EPIPE.
  absl::SleepFor(absl::Seconds(20));
  ExpectAllRunning();
  ASSERT_TRUE(redis_->Launch().ok());
  for (const auto& [name, service] :
       std::map<std::string, std::string>{{"dataset", kDatasetReadiness},
                                          {"late-dataset", kDatasetReadiness},
                                          {"training", kTrainingReadiness},
                                          {"worker", kWorkerReadiness}}) {
    EXPECT_TRUE(WaitForHealth(Target(name), service, true, absl::Seconds(15)).ok())
        << name << "\n"
        << processes_[name]->LogTail();
  }
  EXPECT_TRUE(ListDatasets().ok());
  EXPECT_TRUE(ListJobs().ok());
  ExpectAllRunning();
}

TEST_F(FaultsIntegrationTest, ASecondServiceOnABusyPortRefusesToStart) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> second =
      Launch("second-dataset",
             {"ethscan_dataset", Listen("dataset"), absl::StrCat("--data_dir=", dir_, "/second")});
  ASSERT_TRUE(second.ok()) << second.status();
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while ((*second)->Running() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE((*second)->Running())
      << "a second dataset service serves port " << ports_["dataset"];
  EXPECT_NE((*second)->LogTail().find(absl::StrCat("port ", ports_["dataset"], " is in use")),
            std::string::npos)
      << (*second)->LogTail();
  EXPECT_TRUE(ListDatasets().ok());
}

// SIGTERM reaches the thread that waits for it, whatever threads a service started before
// (the dataset store's sweep, say), so every service stops gracefully, with exit status 0.
TEST_F(FaultsIntegrationTest, EveryServiceStopsGracefullyOnSigterm) {
  for (auto& [name, process] : processes_) {
    const int status = process->Stop(absl::Seconds(15));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << name << " ended with wait status " << status << "\n"
        << process->LogTail();
  }
}

// A second SIGTERM while the first one's graceful shutdown waits for a call still in flight
// must not kill the process: every thread a service starts (the dataset store's upload sweep
// among them) has the termination signals blocked.
TEST_F(FaultsIntegrationTest, ASecondSigtermDuringShutdownDoesNotKillTheDatasetService) {
  ports_["stopping-dataset"] = PickFreePort();
  ASSERT_TRUE(Start("stopping-dataset",
                    {"ethscan_dataset", Listen("stopping-dataset"), "--shutdown_deadline=3s",
                     absl::StrCat("--data_dir=", dir_, "/stopping-dataset")})
                  .ok());
  ChildProcess& process = *processes_["stopping-dataset"];
  auto stub =
      dataset::v1::DatasetService::NewStub(common::CreateChannel(Target("stopping-dataset")));
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(30));
  dataset::v1::UploadDatasetResponse response;
  auto upload = stub->UploadDataset(&context, &response);
  dataset::v1::UploadDatasetRequest request;
  request.mutable_metadata()->set_name("held-open");
  request.mutable_metadata()->set_label("Scam");  // a plain address list
  ASSERT_TRUE(upload->Write(request));
  request.set_chunk("address\n0x52908400098527886e0f7030069857d2e4169ee7\n");
  ASSERT_TRUE(upload->Write(request));
  absl::SleepFor(absl::Milliseconds(300));  // The upload is in flight on the server.
  kill(process.pid(), SIGTERM);
  absl::SleepFor(absl::Milliseconds(300));  // Shutting down, waiting for the upload.
  kill(process.pid(), SIGTERM);
  const int status = process.Stop(absl::Seconds(15));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status << "\n"
                                                             << process.LogTail();
  context.TryCancel();
}

TEST_F(FaultsIntegrationTest, TheRedisUrlIsLoggedWithItsPasswordRedacted) {
  processes_.clear();  // Stops every process, so its log is complete.
  std::ifstream in(absl::StrCat(dir_, "/training.log"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find(absl::StrCat("redis://:***@127.0.0.1:", redis_->port())),
            std::string::npos)
      << text.str();
}

}  // namespace
}  // namespace ethscan::testing

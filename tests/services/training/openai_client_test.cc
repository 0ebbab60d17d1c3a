// The OpenAI-compatible API client against the fake API (tests/fakes/fake_openai.py) on
// loopback: the documented request and response shapes, the retry rules (429 with
// retry-after, 5xx, insufficient quota, a create that must not be repeated) and key hygiene.
#include "services/training/openai_client.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/fake_openai.h"
#include "tests/testing/free_port.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_paths.h"

namespace ethscan::training::openai {
namespace {

using ::ethscan::testing::FakeOpenAi;
using ::ethscan::testing::IsOk;
using ::ethscan::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

// `n` chat examples as JSONL.
std::string ChatJsonl(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    nlohmann::json line = {
        {"messages",
         {{{"role", "system"}, {"content", "Report on an Ethereum address."}},
          {{"role", "user"}, {"content", absl::StrCat("0x", std::string(39, 'a'), i % 10)}},
          {{"role", "assistant"}, {"content", "{\"Label\":\"Phish / Hack\"}"}}}}};
    absl::StrAppend(&out, line.dump(), "\n");
  }
  return out;
}

class OpenAiClientTest : public ::testing::Test {
 protected:
  void TearDown() override {
    fake_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartFake(FakeOpenAi::Options options = {}) {
    ASSERT_OK_AND_ASSIGN(fake_, FakeOpenAi::Start(options, dir_));
  }

  // A client of the fake whose waits are recorded, not slept.
  std::unique_ptr<Client> MakeClient(std::string key = "") {
    Client::Options o;
    o.base_url = fake_->base_url();
    o.api_key = key.empty() ? fake_->api_key() : key;
    o.sleep = [this](absl::Duration d) {
      waits_.push_back(d);
      absl::SleepFor(absl::Milliseconds(1));
      return true;
    };
    return std::make_unique<Client>(o, &http_);
  }

  Job WaitFor(Client* client, const std::string& id, const std::string& status) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    Job job;
    while (absl::Now() < deadline) {
      absl::StatusOr<Job> got = client->GetJob(id);
      EXPECT_THAT(got.status(), IsOk());
      if (!got.ok()) break;
      job = *got;
      if (job.status == status || job.finished()) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_EQ(job.status, status);
    return job;
  }

  nlohmann::json State() {
    absl::StatusOr<nlohmann::json> state = fake_->State();
    EXPECT_THAT(state.status(), IsOk());
    return state.ok() ? *state : nlohmann::json::object();
  }

  std::string dir_ = ::ethscan::testing::MakeTempDir("openai-client");
  std::unique_ptr<FakeOpenAi> fake_;
  http::CurlClient http_;
  std::vector<absl::Duration> waits_;
};

TEST_F(OpenAiClientTest, RunsAJobFromUploadToTheFineTunedModel) {
  StartFake();
  std::unique_ptr<Client> client = MakeClient();
  ASSERT_OK_AND_ASSIGN(File training, client->UploadFile("train.jsonl", ChatJsonl(12)));
  ASSERT_OK_AND_ASSIGN(File validation, client->UploadFile("valid.jsonl", ChatJsonl(10)));
  EXPECT_TRUE(absl::StartsWith(training.id, "file-"));
  EXPECT_GT(training.bytes, 0u);

  CreateJobParams params;
  params.model = "gpt-4o-mini-2024-07-18";
  params.training_file = training.id;
  params.validation_file = validation.id;
  params.suffix = "scan";
  params.seed = 7;
  params.n_epochs = 3;
  params.metadata = {{"ethscan_job_id", "ftjob-0123"}};
  ASSERT_OK_AND_ASSIGN(Job created, client->CreateJob(params));
  EXPECT_EQ(created.status, "validating_files");
  EXPECT_EQ(created.hyperparameters.at("n_epochs"), 3);
  // "auto" comes back resolved.
  EXPECT_EQ(created.hyperparameters.count("batch_size"), 1u);

  Job done = WaitFor(client.get(), created.id, "succeeded");
  EXPECT_TRUE(absl::StartsWith(done.fine_tuned_model, "ft:gpt-4o-mini-2024-07-18:fake-org:scan:"))
      << done.fine_tuned_model;
  EXPECT_GT(done.trained_tokens, 0);
  ASSERT_THAT(done.result_files, SizeIs(1));

  // Events oldest first, every step's metrics among them; asked again, nothing new.
  std::set<std::string> seen;
  ASSERT_OK_AND_ASSIGN(
      std::vector<Event> events,
      client->NewEvents(done.id, [&](const std::string& id) { return seen.count(id) > 0; }));
  int metrics = 0;
  int last_step = 0;
  for (const Event& e : events) {
    seen.insert(e.id);
    if (e.type != "metrics") continue;
    ++metrics;
    EXPECT_EQ(e.data.at("step"), last_step + 1);
    last_step = static_cast<int>(e.data.at("step"));
    EXPECT_EQ(e.data.at("total_steps"), 12);
    EXPECT_EQ(e.data.count("valid_loss"), 1u);
  }
  EXPECT_EQ(metrics, 12);
  EXPECT_EQ(events.front().message, absl::StrCat("Created fine-tuning job: ", done.id));
  ASSERT_OK_AND_ASSIGN(
      std::vector<Event> again,
      client->NewEvents(done.id, [&](const std::string& id) { return seen.count(id) > 0; }));
  EXPECT_THAT(again, SizeIs(0));

  // One checkpoint per epoch, the last three kept, lowest step first.
  ASSERT_OK_AND_ASSIGN(std::vector<Checkpoint> checkpoints, client->ListCheckpoints(done.id));
  ASSERT_THAT(checkpoints, SizeIs(3));
  EXPECT_EQ(checkpoints[0].step, 4);
  EXPECT_EQ(checkpoints[2].step, 12);
  EXPECT_EQ(checkpoints[2].model, absl::StrCat(done.fine_tuned_model, ":ckpt-step-12"));
  EXPECT_EQ(checkpoints[2].metrics.count("full_valid_loss"), 1u);

  ASSERT_OK_AND_ASSIGN(std::string csv, client->FileContent(done.result_files[0]));
  EXPECT_TRUE(absl::StartsWith(csv, "step,train_loss,train_accuracy,valid_loss")) << csv;

  ASSERT_OK_AND_ASSIGN(std::optional<Job> found,
                       client->FindJobByMetadata("ethscan_job_id", "ftjob-0123"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, done.id);
  ASSERT_OK_AND_ASSIGN(std::optional<Job> none,
                       client->FindJobByMetadata("ethscan_job_id", "ftjob-other"));
  EXPECT_FALSE(none.has_value());

  // The request as the API documents it: method "supervised" with the hyperparameters, the
  // upload's purpose, a bearer key.
  bool saw_create = false;
  for (absl::string_view line : absl::StrSplit(fake_->RequestLog(), '\n', absl::SkipEmpty())) {
    nlohmann::json r = nlohmann::json::parse(line);
    if (r["path"] == "/v1/files" && r["method"] == "POST") {
      EXPECT_EQ(r["body"]["purpose"], "fine-tune");
      EXPECT_TRUE(absl::EndsWith(r["body"]["file"]["filename"].get<std::string>(), ".jsonl"));
    }
    if (r["path"] == "/v1/fine_tuning/jobs" && r["method"] == "POST") {
      saw_create = true;
      EXPECT_EQ(r["body"]["method"]["type"], "supervised");
      EXPECT_EQ(r["body"]["method"]["supervised"]["hyperparameters"]["n_epochs"], 3);
      EXPECT_EQ(r["body"]["method"]["supervised"]["hyperparameters"]["batch_size"], "auto");
      EXPECT_EQ(r["body"]["seed"], 7);
      EXPECT_EQ(r["body"]["metadata"]["ethscan_job_id"], "ftjob-0123");
      EXPECT_EQ(r["headers"]["Authorization"], absl::StrCat("Bearer ", fake_->api_key()));
    }
  }
  EXPECT_TRUE(saw_create);
}

TEST_F(OpenAiClientTest, RetriesRateLimitsAsTheServerAsksAndServerErrorsWithBackoff) {
  FakeOpenAi::Options options;
  options.rate_limit = 2;
  options.server_errors = 2;
  StartFake(options);
  std::unique_ptr<Client> client = MakeClient();
  ASSERT_OK_AND_ASSIGN(File file, client->UploadFile("train.jsonl", ChatJsonl(10)));
  EXPECT_FALSE(file.id.empty());
  nlohmann::json state = State();
  EXPECT_EQ(state["rate_limited"], 2);
  EXPECT_EQ(state["server_errors"], 2);
  // The 429s said retry-after-ms 200; the 500 and the HTML 502 said nothing: the backoff of
  // the third and fourth try, 0.5 s doubled per try, drawn from the upper half.
  ASSERT_THAT(waits_, SizeIs(4));
  EXPECT_EQ(waits_[0], absl::Milliseconds(200));
  EXPECT_EQ(waits_[1], absl::Milliseconds(200));
  EXPECT_GE(waits_[2], absl::Seconds(1));
  EXPECT_LE(waits_[2], absl::Seconds(2));
  EXPECT_GE(waits_[3], absl::Seconds(2));
  EXPECT_LE(waits_[3], absl::Seconds(4));
}

TEST_F(OpenAiClientTest, GivesUpAfterMaxRetriesWithTheLastError) {
  FakeOpenAi::Options options;
  options.server_errors = 10;
  StartFake(options);
  std::unique_ptr<Client> client = MakeClient();
  EXPECT_THAT(client->GetJob("ftjob-x"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("GET /fine_tuning/jobs/ftjob-x: HTTP 5"),
                             HasSubstr("(after 5 tries)"))));
  EXPECT_THAT(waits_, SizeIs(4));
}

TEST_F(OpenAiClientTest, DoesNotRepeatACreateThatMayHaveHappened) {
  FakeOpenAi::Options options;
  options.server_errors = 1;
  StartFake(options);
  std::unique_ptr<Client> client = MakeClient();
  CreateJobParams params;
  params.model = "gpt-4o-mini-2024-07-18";
  params.training_file = "file-any";
  EXPECT_THAT(client->CreateJob(params),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP 500 server_error")));
  EXPECT_EQ(State()["create_job_requests"], 1);
  EXPECT_THAT(waits_, SizeIs(0));
}

TEST_F(OpenAiClientTest, InsufficientQuotaIsNotRetried) {
  FakeOpenAi::Options options;
  options.insufficient_quota = true;
  StartFake(options);
  std::unique_ptr<Client> client = MakeClient();
  ASSERT_OK_AND_ASSIGN(File file, client->UploadFile("train.jsonl", ChatJsonl(10)));
  CreateJobParams params;
  params.model = "gpt-4o-mini-2024-07-18";
  params.training_file = file.id;
  absl::StatusOr<Job> created = client->CreateJob(params);
  EXPECT_THAT(created, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("You exceeded your current quota")));
  ASSERT_TRUE(ApiErrorOf(created.status()).has_value());
  EXPECT_EQ(ApiErrorOf(created.status())->code, "insufficient_quota");
  EXPECT_EQ(State()["create_job_requests"], 1);
  EXPECT_THAT(waits_, SizeIs(0));
}

TEST_F(OpenAiClientTest, KeepsTheApisMessageCodeAndParamOnA400) {
  StartFake();
  std::unique_ptr<Client> client = MakeClient();
  ASSERT_OK_AND_ASSIGN(File file, client->UploadFile("train.jsonl", ChatJsonl(10)));
  CreateJobParams params;
  params.model = "davinci-002";
  params.training_file = file.id;
  absl::StatusOr<Job> created = client->CreateJob(params);
  EXPECT_THAT(created,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("POST /fine_tuning/jobs: HTTP 400 invalid_request_error "
                                       "(code model_not_available, param model)"),
                             HasSubstr("Model davinci-002 is not available for fine-tuning"))));
  ASSERT_TRUE(ApiErrorOf(created.status()).has_value());
  EXPECT_EQ(ApiErrorOf(created.status())->param, "model");
  EXPECT_THAT(client->GetJob("ftjob-missing"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(OpenAiClientTest, NeverRepeatsTheKeyTheApiEchoes) {
  StartFake();
  const std::string wrong = "sk-proj-WRONGkey0123456789abcdef";
  std::unique_ptr<Client> client = MakeClient(wrong);
  absl::StatusOr<File> file = client->UploadFile("train.jsonl", ChatJsonl(10));
  EXPECT_THAT(file, StatusIs(absl::StatusCode::kUnauthenticated,
                             AllOf(HasSubstr("Incorrect API key provided: ***"),
                                   Not(HasSubstr(wrong)), Not(HasSubstr("WRONGkey")))));
  ASSERT_TRUE(ApiErrorOf(file.status()).has_value());
  EXPECT_THAT(ApiErrorOf(file.status())->message, Not(HasSubstr("WRONGkey")));
  // The fake did see the key (and echoed it): the redaction is the client's.
  EXPECT_THAT(fake_->RequestLog(), HasSubstr(wrong));
}

TEST_F(OpenAiClientTest, CancelsARunningJob) {
  FakeOpenAi::Options options;
  options.steps = 1000;
  StartFake(options);
  std::unique_ptr<Client> client = MakeClient();
  ASSERT_OK_AND_ASSIGN(File file, client->UploadFile("train.jsonl", ChatJsonl(10)));
  CreateJobParams params;
  params.model = "gpt-4o-mini-2024-07-18";
  params.training_file = file.id;
  ASSERT_OK_AND_ASSIGN(Job created, client->CreateJob(params));
  WaitFor(client.get(), created.id, "running");
  ASSERT_OK_AND_ASSIGN(Job cancelled, client->CancelJob(created.id));
  EXPECT_EQ(cancelled.status, "cancelled");
  EXPECT_THAT(client->CancelJob(created.id),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("already completed")));
}

TEST_F(OpenAiClientTest, AnUnreachableEndpointIsUnavailableAfterItsRetries) {
  Client::Options o;
  o.base_url = absl::StrCat("http://user:pw@127.0.0.1:", ::ethscan::testing::PickFreePort(), "/v1");
  o.api_key = "sk-unused-0123456789";
  o.max_retries = 2;
  o.sleep = [this](absl::Duration d) {
    waits_.push_back(d);
    return true;
  };
  Client client(o, &http_);
  EXPECT_THAT(client.GetJob("ftjob-1"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("(after 3 tries)"), Not(HasSubstr("pw@")))));
  EXPECT_THAT(waits_, SizeIs(2));
  EXPECT_THAT(client.Endpoint(), Not(HasSubstr("pw")));
}

TEST(RetryAfterTest, ReadsMillisecondsSecondsAndDates) {
  http::Response r;
  const absl::Time now = absl::FromUnixSeconds(1445412480);  // 2015-10-21 07:28:00 UTC
  EXPECT_EQ(RetryAfter(r, now), std::nullopt);
  r.headers["retry-after"] = "3";
  EXPECT_EQ(RetryAfter(r, now), absl::Seconds(3));
  r.headers["retry-after-ms"] = "250";
  EXPECT_EQ(RetryAfter(r, now), absl::Milliseconds(250));
  r.headers.erase("retry-after-ms");
  r.headers["retry-after"] = "Wed, 21 Oct 2015 07:28:10 GMT";
  EXPECT_EQ(RetryAfter(r, now), absl::Seconds(10));
  r.headers["retry-after"] = "soon";
  EXPECT_EQ(RetryAfter(r, now), std::nullopt);
}

TEST(RedactTest, HidesTheKeyAndAnythingShapedLikeOne) {
  Client::Options o;
  o.api_key = "my-own-secret";
  Client client(o, nullptr);
  EXPECT_EQ(client.Redact("key my-own-secret and sk-abcdefgh123 but sk-ab"),
            "key *** and sk-*** but sk-ab");
}

}  // namespace
}  // namespace ethscan::training::openai

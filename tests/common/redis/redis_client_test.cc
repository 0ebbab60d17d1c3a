// Runs against a real redis-server started on a free loopback port.
#include "common/redis/redis_client.h"

#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"

namespace ethscan::redis {
namespace {

class HiredisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::RedisServer>> server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    Options options;
    options.url = server_->url();
    absl::StatusOr<std::unique_ptr<HiredisClient>> client = HiredisClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<HiredisClient> client_;
};

TEST_F(HiredisClientTest, RoundTripsBinarySafeValues) {
  std::string value("a\0b\r\nc", 6);
  ASSERT_TRUE(client_->Command({"SET", "k", value}).ok());
  absl::StatusOr<Reply> got = client_->Command({"GET", "k"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->type, Reply::Type::kString);
  EXPECT_EQ(got->str, value);
  absl::StatusOr<Reply> missing = client_->Command({"GET", "nope"});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_nil());
}

TEST_F(HiredisClientTest, PipelinesAndReportsErrorReplies) {
  absl::StatusOr<std::vector<Reply>> replies =
      client_->Pipeline({{"RPUSH", "l", "a", "b"}, {"LRANGE", "l", "0", "-1"}});
  ASSERT_TRUE(replies.ok());
  EXPECT_EQ((*replies)[0].integer, 2);
  ASSERT_EQ((*replies)[1].elements.size(), 2u);
  EXPECT_EQ((*replies)[1].elements[1].str, "b");
  absl::StatusOr<Reply> bad = client_->Command({"INCR", "l"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(bad.status().message().find("WRONGTYPE"), std::string::npos);
}

TEST_F(HiredisClientTest, ReconnectsAfterRedisRestarts) {
  ASSERT_TRUE(client_->Command({"SET", "k", "v"}).ok());
  ASSERT_TRUE(server_->Restart().ok());
  absl::StatusOr<Reply> pong = client_->Command({"PING"});
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->str, "PONG");
}

TEST(HiredisClientCreateTest, UnreachableRedisIsUnavailable) {
  Options options;
  options.url = "redis://127.0.0.1:1";
  options.connect_timeout = absl::Milliseconds(200);
  EXPECT_EQ(HiredisClient::Create(options).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ethscan::redis

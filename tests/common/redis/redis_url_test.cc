#include "common/redis/redis_client.h"
#include "gtest/gtest.h"

namespace ethscan::redis {
namespace {

TEST(RedisUrlTest, ParsesEveryPart) {
  absl::StatusOr<Endpoint> e = ParseUrl("redis://:secret@redis.local:6380/2");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->host, "redis.local");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->password, "secret");
  EXPECT_EQ(e->db, 2);
}

TEST(RedisUrlTest, DefaultsPortAndHost) {
  absl::StatusOr<Endpoint> e = ParseUrl("redis://");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 6379);
  e = ParseUrl("redis://[::1]:7000");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 7000);
}

TEST(RedisUrlTest, RejectsBadUrls) {
  EXPECT_FALSE(ParseUrl("http://localhost").ok());
  EXPECT_FALSE(ParseUrl("redis://localhost:notaport").ok());
  EXPECT_FALSE(ParseUrl("redis://localhost:6379/x").ok());
}

}  // namespace
}  // namespace ethscan::redis

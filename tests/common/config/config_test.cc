#include "common/config/config.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace ethscan::config {
namespace {

TEST(ConfigTest, FlagWinsOverEnvironmentOverDefault) {
  setenv("ETHSCAN_TEST_VALUE", "from-env", 1);
  EXPECT_EQ(FlagOrEnv("from-flag", "ETHSCAN_TEST_VALUE", "default"), "from-flag");
  EXPECT_EQ(FlagOrEnv("", "ETHSCAN_TEST_VALUE", "default"), "from-env");
  unsetenv("ETHSCAN_TEST_VALUE");
  EXPECT_EQ(FlagOrEnv("", "ETHSCAN_TEST_VALUE", "default"), "default");
}

TEST(ConfigTest, ValidatesHostPort) {
  EXPECT_TRUE(ValidateHostPort("localhost:50051", "listen").ok());
  EXPECT_TRUE(ValidateHostPort(":50052", "listen").ok());
  EXPECT_TRUE(ValidateHostPort("[::1]:0", "listen").ok());
  EXPECT_EQ(ValidateHostPort("localhost", "--listen").message(),
            "--listen \"localhost\" must be HOST:PORT");
  EXPECT_FALSE(ValidateHostPort("localhost:http", "listen").ok());
  EXPECT_FALSE(ValidateHostPort("localhost:70000", "listen").ok());
}

TEST(ConfigTest, ParsesDurations) {
  EXPECT_EQ(*ParseDurationFlag("250ms", "deadline"), absl::Milliseconds(250));
  EXPECT_FALSE(ParseDurationFlag("soon", "deadline").ok());
  EXPECT_FALSE(ParseDurationFlag("-1s", "deadline").ok());
}

TEST(ConfigTest, ServiceTargetsDefaultToContractPorts) {
  unsetenv("ETHSCAN_GATEWAY_ADDR");
  setenv("ETHSCAN_INFERENCE_ADDR", "inference:9000", 1);
  ServiceTargets t = ServiceTargets::FromEnv();
  EXPECT_EQ(t.gateway, "localhost:50051");
  EXPECT_EQ(t.dataset, "localhost:50052");
  EXPECT_EQ(t.inference, "inference:9000");
  unsetenv("ETHSCAN_INFERENCE_ADDR");
}

}  // namespace
}  // namespace ethscan::config

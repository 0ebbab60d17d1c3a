#include "common/eth/address.h"

#include "common/eth/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ethscan::eth {
namespace {

using ::testing::HasSubstr;

// Vectors from the EIP-55 specification.
constexpr const char* kChecksummed[] = {
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"};
constexpr const char* kAllCaps[] = {"0x52908400098527886E0F7030069857D2E4169EE7",
                                    "0x8617E340B3D01FA5F11F306F4090FD50E238070D"};
constexpr const char* kAllLower[] = {"0xde709f2102306220921060314715629080e2fb77",
                                     "0x27b1fdb04752bbc536007a920d24acb045561c26"};

TEST(Keccak256Test, MatchesKnownDigests) {
  std::array<uint8_t, 32> empty = Keccak256("");
  EXPECT_EQ(ToHex(empty.data(), empty.size()),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  std::array<uint8_t, 32> abc = Keccak256("abc");
  EXPECT_EQ(ToHex(abc.data(), abc.size()),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(Sha256Test, MatchesKnownDigest) {
  EXPECT_EQ(Sha256::HexDigest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 incremental;
  incremental.Update("a");
  incremental.Update("bc");
  EXPECT_EQ(incremental.FinishHex(), Sha256::HexDigest("abc"));
}

TEST(AddressTest, ChecksumsSpecificationVectors) {
  for (const char* text : kChecksummed) {
    absl::StatusOr<Address> a = Address::Parse(text);
    ASSERT_TRUE(a.ok()) << text << ": " << a.status();
    EXPECT_EQ(a->ToChecksumHex(), text);
    EXPECT_TRUE(Address::HasValidChecksum(text));
  }
}

TEST(AddressTest, AcceptsAllCapsAndAllLower) {
  for (const char* text : kAllCaps) {
    absl::StatusOr<Address> a = Address::Parse(text);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->ToChecksumHex(), text);  // the spec's all-caps vectors are their own checksum
  }
  for (const char* text : kAllLower) {
    absl::StatusOr<Address> a = Address::Parse(text);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->ToLowerHex(), text);
    EXPECT_EQ(a->ToChecksumHex(), text);
  }
}

TEST(AddressTest, LowercaseOfChecksummedParsesToSameAddress) {
  absl::StatusOr<Address> mixed = Address::Parse(kChecksummed[0]);
  absl::StatusOr<Address> lower = Address::Parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
  ASSERT_TRUE(mixed.ok() && lower.ok());
  EXPECT_EQ(*mixed, *lower);
  EXPECT_EQ(lower->ToChecksumHex(), kChecksummed[0]);
}

TEST(AddressTest, RejectsWrongChecksumInMixedCase) {
  // One letter's case flipped in a valid checksum.
  absl::StatusOr<Address> a = Address::Parse("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("checksum"));
  EXPECT_THAT(std::string(a.status().message()), HasSubstr(kChecksummed[0]));
}

TEST(AddressTest, LenientPolicyAcceptsKnownBadChecksum) {
  // Printed this way by Etherscan and copied into public label lists.
  constexpr const char* kBad = "0xf299f6B031Cc4dd1BfcB86A5e5590f99336a29c6";
  EXPECT_FALSE(Address::Parse(kBad).ok());
  EXPECT_FALSE(Address::HasValidChecksum(kBad));
  absl::StatusOr<Address> a = Address::Parse(kBad, Address::ChecksumPolicy::kLenient);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ToLowerHex(), "0xf299f6b031cc4dd1bfcb86a5e5590f99336a29c6");
  // The two-argument form agrees, given the checksummed form it would otherwise compute.
  const std::string checksummed = a->ToChecksumHex();
  EXPECT_FALSE(Address::HasValidChecksum(kBad, checksummed));
  EXPECT_TRUE(Address::HasValidChecksum(checksummed, checksummed));
  EXPECT_TRUE(Address::HasValidChecksum(a->ToLowerHex(), checksummed));
}

TEST(AddressTest, RejectsMalformedInput) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x"},
      {"0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", "38 hex digits"},
      {"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00", "42 hex digits"},
      {"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", "non-hex character at position 42"},
      {" 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "must start with 0x"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Address> a = Address::Parse(c.text);
    ASSERT_FALSE(a.ok()) << c.text;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(a.status().message()), HasSubstr(c.reason)) << c.text;
  }
}

TEST(AddressTest, HashesAndOrdersByBytes) {
  absl::StatusOr<Address> a = Address::Parse(kAllLower[0]);
  absl::StatusOr<Address> b = Address::Parse(kAllLower[1]);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(absl::HashOf(*a), absl::HashOf(*b));
  EXPECT_TRUE(*b < *a);  // 0x27… < 0xde…
}

}  // namespace
}  // namespace ethscan::eth

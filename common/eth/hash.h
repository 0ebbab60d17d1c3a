// Hash functions used across ethscan: Keccak-256 (Ethereum's, with the original padding,
// not FIPS SHA3-256) and SHA-256 for content addressing. Both come from Crypto++, since
// OpenSSL 3.0 has no Keccak-256.
#ifndef ETHSCAN_COMMON_ETH_HASH_H_
#define ETHSCAN_COMMON_ETH_HASH_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace ethscan::eth {

// Keccak-256 digest of `data`.
std::array<uint8_t, 32> Keccak256(absl::string_view data);

// Lowercase hex of any byte span.
std::string ToHex(const uint8_t* data, size_t size);

// Incremental SHA-256. Not thread-safe; one instance per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view data);
  // Returns the lowercase hex digest; the object must not be used afterwards.
  std::string FinishHex();

  // One-shot helper.
  static std::string HexDigest(absl::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ethscan::eth

#endif  // ETHSCAN_COMMON_ETH_HASH_H_

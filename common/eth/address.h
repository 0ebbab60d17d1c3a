// Ethereum addresses: parsing, validation and EIP-55 mixed-case checksums.
#ifndef ETHSCAN_COMMON_ETH_ADDRESS_H_
#define ETHSCAN_COMMON_ETH_ADDRESS_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ethscan::eth {

// A 20-byte account address. Cheap to copy, hashable, ordered by bytes.
class Address {
 public:
  // How strictly Parse treats the letter case of the hex digits.
  enum class ChecksumPolicy {
    // Lowercase and all-caps input are accepted; mixed case must be a valid EIP-55 checksum.
    kStrict,
    // Mixed case with a wrong checksum is accepted too (some public label lists print such
    // addresses); the caller can still ask HasValidChecksum.
    kLenient,
  };

  Address() = default;
  explicit Address(const std::array<uint8_t, 20>& bytes) : bytes_(bytes) {}

  // Parses "0x" (or "0X") followed by 40 hex digits. Surrounding whitespace is not accepted.
  // Errors are INVALID_ARGUMENT with a message naming the problem ("wrong length: 39 hex
  // digits, need 40", "bad EIP-55 checksum: expected 0x…").
  static absl::StatusOr<Address> Parse(absl::string_view text,
                                       ChecksumPolicy policy = ChecksumPolicy::kStrict);

  // True when `text` is all lowercase, all uppercase, or a correct EIP-55 checksum.
  // `text` must already be a syntactically valid address.
  static bool HasValidChecksum(absl::string_view text);
  // The same for `text` that already parsed, given its EIP-55 form `checksummed`
  // (ToChecksumHex), without hashing again: all lowercase, all uppercase, or equal to it.
  static bool HasValidChecksum(absl::string_view text, absl::string_view checksummed);

  // "0x" + EIP-55 mixed-case hex.
  std::string ToChecksumHex() const;
  // "0x" + lowercase hex.
  std::string ToLowerHex() const;

  const std::array<uint8_t, 20>& bytes() const { return bytes_; }

  friend bool operator==(const Address& a, const Address& b) { return a.bytes_ == b.bytes_; }
  friend bool operator!=(const Address& a, const Address& b) { return a.bytes_ != b.bytes_; }
  friend bool operator<(const Address& a, const Address& b) { return a.bytes_ < b.bytes_; }
  template <typename H>
  friend H AbslHashValue(H h, const Address& a) {
    return H::combine_contiguous(std::move(h), a.bytes_.data(), a.bytes_.size());
  }

 private:
  std::array<uint8_t, 20> bytes_{};
};

// Applies the EIP-55 checksum to 40 lowercase hex digits (no "0x"); returns 40 characters.
std::string ChecksumHexDigits(absl::string_view lower_hex40);

// Decodes exactly 40 hex digits (either letter case, no "0x") into 20 bytes, without a branch
// per digit; false when one of them is not a hex digit.
bool DecodeHexDigits(absl::string_view digits40, std::array<uint8_t, 20>* bytes);

// The same checksum as a letter-case mask (one Keccak-256): bit i is set when digit i of the
// EIP-55 form of the 40 lowercase hex digits is an uppercase letter.
uint64_t ChecksumUppercaseMask(absl::string_view lower_hex40);

}  // namespace ethscan::eth

#endif  // ETHSCAN_COMMON_ETH_ADDRESS_H_

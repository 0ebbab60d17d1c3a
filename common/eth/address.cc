#include "common/eth/address.h"

#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/eth/hash.h"

namespace ethscan::eth {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

uint64_t ChecksumUppercaseMask(absl::string_view lower_hex40) {
  const std::array<uint8_t, 32> hash = Keccak256(lower_hex40);
  uint64_t mask = 0;
  for (size_t i = 0; i < 40 && i < lower_hex40.size(); ++i) {
    // A letter is uppercase where its hash nibble is 8 or more.
    const uint64_t nibble_high_bit = (hash[i / 2] >> (i % 2 == 0 ? 7 : 3)) & 1;
    const uint64_t letter = lower_hex40[i] >= 'a';
    mask |= (nibble_high_bit & letter) << i;
  }
  return mask;
}

std::string ChecksumHexDigits(absl::string_view lower_hex40) {
  const uint64_t mask = ChecksumUppercaseMask(lower_hex40);
  std::string out(lower_hex40);
  for (size_t i = 0; i < out.size() && i < 40; ++i) {
    if ((mask >> i) & 1) out[i] = absl::ascii_toupper(static_cast<unsigned char>(out[i]));
  }
  return out;
}

absl::StatusOr<Address> Address::Parse(absl::string_view text, ChecksumPolicy policy) {
  if (text.empty()) return absl::InvalidArgumentError("empty address");
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid address \"", text, "\": must start with 0x"));
  }
  absl::string_view digits = text.substr(2);
  if (digits.size() != 40) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid address \"", text, "\": ", digits.size(), " hex digits, need 40"));
  }
  std::array<uint8_t, 20> bytes;
  bool has_lower = false;
  bool has_upper = false;
  for (size_t i = 0; i < 40; ++i) {
    int v = HexValue(digits[i]);
    if (v < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid address \"", text, "\": non-hex character at position ", i + 3));
    }
    if (digits[i] >= 'a' && digits[i] <= 'f') has_lower = true;
    if (digits[i] >= 'A' && digits[i] <= 'F') has_upper = true;
    if (i % 2 == 0) {
      bytes[i / 2] = static_cast<uint8_t>(v << 4);
    } else {
      bytes[i / 2] |= static_cast<uint8_t>(v);
    }
  }
  Address address(bytes);
  if (has_lower && has_upper && policy == ChecksumPolicy::kStrict) {
    std::string expected = address.ToChecksumHex();
    if (absl::string_view(expected).substr(2) != digits) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad EIP-55 checksum in address \"", text,
                       "\": mixed-case input must be checksummed; expected ", expected,
                       " (or pass the address in lowercase)"));
    }
  }
  return address;
}

bool Address::HasValidChecksum(absl::string_view text) {
  absl::StatusOr<Address> parsed = Parse(text, ChecksumPolicy::kStrict);
  return parsed.ok();
}

bool Address::HasValidChecksum(absl::string_view text, absl::string_view checksummed) {
  bool has_lower = false;
  bool has_upper = false;
  for (char c : text.substr(2)) {
    has_lower = has_lower || (c >= 'a' && c <= 'f');
    has_upper = has_upper || (c >= 'A' && c <= 'F');
  }
  return !(has_lower && has_upper) || text.substr(2) == checksummed.substr(2);
}

std::string Address::ToLowerHex() const {
  return absl::StrCat("0x", ToHex(bytes_.data(), bytes_.size()));
}

std::string Address::ToChecksumHex() const {
  return absl::StrCat("0x", ChecksumHexDigits(ToHex(bytes_.data(), bytes_.size())));
}

}  // namespace ethscan::eth

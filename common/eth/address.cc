#include "common/eth/address.h"

#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/eth/hash.h"
#include "common/text/quote.h"
#include "common/text/quote.h"

namespace ethscan::eth {
namespace {

// The value of each byte as a hex digit, or 0xFF.
constexpr std::array<uint8_t, 256> kHexValues = [] {
  std::array<uint8_t, 256> values{};
  for (int c = 0; c < 256; ++c) {
    values[c] = c >= '0' && c <= '9'   ? static_cast<uint8_t>(c - '0')
                : c >= 'a' && c <= 'f' ? static_cast<uint8_t>(c - 'a' + 10)
                : c >= 'A' && c <= 'F' ? static_cast<uint8_t>(c - 'A' + 10)
                                       : 0xFF;
  }
  return values;
}();

}  // namespace

bool DecodeHexDigits(absl::string_view digits40, std::array<uint8_t, 20>* bytes) {
  if (digits40.size() != 40) return false;
  const auto* digits = reinterpret_cast<const uint8_t*>(digits40.data());
  uint8_t invalid = 0;
  for (size_t i = 0; i < 40; i += 2) {
    const uint8_t high = kHexValues[digits[i]];
    const uint8_t low = kHexValues[digits[i + 1]];
    invalid |= high | low;
    (*bytes)[i / 2] = static_cast<uint8_t>(high << 4 | (low & 0x0F));
  }
  return (invalid & 0xF0) == 0;
}

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
        absl::StrCat("invalid address ", ethscan::text::Quote(text), ": must start with 0x"));
  }
  absl::string_view digits = text.substr(2);
  if (digits.size() != 40) {
    return absl::InvalidArgumentError(absl::StrCat("invalid address ", ethscan::text::Quote(text),
                                                   ": ", digits.size(), " hex digits, need 40"));
  }
  std::array<uint8_t, 20> bytes;
  if (!DecodeHexDigits(digits, &bytes)) {
    size_t bad = 0;
    while (kHexValues[static_cast<uint8_t>(digits[bad])] != 0xFF) ++bad;
    return absl::InvalidArgumentError(absl::StrCat("invalid address ", ethscan::text::Quote(text),
                                                   ": non-hex character at position ", bad + 3));
  }
  bool has_lower = false;
  bool has_upper = false;
  for (const char c : digits) {
    has_lower |= c >= 'a' && c <= 'f';
    has_upper |= c >= 'A' && c <= 'F';
  }
  Address address(bytes);
  if (has_lower && has_upper && policy == ChecksumPolicy::kStrict) {
    std::string expected = address.ToChecksumHex();
    if (absl::string_view(expected).substr(2) != digits) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad EIP-55 checksum in address ", ethscan::text::Quote(text),
                       ": mixed-case input must be checksummed; expected ", expected,
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

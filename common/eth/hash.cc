#include "common/eth/hash.h"

#include <cryptopp/keccak.h>
#include <cryptopp/sha.h>

namespace ethscan::eth {

std::array<uint8_t, 32> Keccak256(absl::string_view data) {
  std::array<uint8_t, 32> digest;
  CryptoPP::Keccak_256 hash;
  hash.CalculateDigest(digest.data(), reinterpret_cast<const CryptoPP::byte*>(data.data()),
                       data.size());
  return digest;
}

std::string ToHex(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

struct Sha256::Impl {
  CryptoPP::SHA256 hash;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;

void Sha256::Update(absl::string_view data) {
  impl_->hash.Update(reinterpret_cast<const CryptoPP::byte*>(data.data()), data.size());
}

std::string Sha256::FinishHex() {
  std::array<uint8_t, CryptoPP::SHA256::DIGESTSIZE> digest;
  impl_->hash.Final(digest.data());
  return ToHex(digest.data(), digest.size());
}

std::string Sha256::HexDigest(absl::string_view data) {
  Sha256 hash;
  hash.Update(data);
  return hash.FinishHex();
}

}  // namespace ethscan::eth

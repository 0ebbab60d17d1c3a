#include "tools/bench/chat_jsonl_generator.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/eth/address.h"
#include "common/eth/hash.h"
#include "ethscan/common/v1/common.pb.h"
#include "services/dataset/chat_format.h"

namespace ethscan::bench {
namespace {

namespace fs = std::filesystem;

// The distinct lowercase addresses in the *.csv files under `dir`, in order of appearance.
absl::StatusOr<std::vector<std::string>> RealAddresses(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("data directory ", dir, " not found"));
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".csv") {
      files.push_back(entry.path());
    }
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", dir, ": ", ec.message()));
  std::sort(files.begin(), files.end());
  std::vector<std::string> addresses;
  absl::flat_hash_set<std::string> seen;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (!in && !in.eof()) return absl::InternalError(absl::StrCat("cannot read ", file.string()));
    const std::string text = buffer.str();
    for (size_t i = 0; i + 42 <= text.size(); ++i) {
      if (text[i] != '0' || (text[i + 1] != 'x' && text[i + 1] != 'X')) continue;
      if (i > 0 && absl::ascii_isalnum(static_cast<unsigned char>(text[i - 1]))) continue;
      size_t j = i + 2;
      while (j < text.size() && absl::ascii_isxdigit(static_cast<unsigned char>(text[j]))) ++j;
      if (j - i != 42 ||
          (j < text.size() && absl::ascii_isalnum(static_cast<unsigned char>(text[j])))) {
        i = j - 1;
        continue;
      }
      std::string address = absl::AsciiStrToLower(absl::string_view(text).substr(i, 42));
      if (seen.insert(address).second) addresses.push_back(std::move(address));
      i = j - 1;
    }
  }
  return addresses;
}

template <size_t N>
const char* Pick(std::mt19937_64& random, const std::array<const char*, N>& choices) {
  return choices[random() % N];
}

constexpr std::array<const char*, 24> kEntities = {
    "Uniswap",      "Binance",      "Coinbase", "Aave",        "Compound",      "Lido",
    "Curve",        "Maker",        "Tornado",  "Ronin",       "Wormhole",      "Nomad",
    "Poly Network", "Lazarus",      "OpenSea",  "Kraken",      "Café Protocol", "Zoë Labs",
    "Ünited Swap",  "Kōbe Finance", "名前 DAO", "Gnosis Safe", "0x Protocol",   "1inch"};
constexpr std::array<const char*, 8> kRoles = {"Router",    "Deployer", "Hot Wallet", "Treasury",
                                               "Exploiter", "Bridge",   "Token Sale", "Multisig"};
constexpr std::array<const char*, 8> kContractTypes = {"Token",    "DEX", "Bridge",  "Proxy",
                                                       "Multisig", "NFT", "Lending", "Mixer"};
constexpr std::array<const char*, 12> kTags = {
    "DeFi", "Token Contract", "Phishing", "Exchange",       "Bridge", "Hack", "Blocked",
    "NFT",  "Airdrop",        "Mixer",    "\"Fake\" token", "Ponzi"};

// Labels with a plausible mix: mostly Legit and Phish / Hack.
const char* PickLabel(std::mt19937_64& random) {
  const uint64_t r = random() % 100;
  if (r < 40) return "Legit";
  if (r < 65) return "Phish / Hack";
  if (r < 80) return "Scam";
  if (r < 85) return "Exploit";
  if (r < 90) return "Heist";
  if (r < 92) return "Sanctioned";
  return "Unknown";
}

void FillRecord(std::mt19937_64& random, uint64_t line, common::v1::AddressRecord* record) {
  const std::string label = PickLabel(random);
  const bool contract = random() % 100 < 35;
  const std::string entity = Pick(random, kEntities);
  record->set_label(label);
  record->set_account_type(random() % 20 == 0 ? "" : (contract ? "Smart Contract" : "EOA"));
  record->set_contract_type(contract ? Pick(random, kContractTypes) : "");
  if (label == "Phish / Hack" || label == "Scam") {
    record->set_name(random() % 2 == 0 ? absl::StrCat("Fake_Phishing", line % 100000) : "");
    record->set_entity("");
  } else {
    record->set_name(random() % 5 == 0
                         ? ""
                         : absl::StrCat(entity, ": ", Pick(random, kRoles), " ", 1 + random() % 9));
    record->set_entity(entity);
  }
  const int tags = static_cast<int>(random() % 4);
  for (int i = 0; i < tags; ++i) record->add_tags(Pick(random, kTags));
}

}  // namespace

absl::StatusOr<ChatJsonlStats> WriteChatJsonl(const ChatJsonlOptions& options,
                                              const std::string& path) {
  if (options.min_bytes == 0 || options.distinct_addresses == 0) {
    return absl::InvalidArgumentError("the size and the address count must be positive");
  }
  ChatJsonlStats stats;
  std::vector<std::string> pool;
  if (!options.data_dir.empty()) {
    absl::StatusOr<std::vector<std::string>> real = RealAddresses(options.data_dir);
    if (!real.ok()) return real.status();
    pool = *std::move(real);
    if (pool.size() > options.distinct_addresses) pool.resize(options.distinct_addresses);
  }
  stats.real_addresses = pool.size();
  for (uint64_t i = 0; pool.size() < options.distinct_addresses; ++i) {
    const std::array<uint8_t, 32> hash =
        eth::Keccak256(absl::StrCat("ethscan upload bench ", options.seed, " ", i));
    std::array<uint8_t, 20> bytes;
    std::copy(hash.begin(), hash.begin() + 20, bytes.begin());
    pool.push_back(eth::Address(bytes).ToLowerHex());
  }
  stats.distinct_addresses = pool.size();
  // The export writes EIP-55 addresses; one in ten stays lowercase, as people's files mix both.
  for (size_t i = 0; i < pool.size(); ++i) {
    if (i % 10 == 9) continue;
    absl::StatusOr<eth::Address> address = eth::Address::Parse(pool[i]);
    if (!address.ok()) return address.status();
    pool[i] = address->ToChecksumHex();
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (out == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  std::setvbuf(out.get(), nullptr, _IOFBF, 1 << 20);
  std::mt19937_64 random(options.seed);
  common::v1::AddressRecord record;
  while (stats.bytes < options.min_bytes) {
    record.Clear();
    record.set_address(pool[stats.lines % pool.size()]);
    FillRecord(random, stats.lines, &record);
    const std::string line = dataset::ChatExampleLine(record);
    if (std::fwrite(line.data(), 1, line.size(), out.get()) != line.size()) {
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
    }
    stats.bytes += line.size();
    ++stats.lines;
  }
  std::FILE* file = out.release();
  if (std::fclose(file) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return stats;
}

}  // namespace ethscan::bench

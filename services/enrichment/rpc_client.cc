#include "services/enrichment/rpc_client.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/text/quote.h"
#include "nlohmann/json.hpp"

namespace ethscan::enrichment {
namespace {

using nlohmann::json;

// The EIP-7702 delegation designator: 0xef0100 followed by the delegate's 20 bytes.
constexpr absl::string_view kDelegationPrefix = "ef0100";

}  // namespace

CodeKind ClassifyCode(absl::string_view code_hex) {
  absl::string_view hex = code_hex;
  absl::ConsumePrefix(&hex, "0x");
  CodeKind kind;
  if (hex.empty()) return kind;
  std::string lower = absl::AsciiStrToLower(hex);
  if (lower.size() == 46 && absl::StartsWith(lower, kDelegationPrefix)) {
    kind.type = CodeKind::kDelegatedEoa;
    kind.delegate = absl::StrCat("0x", lower.substr(kDelegationPrefix.size()));
    return kind;
  }
  kind.type = CodeKind::kContract;
  return kind;
}

std::optional<std::string> HexQuantityToDecimal(absl::string_view hex) {
  if (!absl::ConsumePrefix(&hex, "0x") && !absl::ConsumePrefix(&hex, "0X")) return std::nullopt;
  if (hex.empty() || hex.size() > 64) return std::nullopt;
  // Decimal digits, least significant first.
  std::vector<int> digits = {0};
  for (char c : hex) {
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    int carry = v;
    for (int& d : digits) {
      const int x = d * 16 + carry;
      d = x % 10;
      carry = x / 10;
    }
    while (carry > 0) {
      digits.push_back(carry % 10);
      carry /= 10;
    }
  }
  std::string out;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it)
    out.push_back(static_cast<char>('0' + *it));
  return out;
}

RpcClient::RpcClient(Options options, http::Client* http)
    : options_(std::move(options)),
      http_(http),
      backoff_(options_.initial_backoff, options_.max_backoff) {}

std::string RpcClient::Endpoint() const { return http::Origin(options_.url); }

absl::StatusOr<RpcClient::Account> RpcClient::GetAccount(absl::string_view address,
                                                         absl::Time deadline) {
  const std::string a(address);
  json batch = json::array({
      {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "eth_getBalance"}, {"params", {a, "latest"}}},
      {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "eth_getCode"}, {"params", {a, "latest"}}},
      {{"jsonrpc", "2.0"},
       {"id", 3},
       {"method", "eth_getTransactionCount"},
       {"params", {a, "latest"}}},
  });
  http::Request request;
  request.method = "POST";
  request.url = options_.url;
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  request.body = batch.dump();
  const std::string what = absl::StrCat("JSON-RPC node at ", Endpoint());
  for (int attempt = 0;; ++attempt) {
    if (!http::FitToDeadline(options_.timeout, deadline, &request)) {
      return absl::DeadlineExceededError(absl::StrCat(what, ": the deadline passed"));
    }
    absl::StatusOr<http::Response> response = http_->Send(request);
    absl::Status failure;
    if (!response.ok()) {
      // The transport's message names the URL: keep only the origin.
      failure = absl::Status(response.status().code(),
                             absl::StrCat(what, ": cannot reach it (",
                                          absl::StatusCodeToString(response.status().code()), ")"));
    } else if (response->status != 200) {
      const int s = response->status;
      const std::string message = absl::StrCat(what, ": HTTP ", s);
      if (s != 429 && s < 500) return absl::FailedPreconditionError(message);
      failure = s == 429 ? absl::ResourceExhaustedError(message) : absl::UnavailableError(message);
    } else {
      json j = json::parse(response->body, nullptr, false);
      if (!j.is_array()) {
        if (j.is_object() && j.contains("error")) {
          return absl::FailedPreconditionError(
              absl::StrCat(what, ": ", text::SingleLine(j["error"].dump(), 200)));
        }
        failure = absl::UnavailableError(absl::StrCat(what, ": the answer is not a JSON batch"));
      } else {
        Account account;
        int answered = 0;
        for (const json& item : j) {
          if (!item.is_object()) continue;
          const int id = item.value("id", 0);
          if (item.contains("error")) {
            return absl::FailedPreconditionError(
                absl::StrCat(what, ": ", text::SingleLine(item["error"].dump(), 200)));
          }
          if (!item.contains("result") || !item["result"].is_string()) continue;
          const std::string result = item["result"].get<std::string>();
          if (id == 1) {
            std::optional<std::string> wei = HexQuantityToDecimal(result);
            if (!wei.has_value()) continue;
            account.balance_wei = *wei;
          } else if (id == 2) {
            account.code = result;
          } else if (id == 3) {
            std::optional<std::string> nonce = HexQuantityToDecimal(result);
            if (!nonce.has_value() || !absl::SimpleAtoi(*nonce, &account.nonce)) continue;
          } else {
            continue;
          }
          ++answered;
        }
        if (answered == 3) return account;
        failure = absl::UnavailableError(absl::StrCat(what, ": the batch answer is incomplete"));
      }
    }
    if (attempt >= options_.max_retries) return failure;
    const absl::Duration delay = backoff_.Delay(attempt);
    if (absl::Now() + delay >= deadline) return failure;
    if (options_.sleep) {
      if (!options_.sleep(delay)) return absl::CancelledError(absl::StrCat(what, ": cancelled"));
    } else {
      absl::SleepFor(delay);
    }
  }
}

}  // namespace ethscan::enrichment

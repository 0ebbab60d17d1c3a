#include "services/enrichment/etherscan_client.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/text/quote.h"
#include "nlohmann/json.hpp"

namespace ethscan::enrichment {
namespace {

using nlohmann::json;

// Per call, as Etherscan documents: balancemulti takes 20 addresses, getcontractcreation 5.
constexpr size_t kBalancesPerCall = 20;
constexpr size_t kCreationsPerCall = 5;
// The highest block a history asks for.
constexpr char kLastBlock[] = "999999999";

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return absl::StrCat(it->get<int64_t>());
  return "";
}

uint64_t U64(const json& j, const char* key) {
  uint64_t v = 0;
  return absl::SimpleAtoi(Str(j, key), &v) ? v : 0;
}

std::string Lower(std::string s) {
  absl::AsciiStrToLower(&s);
  return s;
}

// A failure and whether a retry may mend it.
struct Failure {
  absl::Status status;
  bool retry = false;
};

Transfer TransferFrom(const json& r) {
  Transfer t;
  t.hash = Lower(Str(r, "hash"));
  t.block = U64(r, "blockNumber");
  t.time = static_cast<int64_t>(U64(r, "timeStamp"));
  t.from = Lower(Str(r, "from"));
  t.to = Lower(Str(r, "to"));
  t.value = Str(r, "value");
  t.is_error = Str(r, "isError") == "1";
  t.input = Str(r, "input");
  t.contract_address = Lower(Str(r, "contractAddress"));
  t.token_name = Str(r, "tokenName");
  t.token_symbol = Str(r, "tokenSymbol");
  int decimals = 0;
  if (absl::SimpleAtoi(Str(r, "tokenDecimal"), &decimals)) t.token_decimals = decimals;
  return t;
}

// How a record is told apart from the others of its history: normal transactions by hash;
// internal and token transfers share the hash of their transaction, so by every field.
std::string RecordKey(const Transfer& t, HistoryKind kind) {
  if (kind == HistoryKind::kNormal) return t.hash;
  return absl::StrCat(t.hash, "|", t.from, "|", t.to, "|", t.value, "|", t.contract_address);
}

// The envelope's error, as Etherscan words it (HTTP 200, status "0").
Failure EnvelopeError(const std::string& message, const std::string& result) {
  const std::string why = absl::StrCat(message, result.empty() ? "" : ": ", result);
  const std::string lower = absl::AsciiStrToLower(result);
  if (absl::StrContains(lower, "rate limit")) {
    if (absl::StrContains(lower, "daily")) {
      return {
          absl::ResourceExhaustedError(absl::StrCat("the key's daily limit is spent (", why, ")")),
          false};
    }
    return {absl::ResourceExhaustedError(absl::StrCat("rate limited (", why, ")")), true};
  }
  if (absl::StrContains(lower, "api key")) {
    return {absl::PermissionDeniedError(absl::StrCat("the API key was refused (", why, ")")),
            false};
  }
  if (absl::StrContains(lower, "chainid")) {
    return {absl::InvalidArgumentError(absl::StrCat("the chain id is not supported (", why, ")")),
            false};
  }
  return {absl::FailedPreconditionError(why), false};
}

}  // namespace

EtherscanClient::EtherscanClient(Options options, http::Client* http)
    : options_(std::move(options)),
      http_(http),
      backoff_(options_.initial_backoff, options_.max_backoff) {}

std::string EtherscanClient::Endpoint() const { return http::Origin(options_.base_url); }

std::string EtherscanClient::Redact(absl::string_view text) const {
  if (options_.api_key.empty()) return std::string(text);
  return absl::StrReplaceAll(text, {{options_.api_key, "***"}});
}

bool EtherscanClient::Sleep(absl::Duration d) const {
  if (options_.sleep) return options_.sleep(d);
  absl::SleepFor(d);
  return true;
}

absl::StatusOr<std::string> EtherscanClient::Call(
    uint64_t chain_id, const std::vector<std::pair<std::string, std::string>>& params,
    absl::Time deadline) {
  std::vector<std::pair<std::string, std::string>> all = {{"chainid", absl::StrCat(chain_id)}};
  std::string action;
  for (const auto& [name, value] : params) {
    all.push_back({name, value});
    if (name == "action") action = value;
  }
  all.push_back({"apikey", options_.api_key});
  const std::string query = http::QueryString(all);
  http::Request request;
  request.url =
      absl::StrCat(options_.base_url, absl::StrContains(options_.base_url, "?") ? "&" : "?", query);
  request.headers = {{"Accept", "application/json"}};
  const std::string what = absl::StrCat("etherscan ", action, " at ", Endpoint());
  for (int attempt = 0;; ++attempt) {
    if (options_.acquire) {
      absl::Status budget = options_.acquire(deadline);
      if (!budget.ok()) return budget;
    }
    if (!http::FitToDeadline(options_.timeout, deadline, &request)) {
      return absl::DeadlineExceededError(absl::StrCat(what, ": the deadline passed"));
    }
    absl::StatusOr<http::Response> response = http_->Send(request);
    Failure failure;
    if (!response.ok()) {
      failure = {absl::Status(response.status().code(),
                              absl::StrCat(what, ": ", Redact(response.status().message()))),
                 true};
    } else if (response->status != 200) {
      const int s = response->status;
      const bool retry = s == 429 || s >= 500;
      std::string body = std::string(absl::StripAsciiWhitespace(response->body));
      if (absl::StartsWith(body, "<")) body = "an HTML page";
      const std::string message =
          absl::StrCat(what, ": HTTP ", s, " (", text::SingleLine(Redact(body), 120), ")");
      failure = {s == 401 || s == 403 ? absl::PermissionDeniedError(message)
                 : retry              ? absl::UnavailableError(message)
                                      : absl::FailedPreconditionError(message),
                 retry};
    } else {
      json j = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) {
        failure = {
            absl::UnavailableError(absl::StrCat(what, ": the answer is not whole JSON (",
                                                text::Quote(Redact(response->body), 60), ")")),
            true};
      } else if (j.contains("jsonrpc")) {
        // The proxy module answers in JSON-RPC form.
        if (j.contains("error")) {
          return absl::FailedPreconditionError(
              absl::StrCat(what, ": ", text::SingleLine(Redact(j["error"].dump()), 200)));
        }
        return j.value("result", json()).dump();
      } else {
        const std::string status = Str(j, "status");
        const std::string message = Str(j, "message");
        const json result = j.value("result", json());
        if (status == "1") return result.dump();
        const bool empty = result.is_null() || (result.is_array() && result.empty()) ||
                           (result.is_string() && result.get<std::string>().empty());
        if (empty && (absl::StartsWith(message, "No transactions found") ||
                      absl::StartsWith(message, "No records found") ||
                      absl::StartsWith(message, "No data found"))) {
          return std::string();
        }
        failure = EnvelopeError(
            message,
            text::SingleLine(Redact(result.is_string() ? result.get<std::string>() : result.dump()),
                             200));
        failure.status =
            absl::Status(failure.status.code(), absl::StrCat(what, ": ", failure.status.message()));
      }
    }
    if (!failure.retry || attempt >= options_.max_retries) {
      if (failure.retry && attempt > 0) {
        return absl::Status(
            failure.status.code(),
            absl::StrCat(failure.status.message(), " (after ", attempt + 1, " tries)"));
      }
      return failure.status;
    }
    const absl::Duration delay = backoff_.Delay(attempt);
    if (absl::Now() + delay >= deadline) return failure.status;
    if (!Sleep(delay)) return absl::CancelledError(absl::StrCat(what, ": cancelled"));
  }
}

absl::StatusOr<std::string> EtherscanClient::Balance(uint64_t chain_id, absl::string_view address,
                                                     absl::Time deadline) {
  absl::StatusOr<std::string> result = Call(chain_id,
                                            {{"module", "account"},
                                             {"action", "balance"},
                                             {"address", std::string(address)},
                                             {"tag", "latest"}},
                                            deadline);
  if (!result.ok()) return result.status();
  json j = json::parse(*result, nullptr, false);
  if (!j.is_string()) return absl::UnavailableError("etherscan balance: the result is no number");
  return j.get<std::string>();
}

absl::StatusOr<std::map<std::string, std::string>> EtherscanClient::Balances(
    uint64_t chain_id, const std::vector<std::string>& addresses, absl::Time deadline) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < addresses.size(); i += kBalancesPerCall) {
    std::vector<std::string> part(
        addresses.begin() + i,
        addresses.begin() + std::min(addresses.size(), i + kBalancesPerCall));
    absl::StatusOr<std::string> result = Call(chain_id,
                                              {{"module", "account"},
                                               {"action", "balancemulti"},
                                               {"address", absl::StrJoin(part, ",")},
                                               {"tag", "latest"}},
                                              deadline);
    if (!result.ok()) return result.status();
    json j = json::parse(*result, nullptr, false);
    if (!j.is_array()) continue;
    for (const json& item : j) out[Lower(Str(item, "account"))] = Str(item, "balance");
  }
  return out;
}

absl::StatusOr<History> EtherscanClient::Transfers(uint64_t chain_id, absl::string_view address,
                                                   HistoryKind kind, absl::Time deadline) {
  const char* action = kind == HistoryKind::kNormal     ? "txlist"
                       : kind == HistoryKind::kInternal ? "txlistinternal"
                                                        : "tokentx";
  History history;
  std::set<std::string> seen;
  uint64_t start = 0;
  while (true) {
    absl::StatusOr<std::string> result = Call(chain_id,
                                              {{"module", "account"},
                                               {"action", action},
                                               {"address", std::string(address)},
                                               {"startblock", absl::StrCat(start)},
                                               {"endblock", kLastBlock},
                                               {"page", "1"},
                                               {"offset", absl::StrCat(options_.page_size)},
                                               {"sort", "asc"}},
                                              deadline);
    if (!result.ok()) return result.status();
    json page = result->empty() ? json::array() : json::parse(*result, nullptr, false);
    if (!page.is_array()) {
      return absl::UnavailableError(absl::StrCat("etherscan ", action, ": the result is no list"));
    }
    if (page.empty()) break;
    size_t added = 0;
    uint64_t last_block = 0;
    for (const json& item : page) {
      Transfer t = TransferFrom(item);
      last_block = std::max(last_block, t.block);
      if (!seen.insert(RecordKey(t, kind)).second) continue;
      if (history.records.size() >= options_.max_records) {
        history.truncated = true;
        return history;
      }
      history.records.push_back(std::move(t));
      ++added;
    }
    if (page.size() < static_cast<size_t>(options_.page_size)) break;
    if (added == 0) {
      // A whole page of one block seen already: the rest of that block is out of reach.
      history.truncated = true;
      start = last_block + 1;
    } else {
      start = last_block;  // The last block may go on in the next page.
    }
  }
  return history;
}

absl::StatusOr<SourceInfo> EtherscanClient::Source(uint64_t chain_id, absl::string_view address,
                                                   absl::Time deadline) {
  absl::StatusOr<std::string> result =
      Call(chain_id,
           {{"module", "contract"}, {"action", "getsourcecode"}, {"address", std::string(address)}},
           deadline);
  if (!result.ok()) return result.status();
  SourceInfo info;
  json j = result->empty() ? json::array() : json::parse(*result, nullptr, false);
  if (!j.is_array() || j.empty() || !j[0].is_object()) return info;
  const json& s = j[0];
  info.verified = !Str(s, "SourceCode").empty();
  info.contract_name = Str(s, "ContractName");
  info.compiler = Str(s, "CompilerVersion");
  info.proxy = Str(s, "Proxy") == "1";
  info.implementation = Lower(Str(s, "Implementation"));
  return info;
}

absl::StatusOr<std::map<std::string, Creation>> EtherscanClient::Creations(
    uint64_t chain_id, const std::vector<std::string>& addresses, absl::Time deadline) {
  std::map<std::string, Creation> out;
  for (size_t i = 0; i < addresses.size(); i += kCreationsPerCall) {
    std::vector<std::string> part(
        addresses.begin() + i,
        addresses.begin() + std::min(addresses.size(), i + kCreationsPerCall));
    absl::StatusOr<std::string> result = Call(chain_id,
                                              {{"module", "contract"},
                                               {"action", "getcontractcreation"},
                                               {"contractaddresses", absl::StrJoin(part, ",")}},
                                              deadline);
    if (!result.ok()) return result.status();
    json j = result->empty() ? json::array() : json::parse(*result, nullptr, false);
    if (!j.is_array()) continue;
    for (const json& item : j) {
      out[Lower(Str(item, "contractAddress"))] =
          Creation{Lower(Str(item, "contractCreator")), Lower(Str(item, "txHash"))};
    }
  }
  return out;
}

}  // namespace ethscan::enrichment

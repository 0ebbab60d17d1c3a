// ethscan_enrichment_load: a load generator for the enrichment service
// (tools/bench/enrichment_bench.sh).
//
//   --mode=cached: GetProfile of one address (cached after the first call) against the floor,
//     grpc.health.v1.Health/Check on the same process, alternated for --rounds rounds of
//     --requests calls each from --concurrency threads; prints each round's p50 and p99 and
//     the medians over the rounds.
//   --mode=burst: --concurrency threads ask GetProfile for distinct, never-seen addresses for
//     --seconds (each call with --deadline_seconds; the last ones may end after); prints the
//     profiles fetched and the errors by code (RESOURCE_EXHAUSTED when the shared rate budget
//     has no slot before a call's deadline), backing off 100 ms after an error.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "ethscan/enrichment/v1/enrichment_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50055", "enrichment HOST:PORT");
ABSL_FLAG(std::string, mode, "cached", "cached or burst");
ABSL_FLAG(std::string, address, "", "cached mode: the address to ask for");
ABSL_FLAG(int, requests, 2000, "cached mode: calls per round and kind");
ABSL_FLAG(int, rounds, 3, "cached mode: rounds, alternating the floor and GetProfile");
ABSL_FLAG(int, concurrency, 4, "threads");
ABSL_FLAG(int, seconds, 10, "burst mode: how long to ask");
ABSL_FLAG(int, deadline_seconds, 30, "burst mode: each call's deadline");

namespace {

using ethscan::enrichment::v1::EnrichmentService;

struct Percentiles {
  double p50_us = 0;
  double p99_us = 0;
};

Percentiles Of(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  if (us.empty()) return {};
  auto at = [&us](double q) {
    return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))];
  };
  return {at(0.50), at(0.99)};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Runs `call` `total` times over `threads` threads; returns each call's latency in µs.
template <typename Call>
std::vector<double> Measure(int total, int threads, Call call) {
  std::vector<double> out;
  absl::Mutex mu;
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      std::vector<double> mine;
      while (next.fetch_add(1) < total) {
        const absl::Time start = absl::Now();
        if (!call()) continue;
        mine.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
      }
      absl::MutexLock lock(&mu);
      out.insert(out.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& t : pool) t.join();
  return out;
}

int Cached() {
  auto channel = ethscan::common::CreateChannel(absl::GetFlag(FLAGS_target));
  auto enrichment = EnrichmentService::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  ethscan::enrichment::v1::GetProfileRequest request;
  request.set_address(absl::GetFlag(FLAGS_address));
  auto profile = [&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ethscan::enrichment::v1::GetProfileResponse response;
    grpc::Status status = enrichment->GetProfile(&context, request, &response);
    if (!status.ok()) std::fprintf(stderr, "GetProfile: %s\n", status.error_message().c_str());
    return status.ok();
  };
  auto floor = [&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::health::v1::HealthCheckRequest check;
    grpc::health::v1::HealthCheckResponse response;
    return health->Check(&context, check, &response).ok();
  };
  if (!profile()) return 1;  // Fills the cache.
  const int n = absl::GetFlag(FLAGS_requests);
  const int c = absl::GetFlag(FLAGS_concurrency);
  Measure(200, c, floor);  // Warm-up.
  Measure(200, c, profile);
  std::vector<double> floor_p50, floor_p99, profile_p50, profile_p99;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    Percentiles f = Of(Measure(n, c, floor));
    Percentiles p = Of(Measure(n, c, profile));
    std::printf(
        "round %d: Health/Check p50 %.0f us p99 %.0f us; cached GetProfile p50 %.0f us "
        "p99 %.0f us\n",
        round + 1, f.p50_us, f.p99_us, p.p50_us, p.p99_us);
    floor_p50.push_back(f.p50_us);
    floor_p99.push_back(f.p99_us);
    profile_p50.push_back(p.p50_us);
    profile_p99.push_back(p.p99_us);
  }
  std::printf(
      "median: Health/Check p50 %.0f us p99 %.0f us; cached GetProfile p50 %.0f us p99 "
      "%.0f us (ratio p99 %.2f)\n",
      Median(floor_p50), Median(floor_p99), Median(profile_p50), Median(profile_p99),
      Median(profile_p99) / std::max(1.0, Median(floor_p99)));
  return 0;
}

int Burst() {
  auto enrichment =
      EnrichmentService::NewStub(ethscan::common::CreateChannel(absl::GetFlag(FLAGS_target)));
  const absl::Time end = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::atomic<uint64_t> next{1};
  std::atomic<int> fetched{0};
  absl::Mutex mu;
  std::map<std::string, int> errors;
  std::vector<std::thread> pool;
  for (int t = 0; t < absl::GetFlag(FLAGS_concurrency); ++t) {
    pool.emplace_back([&] {
      while (absl::Now() < end) {
        ethscan::enrichment::v1::GetProfileRequest request;
        // Distinct addresses no cache holds: 0xb0…<counter>.
        request.set_address(absl::StrFormat("0xb0%038x", next.fetch_add(1)));
        grpc::ClientContext context;
        context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_deadline_seconds))));
        ethscan::enrichment::v1::GetProfileResponse response;
        grpc::Status status = enrichment->GetProfile(&context, request, &response);
        if (status.ok()) {
          ++fetched;
        } else {
          {
            absl::MutexLock lock(&mu);
            ++errors[absl::StrFormat("code %d: %s", status.error_code(),
                                     status.error_message().substr(0, 120))];
          }
          absl::SleepFor(absl::Milliseconds(100));  // As a client backs off.
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();
  std::printf("profiles fetched: %d\n", fetched.load());
  for (const auto& [what, count] : errors) std::printf("errors: %d x %s\n", count, what.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "cached") return Cached();
  if (mode == "burst") return Burst();
  std::fprintf(stderr, "--mode must be cached or burst\n");
  return 2;
}

#!/usr/bin/env bash
# tools/bench/enrichment_bench.sh: the enrichment service against a fake Etherscan
# (tests/fakes/fake_chain.py). Run by `tools/dev bench-enrichment` (a Release build in
# build-bench/).
#
#   1. Starts the fake with a rate limit of BENCH_RATE calls per second (it answers "Max calls
#      per sec rate limit reached" past it, as Etherscan does) and the stack (`tools/dev up`)
#      with ETHSCAN_ETHERSCAN_RATE=BENCH_RATE, so the budget and the server's limit are the
#      same.
#   2. Cached GetProfile: one address, cached by its first call, against the floor
#      (grpc.health.v1.Health/Check on the same process), alternated over three rounds;
#      medians of p50 and p99. Target: cached p99 under 1 ms.
#   3. Burst: distinct addresses from 8 threads for BENCH_SECONDS; the Etherscan calls the
#      fake answered against BENCH_RATE x BENCH_SECONDS (the budget's use) and the calls it
#      refused for the rate. Targets: use at least 90 %, no refusal.
#
# Environment: ETHSCAN_BUILD_DIR (default build-bench), BENCH_RATE (default 10), BENCH_SECONDS
# (default 20), BENCH_CONCURRENCY (threads of the cached part, default 4).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
BUILD_DIR="${ETHSCAN_BUILD_DIR:-$ROOT/build-bench}"
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
RATE="${BENCH_RATE:-10}"
DURATION="${BENCH_SECONDS:-20}"
LOAD="$BUILD_DIR/bin/ethscan_enrichment_load"

BENCH_NAME=enrichment_bench
# shellcheck source=tools/bench/stack.sh
source "$ROOT/tools/bench/stack.sh"
[[ -x "$LOAD" ]] || die "build ethscan_enrichment_load and the services in $BUILD_DIR first"
command -v jq >/dev/null || die "jq is needed"

FAKE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ethscan-fake-chain.XXXXXX")"
FAKE_PID=""
cleanup() {
  [[ -n "$FAKE_PID" ]] && kill "$FAKE_PID" 2>/dev/null || true
  rm -rf "$FAKE_DIR"
  stop_stack
}
trap cleanup EXIT
python3 "$ROOT/tests/fakes/fake_chain.py" --make-fixture "$FAKE_DIR/fixture.json"
python3 "$ROOT/tests/fakes/fake_chain.py" --fixture "$FAKE_DIR/fixture.json" \
  --api-key bench-etherscan-key --port-file "$FAKE_DIR/port" \
  --rate-limit-per-second "$RATE" 2>"$FAKE_DIR/fake.log" &
FAKE_PID=$!
for _ in $(seq 100); do [[ -s "$FAKE_DIR/port" ]] && break; sleep 0.1; done
[[ -s "$FAKE_DIR/port" ]] || die "the fake chain did not start: $(tail -5 "$FAKE_DIR/fake.log")"
port="$(cat "$FAKE_DIR/port")"
state() { curl -s "http://127.0.0.1:$port/_fake/state"; }

export ETHERSCAN_API_KEY=bench-etherscan-key
export ETHERSCAN_BASE_URL="http://127.0.0.1:$port/v2/api"
export ETHSCAN_ETHERSCAN_RATE="$RATE"
unset ETH_RPC_URL
start_stack
trap cleanup EXIT

address="$(jq -r '.roles.eoas[0]' "$FAKE_DIR/fixture.json")"
echo "== cached GetProfile against the Health/Check floor (3 rounds, medians)"
"$LOAD" --mode=cached --address="$address" --requests=3000 --rounds=3 \
  --concurrency="${BENCH_CONCURRENCY:-4}"

echo
echo "== burst of distinct addresses for ${DURATION}s at a budget of ${RATE} calls/s"
# The budget's use is measured in the burst's middle, from 2 s in to 1 s before its end, as the
# calls the fake answered meanwhile.
"$LOAD" --mode=burst --seconds="$DURATION" --concurrency=8 --deadline_seconds=15 &
load_pid=$!
sleep 2
before="$(state)"
start=$(date +%s.%N)
sleep $((DURATION - 3))
after="$(state)"
end=$(date +%s.%N)
wait "$load_pid"
calls=$(($(jq '.etherscan_calls' <<<"$after") - $(jq '.etherscan_calls' <<<"$before")))
refused=$(($(jq '.rate_limited' <<<"$after") - $(jq '.rate_limited' <<<"$before")))
awk -v calls="$calls" -v refused="$refused" -v rate="$RATE" -v s="$start" -v e="$end" 'BEGIN {
  elapsed = e - s
  use = calls / (rate * elapsed)
  printf "Etherscan calls answered: %d in %.1f s (%.2f/s) = %.0f %% of the budget; refused by the server: %d\n", calls, elapsed, calls / elapsed, 100 * use, refused
  met_use = (use >= 0.9) ? "met" : "NOT met"
  met_refused = (refused == 0) ? "met" : "NOT met"
  printf "targets: use >= 90 %% (%s), no refusal (%s)\n", met_use, met_refused
}'

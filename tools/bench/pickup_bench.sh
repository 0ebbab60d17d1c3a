#!/usr/bin/env bash
# tools/bench/pickup_bench.sh: how fast an idle worker picks a job up, and how many small jobs
# the stack finishes per second. Run by `tools/dev bench-pickup` (a Release build in
# build-bench/).
#
#   1. Starts the stack (`tools/dev up`, state in a temporary folder, the standard loopback
#      ports: one training worker) and uploads the OFAC list (about 160 addresses), so a job
#      trains a small knowledge index in milliseconds.
#   2. Pick-up latency: PICKUP_JOBS jobs one after the other, each created while the worker is
#      idle. From the job's own record and events: created → running (what a user sees:
#      CreateJob's dataset checks, the queue, the worker's start) and queued → running (the
#      queue alone: the "job queued" event to the "attempt 1 started" event). Prints p50, p90,
#      p99 and the maximum; the target is p99 created → running under 100 ms.
#   3. Throughput: BURST_JOBS jobs created back to back, then waited for; jobs per second from
#      the first creation to the last finish.
#
# Environment: ETHSCAN_BUILD_DIR (default build-bench), ETHSCAN_SHARED_DATA (default
# ../shared/data beside the checkout), PICKUP_JOBS (default 100), BURST_JOBS (default 50).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
BUILD_DIR="${ETHSCAN_BUILD_DIR:-$ROOT/build-bench}"
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
DATA="${ETHSCAN_SHARED_DATA:-$ROOT/../shared/data}"
PICKUP_JOBS="${PICKUP_JOBS:-100}"
BURST_JOBS="${BURST_JOBS:-50}"
CLI="$BUILD_DIR/bin/ethscan"
OFAC="$DATA/ofac/ofac_sdn_eth_addresses.csv"

BENCH_NAME=pickup_bench
# shellcheck source=tools/bench/stack.sh
source "$ROOT/tools/bench/stack.sh"
[[ -x "$CLI" ]] || die "build ethscan and the services in $BUILD_DIR first"
[[ -f "$OFAC" ]] || die "the OFAC list is not at $OFAC (set ETHSCAN_SHARED_DATA)"

start_stack
dataset="$("$CLI" --json datasets upload "$OFAC" | jq -r '.dataset.id')"

# Waits until job $1 has finished; prints its JSON.
wait_job() {
  while :; do
    local job
    job="$("$CLI" --json jobs show "$1")"
    case "$(jq -r '.job.status' <<<"$job")" in
      JOB_STATUS_SUCCEEDED) printf '%s\n' "$job"; return 0 ;;
      JOB_STATUS_FAILED | JOB_STATUS_CANCELLED) die "job $1 did not succeed: $(jq -c '.job' <<<"$job")" ;;
    esac
    sleep 0.2
  done
}

echo "== Pick-up latency: $PICKUP_JOBS jobs, each created while the worker is idle"
: >"$WORK/pickup.jsonl"
for ((i = 1; i <= PICKUP_JOBS; i++)); do
  id="$("$CLI" --json jobs create --training-dataset "$dataset" --suffix pickup | jq -r '.job.id')"
  job="$(wait_job "$id")"
  events="$("$CLI" --json jobs events "$id")"
  jq -c --argjson events "$events" '{job: .job, events: $events.events}' <<<"$job" >>"$WORK/pickup.jsonl"
done

echo "== Throughput: $BURST_JOBS jobs created back to back"
ids=()
for ((i = 1; i <= BURST_JOBS; i++)); do
  ids+=("$("$CLI" --json jobs create --training-dataset "$dataset" --suffix burst | jq -r '.job.id')")
done
: >"$WORK/burst.jsonl"
for id in "${ids[@]}"; do wait_job "$id" | jq -c '.job' >>"$WORK/burst.jsonl"; done

python3 - "$WORK/pickup.jsonl" "$WORK/burst.jsonl" <<'PY'
import calendar, json, sys, time

def at(text):  # RFC 3339 as protobuf JSON writes it.
    whole, _, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))

def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]

created, queued = [], []
for line in open(sys.argv[1]):
    record = json.loads(line)
    job = record["job"]
    created.append(at(job["startTime"]) - at(job["createTime"]))
    events = record["events"]
    queued_at = next(at(e["createTime"]) for e in events if e.get("status") == "JOB_STATUS_QUEUED")
    started_at = next(at(e["createTime"]) for e in events if e.get("status") == "JOB_STATUS_RUNNING")
    queued.append(started_at - queued_at)
for name, values in (("created -> running", created), ("queued -> running", queued)):
    ms = [1000 * v for v in values]
    print(f"  {name:18}  p50 {quantile(ms, .5):6.1f} ms  p90 {quantile(ms, .9):6.1f} ms  "
          f"p99 {quantile(ms, .99):6.1f} ms  max {max(ms):6.1f} ms  ({len(ms)} jobs)")
p99 = 1000 * quantile(created, .99)
print(f"  target: p99 created -> running under 100 ms: {'met' if p99 < 100 else 'NOT met'}")

jobs = [json.loads(line) for line in open(sys.argv[2])]
first = min(at(j["createTime"]) for j in jobs)
last = max(at(j["finishTime"]) for j in jobs)
print(f"  throughput: {len(jobs)} jobs in {last - first:.2f} s = {len(jobs) / (last - first):.1f} jobs/s")
PY

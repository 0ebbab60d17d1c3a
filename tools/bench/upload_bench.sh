#!/usr/bin/env bash
# The upload benchmark: how fast a JSONL file goes through DatasetService.UploadDataset
# (validation included), next to `jq -c . FILE > /dev/null` on the same file, and the
# dataset service's peak memory at two file sizes.
#
#   tools/bench/upload_bench.sh [--size-mb N] [--addresses N] [--chunk-bytes N] [--runs N]
#                               [--smoke] [--keep]
#
# Steps, all on this machine and on 127.0.0.1:
#   1. generate a deterministic OpenAI chat JSONL file of N MB (default 1100, so > 1 GiB;
#      addresses from ../shared/data plus synthetic ones, shaped like ExportDataset's output)
#      and one of N/4 MB, in a temporary directory (ETHSCAN_BENCH_TMP, default $TMPDIR or /tmp);
#   2. start redis-server on a free port;
#   3. for each file: start a fresh ethscan_dataset, upload the file over gRPC in 1 MiB chunks
#      (like `ethscan datasets upload`), read the service's peak RSS (VmHWM), stop it;
#   4. time `jq -c . FILE > /dev/null` on the large file;
#   5. repeat the large upload and jq, taking turns, until each ran --runs times (default 3):
#      the machine is shared, so single runs vary;
#   6. print MB/s (1 MB = 10^6 bytes) of both from their median times, each run's, the ratio of
#      the medians (target: at least 10), and the peak RSS of the small file's run and the
#      largest of the large file's; delete everything it made (unless --keep).
# --smoke runs the same steps once on 5 MB and 1.25 MB files, in a few seconds.
#
# Environment: ETHSCAN_BUILD_DIR (default build-bench, then build: a Release build gives the
# real figures), ETHSCAN_SHARED_DATA (default ../shared/data beside the checkout).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
SIZE_MB=1100
ADDRESSES=200000
CHUNK_BYTES=$((1 << 20))
RUNS=3
KEEP=0

die() {
  printf 'upload_bench: %s\n' "$*" >&2
  exit 1
}

while (($#)); do
  case "$1" in
    --size-mb) SIZE_MB="${2:?--size-mb needs a value}"; shift 2 ;;
    --addresses) ADDRESSES="${2:?--addresses needs a value}"; shift 2 ;;
    --chunk-bytes) CHUNK_BYTES="${2:?--chunk-bytes needs a value}"; shift 2 ;;
    --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
    --smoke) SIZE_MB=5; ADDRESSES=20000; RUNS=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo pipefail$/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ "$SIZE_MB" =~ ^[0-9]+$ && "$SIZE_MB" -ge 4 ]] || die "--size-mb must be a whole number >= 4"
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 ]] || die "--runs must be a whole number >= 1"

# --- tools -------------------------------------------------------------------------------------
find_build_dir() {
  local dir
  for dir in "${ETHSCAN_BUILD_DIR:-}" "$ROOT/build-bench" "$ROOT/build"; do
    [[ -n "$dir" ]] || continue
    [[ "$dir" == /* ]] || dir="$ROOT/$dir"
    if [[ -x "$dir/bin/ethscan_dataset" && -x "$dir/bin/ethscan_upload_bench" ]]; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
  return 1
}
BUILD_DIR="$(find_build_dir)" ||
  die "no build with bin/ethscan_dataset and bin/ethscan_upload_bench; run tools/dev bench, which makes a Release build in build-bench/ and then runs this script"
SERVICE="$BUILD_DIR/bin/ethscan_dataset"
BENCH="$BUILD_DIR/bin/ethscan_upload_bench"
command -v jq >/dev/null || die "jq is not installed (Debian: apt-get install jq)"
command -v redis-server >/dev/null ||
  die "redis-server is not installed (Debian: apt-get install redis-server)"
BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)"

DATA_DIR="${ETHSCAN_SHARED_DATA:-$ROOT/../shared/data}"
if [[ ! -d "$DATA_DIR" ]]; then
  printf 'upload_bench: %s not found; synthetic addresses only\n' "$DATA_DIR" >&2
  DATA_DIR=""
fi

# --- disk --------------------------------------------------------------------------------------
TMP_PARENT="${ETHSCAN_BENCH_TMP:-${TMPDIR:-/tmp}}"
# The two files, the stored records of each upload (well under the file size) and headroom.
NEED_KB=$((SIZE_MB * 1000 * 3))
FREE_KB="$(df -Pk "$TMP_PARENT" | awk 'NR == 2 { print $4 }')"
((FREE_KB > NEED_KB)) ||
  die "$TMP_PARENT has $((FREE_KB / 1000)) MB free, the benchmark needs about $((NEED_KB / 1000)) MB"
WORK="$(mktemp -d "$TMP_PARENT/ethscan-upload-bench.XXXXXX")"

REDIS_PID=""
SERVICE_PID=""
cleanup() {
  if [[ -n "$SERVICE_PID" ]]; then kill "$SERVICE_PID" 2>/dev/null || true; wait "$SERVICE_PID" 2>/dev/null || true; fi
  if [[ -n "$REDIS_PID" ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  if ((KEEP)); then
    printf 'kept %s\n' "$WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The value of `key` in the "key=value ..." line of a tool's output.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | tail -1; }
now() { date +%s.%N; }

# --- files -------------------------------------------------------------------------------------
BIG="$WORK/chat-${SIZE_MB}mb.jsonl"
SMALL="$WORK/chat-$((SIZE_MB / 4))mb.jsonl"
BIG_GEN="$("$BENCH" generate --out="$BIG" --bytes=$((SIZE_MB * 1000000)) --data_dir="$DATA_DIR" \
  --addresses="$ADDRESSES")" || die "generating $BIG failed"
printf '%s\n' "$(head -1 <<<"$BIG_GEN")"
SMALL_GEN="$("$BENCH" generate --out="$SMALL" --bytes=$((SIZE_MB * 1000000 / 4)) \
  --data_dir="$DATA_DIR" --addresses="$ADDRESSES")" || die "generating $SMALL failed"
printf '%s\n' "$(head -1 <<<"$SMALL_GEN")"

# --- redis -------------------------------------------------------------------------------------
REDIS_PORT="$("$BENCH" free-port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
  kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited: $(tail -5 "$WORK/redis.log")"
  sleep 0.1
done

# Uploads `file` to a fresh dataset service; prints the upload tool's output and the VmHWM.
run_upload() {
  local file="$1" tag="$2" port out hwm
  port="$("$BENCH" free-port)"
  mkdir -p "$WORK/data-$tag"
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT" "$SERVICE" --listen="127.0.0.1:$port" \
    --data_dir="$WORK/data-$tag" --max_upload_bytes=$((SIZE_MB * 2000000)) \
    >"$WORK/dataset-$tag.log" 2>&1 &
  SERVICE_PID=$!
  if ! out="$("$BENCH" upload --target="127.0.0.1:$port" --file="$file" --name="bench-$tag" \
    --chunk_bytes="$CHUNK_BYTES")"; then
    die "upload of $file failed; service log: $(tail -5 "$WORK/dataset-$tag.log")"
  fi
  hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVICE_PID/status")"
  kill "$SERVICE_PID"
  wait "$SERVICE_PID" 2>/dev/null || true
  SERVICE_PID=""
  printf '%s vmhwm_kb=%s\n' "$out" "$hwm"
}

SMALL_OUT="$(run_upload "$SMALL" small)"
printf '%s\n' "$(head -1 <<<"$SMALL_OUT")"

# --- large file and jq, taking turns -------------------------------------------------------------
SVC_TIMES=()
JQ_TIMES=()
BIG_RSS_KB=0
for ((run = 1; run <= RUNS; run++)); do
  BIG_OUT="$(run_upload "$BIG" "big$run")"
  printf '%s\n' "$(head -1 <<<"$BIG_OUT")"
  SVC_TIMES+=("$(field seconds "$BIG_OUT")")
  rss="$(field vmhwm_kb "$BIG_OUT")"
  ((rss > BIG_RSS_KB)) && BIG_RSS_KB="$rss"
  rm -rf "$WORK/data-big$run"
  JQ_START="$(now)"
  jq -c . "$BIG" >/dev/null || die "jq failed on $BIG"
  JQ_END="$(now)"
  JQ_TIMES+=("$(awk -v a="$JQ_START" -v b="$JQ_END" 'BEGIN { printf "%.3f", b - a }')")
  printf 'jq -c . run %d: %s s\n' "$run" "${JQ_TIMES[-1]}"
done
# The median of the given numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- report ------------------------------------------------------------------------------------
BIG_BYTES="$(field bytes "$BIG_OUT")"
awk -v bytes="$BIG_BYTES" -v svc_s="$(median "${SVC_TIMES[@]}")" -v jq_s="$(median "${JQ_TIMES[@]}")" \
  -v svc_runs="${SVC_TIMES[*]}" -v jq_runs="${JQ_TIMES[*]}" -v runs="$RUNS" \
  -v small_bytes="$(field bytes "$SMALL_OUT")" -v small_s="$(field seconds "$SMALL_OUT")" \
  -v big_rss="$BIG_RSS_KB" -v small_rss="$(field vmhwm_kb "$SMALL_OUT")" \
  -v lines="$(field lines "$BIG_OUT")" -v addresses="$(field addresses "$BIG_OUT")" \
  -v cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" -v nproc="$(nproc)" \
  -v build="${BUILD_TYPE:-unknown}" -v chunk="$CHUNK_BYTES" 'BEGIN {
    svc = bytes / svc_s / 1e6; jq = bytes / jq_s / 1e6;
    printf "\n== upload benchmark (machine: %d CPUs, %s; build %s)\n", nproc, cpu, build;
    printf "file:              %.1f MB, %d chat examples, %d distinct addresses\n", bytes / 1e6, lines, addresses;
    printf "UploadDataset:     %.2f s = %.1f MB/s (gRPC, %d-byte chunks, validation and storage included; median of %d: %s s)\n", svc_s, svc, chunk, runs, svc_runs;
    printf "jq -c . FILE:      %.2f s = %.1f MB/s (median of %d: %s s)\n", jq_s, jq, runs, jq_runs;
    printf "ratio:             %.1f x jq (target >= 10)\n", svc / jq;
    printf "peak RSS (VmHWM):  %.1f MB for %.1f MB file (%.1f MB/s), %.1f MB for %.1f MB file\n",
      small_rss / 1024, small_bytes / 1e6, small_bytes / small_s / 1e6, big_rss / 1024, bytes / 1e6;
  }'

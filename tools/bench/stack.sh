#!/usr/bin/env bash
# tools/bench/stack.sh: sourced by the benchmarks that run the whole stack. Needs ROOT, BUILD_DIR
# and BENCH_NAME set; defines die, makes WORK (a temporary folder holding the stack's state),
# starts the stack with `tools/dev up` on the standard loopback ports and stops it (and removes
# WORK) on exit.

die() {
  printf '%s: %s\n' "$BENCH_NAME" "$*" >&2
  exit 1
}

start_stack() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/ethscan-$BENCH_NAME.XXXXXX")"
  export ETHSCAN_STATE_DIR="$WORK/state" ETHSCAN_BUILD_DIR="$BUILD_DIR"
  trap 'stop_stack' EXIT
  "$ROOT/tools/dev" up >"$WORK/up.log" 2>&1 || {
    cat "$WORK/up.log" >&2
    die "the stack did not start (are the ports 50051-50056 taken? tools/dev down stops a stack)"
  }
}

stop_stack() {
  "$ROOT/tools/dev" down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

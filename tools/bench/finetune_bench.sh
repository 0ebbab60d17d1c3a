#!/usr/bin/env bash
# tools/bench/finetune_bench.sh: fine-tuning through the product against plain XGBoost on the
# same rows. Run by `tools/dev bench-finetune` (a Release build in build-bench/).
#
#   1. Starts the stack (`tools/dev up`, state in a temporary folder, the standard loopback
#      ports), uploads the Kaggle feature file, splits it by address into training,
#      validation and test sides (80/10/10, seed 42) and exports the three sides as canonical
#      CSV, so both contestants see exactly the same rows.
#   2. Quality, per feature set (all; transaction, the ERC-20 block withheld): a fine-tuning
#      job on the training side, stopped early on the validation side, then `ethscan predict`
#      on the test side's file; ROC-AUC and F1 are computed here from the scores file against
#      the test side's labels (independently of the service), with the threshold the model
#      chose on validation data. Next to it, ethscan_classifier_baseline trains plain XGBoost
#      with the same settings on the same three files.
#   3. Orchestration overhead: ROUNDS alternating rounds of (a) the baseline training a fixed
#      number of boosting rounds on the same rows (its training time) and (b) a job of those
#      rounds with no early stopping, timed from its creation to its success (the job's create
#      and finish times: queue, data transfer, training, evaluation, publish; nothing looks at
#      the job before it has had twice the plain time and a second more), for each job size.
#      Prints the medians and the ratio, and the job's own account of its phases (its "time
#      spent" event).
#
# Environment: ETHSCAN_BUILD_DIR (default build-bench), ETHSCAN_SHARED_DATA (default
# ../shared/data beside the checkout), BENCH_ROUNDS (default 3), BENCH_EPOCHS (the job sizes
# timed, in epochs of 50 boosting rounds; default "10 20 50": 500, 1,000 (what n_epochs auto
# picks for a job with a validation side) and 2,500 rounds (the most n_epochs allows)).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
BUILD_DIR="${ETHSCAN_BUILD_DIR:-$ROOT/build-bench}"
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
DATA="${ETHSCAN_SHARED_DATA:-$ROOT/../shared/data}"
ROUNDS="${BENCH_ROUNDS:-3}"
EPOCHS="${BENCH_EPOCHS:-10 20 50}"
CLI="$BUILD_DIR/bin/ethscan"
BASELINE="$BUILD_DIR/bin/ethscan_classifier_baseline"
KAGGLE="$DATA/kaggle_fraud/transaction_dataset.csv"

BENCH_NAME=finetune_bench
# shellcheck source=tools/bench/stack.sh
source "$ROOT/tools/bench/stack.sh"
[[ -x "$CLI" && -x "$BASELINE" ]] || die "build ethscan and ethscan_classifier_baseline in $BUILD_DIR first"
[[ -f "$KAGGLE" ]] || die "the Kaggle feature file is not at $KAGGLE (set ETHSCAN_SHARED_DATA)"

start_stack

dataset="$("$CLI" --json --timeout 5m datasets upload "$KAGGLE" | jq -r '.dataset.id')"
split="$("$CLI" --json datasets split "$dataset" --train 0.8 --validation 0.1 --test 0.1 --seed 42)"
train="$(jq -r '.train.id' <<<"$split")"
valid="$(jq -r '.validation.id' <<<"$split")"
test="$(jq -r '.test.id' <<<"$split")"
for side in train valid test; do
  "$CLI" datasets export "${!side}" --format csv -o "$WORK/$side.csv" >/dev/null
done
echo "Kaggle feature file: $(jq -r '.train.recordCount' <<<"$split") training, $(jq -r '.validation.recordCount' <<<"$split") validation, $(jq -r '.test.recordCount' <<<"$split") test records (split by address)"

# Waits for a job and prints its JSON. The job's own create and finish times are what is
# measured, so it is first looked at after FIRST_LOOK seconds (default 0), then every POLL
# seconds (default 0.25): each look starts a client, which takes a part of a 2-core machine
# away from the job it watches.
run_job() {
  local id
  id="$("$CLI" --json jobs create "$@" | jq -r '.job.id')"
  [[ -n "$id" && "$id" != null ]] || die "creating a job failed"
  sleep "${FIRST_LOOK:-0}"
  while :; do
    sleep "${POLL:-0.25}"
    local job status
    job="$("$CLI" --json jobs show "$id")"
    status="$(jq -r '.job.status' <<<"$job")"
    case "$status" in
      JOB_STATUS_SUCCEEDED) printf '%s\n' "$job"; return 0 ;;
      JOB_STATUS_FAILED | JOB_STATUS_CANCELLED) die "job $id: $status: $(jq -r '.job.error' <<<"$job")" ;;
    esac
  done
}

# ROC-AUC and F1 of SCORES.csv (address,score,label) against the labels of TEST.csv.
score_file() {
  python3 - "$1" "$2" <<'PY'
import csv, sys
truth = {}
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        if row["label"] in ("Phish / Hack", "Scam", "Exploit", "Heist", "Sanctioned"):
            truth[row["address"].lower()] = 1
        elif row["label"] == "Unknown" and "not flagged" in row.get("tags", ""):
            truth[row["address"].lower()] = 0
pairs = []
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        t = truth.get(row["address"].lower())
        if t is not None:
            pairs.append((float(row["score"]), t, row["label"] != "Unknown"))
pos = sum(t for _, t, _ in pairs)
neg = len(pairs) - pos
# ROC-AUC by ranks, ties counted half.
pairs.sort(key=lambda p: p[0])
rank_sum, i = 0.0, 0
while i < len(pairs):
    j = i
    while j < len(pairs) and pairs[j][0] == pairs[i][0]:
        j += 1
    avg = (i + 1 + j) / 2
    rank_sum += avg * sum(t for _, t, _ in pairs[i:j])
    i = j
auc = (rank_sum - pos * (pos + 1) / 2) / (pos * neg) if pos and neg else float("nan")
tp = sum(1 for _, t, f in pairs if t and f)
fp = sum(1 for _, t, f in pairs if not t and f)
fn = sum(1 for _, t, f in pairs if t and not f)
precision = tp / (tp + fp) if tp + fp else 0.0
recall = tp / (tp + fn) if tp + fn else 0.0
f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
print(f"{len(pairs)} {auc:.4f} {f1:.4f} {precision:.4f} {recall:.4f}")
PY
}

# The baseline with the product's automatic settings for this many training rows.
baseline() {
  "$BASELINE" --sides "$WORK/train.csv,$WORK/valid.csv,$WORK/test.csv" --threads 0 --seed 42 \
    --learning_rate 0.1 --max_depth 6 --min_child_weight 1 --colsample 0.5 --subsample 1 "$@"
}

echo
echo "== Quality on the test side (rows never trained or stopped on)"
printf '%-12s  %-26s  %6s  %8s  %6s  %9s  %6s\n' "features" "contestant" "rows" "ROC-AUC" "F1" "precision" "recall"
for set in all transaction; do
  job="$(run_job --training-dataset "$train" --validation-dataset "$valid" --test-dataset "$test" \
    --feature-set "$set" --suffix "bench-$set")"
  model="$(jq -r '.job.fineTunedModel' <<<"$job")"
  "$CLI" predict --model "$model" --input "$WORK/test.csv" --output "$WORK/scores-$set.csv" 2>"$WORK/predict-$set.log" ||
    die "ethscan predict failed: $(cat "$WORK/predict-$set.log")"
  read -r rows auc f1 precision recall < <(score_file "$WORK/test.csv" "$WORK/scores-$set.csv")
  printf '%-12s  %-26s  %6s  %8s  %6s  %9s  %6s\n' "$set" "ethscan (predict)" "$rows" "$auc" "$f1" "$precision" "$recall"
  line="$(baseline --feature_set "$set" --patience 50 --rounds 1000)"
  auc="$(sed -n 's/.*test: roc_auc \([0-9.]*\).*/\1/p' <<<"$line")"
  f1="$(sed -n 's/.*test: roc_auc [0-9.]*  pr_auc [0-9.]*  f1 \([0-9.]*\).*/\1/p' <<<"$line")"
  precision="$(sed -n 's/.*precision \([0-9.]*\).*/\1/p' <<<"$line")"
  recall="$(sed -n 's/.*recall \([0-9.]*\).*/\1/p' <<<"$line")"
  rows="$(sed -n 's/.*rows [0-9]*\/[0-9]*\/\([0-9]*\).*/\1/p' <<<"$line")"
  printf '%-12s  %-26s  %6s  %8s  %6s  %9s  %6s\n' "$set" "plain XGBoost (baseline)" "$rows" "$auc" "$f1" "$precision" "$recall"
done

# One job size: ROUNDS alternating rounds of a job and plain XGBoost training of its rounds.
overhead() {
  local epochs="$1" job seconds line raw r
  local job_times=() raw_times=()
  echo
  echo "== Orchestration overhead: $((epochs * 50)) boosting rounds ($epochs epochs) on the same rows, $ROUNDS alternating rounds"
  for ((r = 1; r <= ROUNDS; r++)); do
    line="$(baseline --feature_set all --patience 0 --rounds "$((epochs * 50))")"
    raw="$(sed -n 's/.* train \([0-9.]*\) s .*/\1/p' <<<"$line")"
    raw_times+=("$raw")
    # First looked at once it has had twice the plain training time and a second more, then
    # every half second: the timed job runs alone on the machine, its watcher asleep.
    job="$(FIRST_LOOK="$(python3 -c "print(2 * $raw + 1)")" POLL=0.5 run_job \
      --training-dataset "$train" --validation-dataset "$valid" --test-dataset "$test" \
      --epochs "$epochs" --early-stopping-patience 100000 --suffix "bench-time")"
    seconds="$(python3 -c '
import calendar, json, sys, time
job = json.load(sys.stdin)["job"]
def at(text):  # RFC 3339 as protobuf JSON writes it: seconds, then up to 9 fractional digits.
    whole, _, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))
print(at(job["finishTime"]) - at(job["createTime"]))' <<<"$job")"
    job_times+=("$seconds")
    printf '  round %d: plain XGBoost %.2f s, job %.2f s; the job %s\n' "$r" "$raw" "$seconds" \
      "$("$CLI" --json jobs events "$(jq -r '.job.id' <<<"$job")" |
        jq -r '[.events[] | select(.message | startswith("time spent: "))][0].message')"
  done
  python3 - "$epochs" "${job_times[*]}" "${raw_times[*]}" <<'PY' | tee -a "$WORK/summary"
import statistics, sys
epochs = int(sys.argv[1])
job = statistics.median(float(x) for x in sys.argv[2].split())
raw = statistics.median(float(x) for x in sys.argv[3].split())
print(f"  {epochs * 50:5d} rounds: median job {job:.2f} s, plain XGBoost {raw:.2f} s; ratio {job / raw:.2f} "
      f"(orchestration overhead {100 * (job / raw - 1):.0f} %)")
PY
}

for epochs in $EPOCHS; do overhead "$epochs"; done
if [[ "$EPOCHS" == *" "* ]]; then
  echo
  echo "== Summary"
  cat "$WORK/summary"
fi

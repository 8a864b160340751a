#!/usr/bin/env bash
# Hyperparameter search benchmark (issue 6 target): a random search of TRIALS (50) gbdt
# candidates with 5-fold CV on ROWS x 28 (100,000, make_classification, fixed seed), run by
# `keel train` with 1 and then 2 threads in the same run; parallel efficiency = t1 / t2 (target
# >= 1.8). Wall and CPU times of both runs go into the "search" part of docs/BENCHMARKS.md.
#   bench/search/bench.sh                              full size
#   ROWS=5000 TRIALS=6 NO_DOC=1 bench/search/bench.sh  a quick run that leaves the doc alone
# BUILD (default build-bench-search) is the Release build directory.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench-search}
ROWS=${ROWS:-100000}
TRIALS=${TRIALS:-50}
ROUNDS=${ROUNDS:-10}
PY=/usr/bin/python3

"$ROOT/scripts/deps.sh" --bench
$PY -c "import sklearn" 2>/dev/null || {
    echo "bench/search: needs Debian's python3-sklearn (make_classification)" >&2
    exit 3
}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$BUILD" --target keel -j2 > /dev/null

data=$ROOT/bench/data/search_$ROWS.csv
mkdir -p "$ROOT/bench/data"
[ -f "$data" ] || $PY "$HERE/gen.py" "$ROWS" "$data"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/keel.yaml" <<YAML
version: 1
project: {name: bench-search}
objective: {task: classification, target: target}
data: {source: $data}
train:
  algorithm: gbdt
  seed: 7
  params: {n_estimators: $ROUNDS}
  validation: {method: stratified_kfold, folds: 5}
  search:
    method: random
    trials: $TRIALS
    space:
      max_depth: {type: int, low: 3, high: 8}
      eta: {type: float, low: 0.03, high: 0.3, log: true}
      subsample: {type: float, low: 0.6, high: 1, step: 0.1}
      colsample_bytree: {type: float, low: 0.5, high: 1, step: 0.1}
      min_child_weight: {type: float, low: 1, high: 20, log: true}
      lambda: {type: float, low: 0.1, high: 10, log: true}
YAML
export OMP_WAIT_POLICY=passive
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for t in 1 2; do
    echo "bench/search: $TRIALS trials x 5 folds on $ROWS rows, $t thread(s)" >&2
    /usr/bin/time -f "%e %U %S" -o "$work/time_$t" \
        "$BUILD/keel" -C "$work" --threads "$t" train --json > "$work/out_$t.json" 2> /dev/null
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
blas=$(dpkg-query -W -f='${Package} ${Version}' libopenblas0-openmp 2>/dev/null || echo unknown)

$PY - "$work" "$ROWS" "$TRIALS" "$ROUNDS" "$load_start" "$load_end" "$blas" > "$work/fragment.md" <<'PY'
import datetime, json, os, sys
work, rows, trials, rounds, l0, l1, blas = sys.argv[1:]
# The 1-minute load averages at the start and the end; above 2.5 on two cores
# other work shared the machine, and the report says so.
busy = "" if max(float(l0.split()[0]), float(l1.split()[0])) < 2.5 else (
    ": other work shared the machine's two cores during the run")
out, tm = {}, {}
for t in ("1", "2"):
    out[t] = json.load(open(f"{work}/out_{t}.json"))
    wall, user, sys_ = map(float, open(f"{work}/time_{t}").read().split()[-3:])
    tm[t] = (wall, user + sys_)
s1, s2 = out["1"]["search"], out["2"]["search"]
same = ([x["mean"] for x in s1["trials"]] == [x["mean"] for x in s2["trials"]]
        and s1["best"] == s2["best"])
eff_trials = s1["trials_seconds"] / s2["trials_seconds"]
w1, w2 = s1["worker_cpu_seconds"], s2["worker_cpu_seconds"]
eff_cpu = sum(w1) / max(w2)
eff_wall = tm["1"][0] / tm["2"][0]
cpu_ratio = tm["2"][1] / tm["1"][1]
cores = tm["2"][1] / tm["2"][0]
met = eff_trials >= 1.8
inflation = sum(w2) / sum(w1)
noise = ""
if eff_trials > 2 or inflation < 0.95:
    noise = (f"The same trial work cost {sum(w1):.1f} CPU s in the 1-thread run and {sum(w2):.1f} in "
             "the 2-thread run: the load (other processes' use of the caches and of the cores' "
             "time) changed between the two runs, which is also how a wall ratio above 2 "
             "happens. On this machine ratios move by several tenths from run to run.\n\n")
best = s1["best"]
print(f"""## Hyperparameter search (bench/search/bench.sh)

Target (issue 6): a random search of {trials} trials with 5-fold CV on {int(rows):,} x 28 uses
both cores: parallel efficiency t(1 thread) / t(2 threads) at least 1.8.

Data: scikit-learn make_classification, {int(rows):,} x 28 (14 informative, 6 redundant,
random_state=6), CSV. Search: `keel train` (gbdt, {rounds} rounds, stratified 5-fold, random
search over max_depth, eta, subsample, colsample_bytree, min_child_weight, lambda; seed 7):
{len(s1["trials"])} trials = {5 * len(s1["trials"])} fold fits, then the best refitted (its own
5-fold CV and a fit on all rows). Run {datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")},
OpenBLAS {blas}, load average {l0} at the start and {l1} at the end{busy}.

| | 1 thread | 2 threads | ratio (1 / 2) |
|---|---:|---:|---:|
| trials (search engine) wall s | {s1["trials_seconds"]:.1f} | {s2["trials_seconds"]:.1f} | **{eff_trials:.2f}** |
| whole command wall s (CSV read, trials, final CV + refit) | {tm["1"][0]:.1f} | {tm["2"][0]:.1f} | {eff_wall:.2f} |
| whole command CPU s (user + sys) | {tm["1"][1]:.1f} | {tm["2"][1]:.1f} | {tm["1"][1] / tm["2"][1]:.2f} |
| trials: CPU s per worker thread | {" + ".join(f"{x:.1f}" for x in w1)} | {" + ".join(f"{x:.1f}" for x in w2)} | **{eff_cpu:.2f}** (sum 1 / max 2) |

Parallel efficiency of the search (trials, wall): **{eff_trials:.2f}** (target 1.8: **{"met" if met else "not met"}**).
In CPU time, which the other processes on the machine do not distort: the 1-thread run's
trial work over the busiest worker's share in the 2-thread run is **{eff_cpu:.2f}**, the
speed-up the task queue gives on two idle cores ({"meets" if eff_cpu >= 1.8 else "misses"} 1.8).
The 2-thread run used {cores:.2f} cores on average over the whole command; its CPU time is
{cpu_ratio:.2f}x the 1-thread run's (1.00 = no work added by running in parallel).
Results identical for 1 and 2 threads (every trial's mean and the best trial): {"yes" if same else "NO"}.
Best: trial {best["id"]}, {s1["metric"]} {best["mean"]:.4f} ± {best["std"]:.4f}
({", ".join(f"{k}={v}" for k, v in best["params"].items())}).

{noise}Trials x folds are one dynamic task queue, each fit single-threaded, so the only
serial parts are reading the CSV, the split, and the tail (at most one fold fit
idle on one core at the end of the queue).""")
if not met:
    autogroup = open("/proc/sys/kernel/sched_autogroup_enabled").read().strip() == "1" \
        if os.path.exists("/proc/sys/kernel/sched_autogroup_enabled") else False
    print(f"""
Missed by {1.8 - eff_trials:.2f} in wall time. With the load average above the core count the
2-thread run did not get two cores: it averaged {cores:.2f} cores over the command.""" + (
        """ The kernel
schedules by session here (sched_autogroup_enabled = 1): on an oversubscribed machine a
session gets its share of the CPU however many threads it runs, so a second thread mostly
splits the share the first one had instead of adding a core.""" if autogroup else "") + f"""
The CPU-time figures are the ones the load does not move: the 2-thread run did
{abs(100 * (inflation - 1)):.0f}% {"more" if inflation >= 1 else "less"} trial work than the 1-thread run ({"two fits sharing the caches and memory bandwidth of two cores" if inflation >= 1 else "the same work: run-to-run noise"}), and its busiest worker did
{100 * max(w2) / sum(w2):.0f}% of it, which gives the {eff_cpu:.2f} above on two idle cores.""")
print("""
scikit-learn's RandomizedSearchCV(n_jobs=2) is not run beside it: on this shared machine its
minutes of extra CPU time would have slowed every other engineer's measurements.""")
PY
cat "$work/fragment.md"
[ -n "${NO_DOC:-}" ] || $PY "$ROOT/bench/section.py" search "$work/fragment.md"

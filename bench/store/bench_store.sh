#!/usr/bin/env bash
# keel's store benchmarks (issue 3 targets), each against its baseline in the
# same run:
#   1. `keel data add` of the 1M x 20 CSV end to end (parse, hash, summarise,
#      compress, store; no keel.yaml, so every column is kept) vs
#      pandas.read_csv of the same file alone (timed inside Python, so without
#      interpreter start-up); then `keel data add` with PII scanning on (a
#      keel.yaml with constraints.pii default redact) beside it;
#   2. logging 100,000 metric values in one run through the library
#      (bench_metrics, SQLite and, when a PostgreSQL server can be started,
#      PostgreSQL) vs Python's sqlite3 executemany, one row per value, one
#      transaction (sqlite_metrics.py);
#   3. `keel runs` over 10,000 runs (whole process, output to /dev/null),
#      listing and a filtered, sorted query, vs the sqlite3 command-line tool
#      running the same query on the same database.
# Times are the best of REPS runs (default 3; 5 for the listings).
#
#   bench/store/bench_store.sh             everything
#   BUILD=/path OUT=/path REPS=n           build directory, results directory
#   PG=0                                   skip PostgreSQL
#   DATA=file.csv RUNS=n                   a smaller smoke run (the CSV needs an n_age column for the PII step)
# Results: $OUT/store.txt (key=value) and $OUT/store.md (a table).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-release}
OUT=${OUT:-$ROOT/bench/out}
REPS=${REPS:-3}
PG=${PG:-1}
PY=/usr/bin/python3
DATA=${DATA:-$ROOT/bench/data/csv_1m.csv}
RUNS=${RUNS:-10000}
export KEEL_THREADS=${KEEL_THREADS:-2}
log() { printf 'bench-store: %s\n' "$*" >&2; }
mkdir -p "$OUT/store"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log "building keel (Release) in $BUILD"
{ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$BUILD" --target keel keel_static -j2; } > "$OUT/store/build.log" 2>&1 ||
    { tail -20 "$OUT/store/build.log" >&2; exit 3; }
KEEL=$BUILD/keel
PCDEPS=$(sed -n 's/^Requires.private://p' "$BUILD/keel.pc" 2>/dev/null || true)
for p in bench_metrics bench_runs_fill; do
    gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$ROOT/include" -I"$BUILD/include" \
        -o "$OUT/store/$p" "$HERE/$p.c" "$BUILD/libkeel.a" \
        $(pkg-config --libs ${PCDEPS:-yaml-0.1 libcrypto jansson sqlite3 libpq libzstd}) -fopenmp -lm
done
if [ ! -f "$DATA" ]; then
    log "generating $DATA"
    mkdir -p "$(dirname "$DATA")"
    $PY "$ROOT/bench/gen_csv.py" 1000000 "$DATA"
fi

ms() { echo $(($(date +%s%N) / 1000000)); }
# best_ms REPS CMD...: the fastest wall time of CMD in ms (a fresh project each time: $P)
best_ms() {
    local reps=$1 best= t0 t
    shift
    for _ in $(seq "$reps"); do
        rm -rf "$work/p" && mkdir -p "$work/p"
        [ -z "${SETUP:-}" ] || eval "$SETUP"
        t0=$(ms)
        "$@" > /dev/null
        t=$(($(ms) - t0))
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
    done
    echo "$best"
}
res=$OUT/store.txt
: > "$res"
put() { echo "$1=$2" | tee -a "$res" >&2; }

# ---- 1. data add vs pandas.read_csv ----
log "data add of $(basename "$DATA") vs pandas.read_csv"
put add_ms "$(best_ms "$REPS" "$KEEL" -C "$work/p" data add "$DATA")"
pandas_ms=$($PY - "$DATA" "$REPS" <<'PY'
import sys, time, pandas
best = None
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter(); pandas.read_csv(sys.argv[1]); t = time.perf_counter() - t0
    best = t if best is None or t < best else best
print(round(best * 1000))
PY
)
put pandas_read_csv_ms "$pandas_ms"
pii_yaml='printf "project:\n  name: bench\nobjective:\n  task: regression\n  target: n_age\nconstraints:\n  pii:\n    default: redact\n" > "$work/p/keel.yaml"'
put add_pii_scan_ms "$(SETUP=$pii_yaml best_ms "$REPS" "$KEEL" -C "$work/p" data add "$DATA")"

# ---- 2. 100,000 metric values ----
log "100,000 metric values: keel (SQLite) vs sqlite3 executemany"
best=
for _ in $(seq "$REPS"); do
    rm -rf "$work/m" && mkdir -p "$work/m"
    s=$(KEEL_STORE= "$OUT/store/bench_metrics" "$work/m" 100000 | sed -n 's/^seconds=//p')
    best=$($PY -c "print(min(float('$s'), float('${best:-1e9}')))")
done
put metrics_keel_sqlite_ms "$($PY -c "print(round($best * 1000, 1))")"
best=
for _ in $(seq "$REPS"); do
    rm -f "$work/mlflow.db"*
    s=$($PY "$HERE/sqlite_metrics.py" "$work/mlflow.db" 100000 | sed -n 's/^seconds=//p')
    best=$($PY -c "print(min(float('$s'), float('${best:-1e9}')))")
done
put metrics_py_sqlite3_ms "$($PY -c "print(round($best * 1000, 1))")"
if [ "$PG" = 1 ] && [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    log "100,000 metric values: keel (PostgreSQL)"
    rm -rf "$work/m" && mkdir -p "$work/m"
    s=$(bash "$ROOT/tests/pg_harness.sh" bash -c \
        'KEEL_STORE=$KEEL_TEST_PG_URL "$0" "$1" 100000' "$OUT/store/bench_metrics" "$work/m" |
        sed -n 's/^seconds=//p')
    put metrics_keel_postgresql_ms "$($PY -c "print(round($s * 1000, 1))")"
fi

# ---- 3. keel runs over 10,000 runs vs the sqlite3 CLI ----
log "filling a store with $RUNS runs"
rm -rf "$work/r" && mkdir -p "$work/r"
KEEL_STORE= "$OUT/store/bench_runs_fill" "$work/r" "$RUNS" > /dev/null
db=$work/r/.keel/keel.db
lbest() { # best of 5 wall times of a command in ms, project kept
    local best= t0 t
    for _ in 1 2 3 4 5; do
        t0=$(ms); "$@" > /dev/null; t=$(($(ms) - t0))
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
    done
    echo "$best"
}
put runs_list_keel_ms "$(lbest "$KEEL" -C "$work/r" runs)"
put runs_list_sqlite3_ms "$(lbest sqlite3 "$db" \
    "SELECT id, name, status, started_ms, ended_ms FROM runs ORDER BY started_ms DESC, id")"
put runs_filter_keel_ms "$(lbest "$KEEL" -C "$work/r" runs --filter "metrics.auc > 0.9 and params.model = 'ols'" --sort "metrics.auc desc")"
put runs_filter_sqlite3_ms "$(lbest sqlite3 "$db" \
    "SELECT r.id, r.name, r.status, r.started_ms, r.ended_ms, m.value FROM runs r
     JOIN metrics m ON m.run = r.id AND m.key = 'auc'
     JOIN params p ON p.run = r.id AND p.key = 'model'
     WHERE m.value > 0.9 AND p.value = 'ols' ORDER BY m.value DESC")"

# ---- report ----
$PY - "$res" "$OUT/store.md" <<'PY'
import sys
v = dict(l.strip().split("=", 1) for l in open(sys.argv[1]) if "=" in l)
f = lambda k: float(v[k]) if k in v else None
rows = []
def row(what, keel, base, target, higher_is_better=False):
    a, b = f(keel), f(base)
    ratio = b / a if a and b else None
    rows.append(f"| {what} | {a:g} ms | {b:g} ms | {ratio:.1f}x | {target} |" if ratio
                else f"| {what} | {a} | {b} | - | {target} |")
row("data add 1M x 20 (keep) vs pandas.read_csv", "add_ms", "pandas_read_csv_ms", ">= 3x")
row("data add 1M x 20 with PII scan vs pandas.read_csv", "add_pii_scan_ms", "pandas_read_csv_ms", "(reported)")
row("100k metric values, SQLite vs sqlite3 executemany", "metrics_keel_sqlite_ms", "metrics_py_sqlite3_ms", ">= 5x")
if "metrics_keel_postgresql_ms" in v:
    row("100k metric values, PostgreSQL vs sqlite3 executemany", "metrics_keel_postgresql_ms", "metrics_py_sqlite3_ms", "(reported)")
row("keel runs, 10k runs vs sqlite3 CLI", "runs_list_keel_ms", "runs_list_sqlite3_ms", "keel < 100 ms")
row("keel runs --filter --sort, 10k runs vs sqlite3 CLI", "runs_filter_keel_ms", "runs_filter_sqlite3_ms", "keel < 100 ms")
text = ("| benchmark | keel | baseline | baseline / keel | target |\n|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n")
open(sys.argv[2], "w").write(text)
print(text)
PY

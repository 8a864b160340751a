#!/usr/bin/env bash
# keel's store benchmarks (issue 3 targets), each against its peer in the
# same run, written to the "store" part of docs/BENCHMARKS.md:
#   1. `keel data add` of the 1M x 20 CSV end to end (parse, hash, summarise,
#      compress, store; no keel.yaml, so every column is kept) vs
#      pandas.read_csv of the same file alone (timed inside Python, so without
#      interpreter start-up); `keel data add` with PII scanning on (keel.yaml
#      with constraints.pii default redact) reported beside it;
#   2. logging 100,000 metric values in one run through the library
#      (bench_metrics) vs Python's sqlite3 executemany, one row per value, one
#      transaction (sqlite_metrics.py); PostgreSQL beside it when a throwaway
#      server can be started (tests/pg_harness.sh);
#   3. `keel runs` over 10,000 runs (whole process, output to /dev/null),
#      listing and a filtered, sorted query, vs the sqlite3 command-line tool
#      running the same query on the same database.
# Wall times are the best of REPS runs (default 3; 5 for the listings), with
# the CPU time (user + system) of that best run beside them.
#
#   bench/store/bench.sh                   everything, then docs/BENCHMARKS.md
#   BUILD=dir OUT=dir REPS=n PG=0          build dir, results dir, repetitions, no PostgreSQL
#   DATA=file.csv RUNS=n DOC=file.md       a smaller smoke run (DATA needs an n_age column)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench-store}
OUT=${OUT:-$ROOT/bench/out}
REPS=${REPS:-3}
PG=${PG:-1}
PY=/usr/bin/python3
DATA=${DATA:-$ROOT/bench/data/csv_1m.csv}
RUNS=${RUNS:-10000}
DOC=${DOC:-$ROOT/docs/BENCHMARKS.md}
export KEEL_THREADS=${KEEL_THREADS:-2}
log() { printf 'bench-store: %s\n' "$*" >&2; }
"$ROOT/scripts/deps.sh" --bench
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

res=$OUT/store.txt
: > "$res"
put() { echo "$1=$2" | tee -a "$res" >&2; }
load() { cut -d' ' -f1 /proc/loadavg; }
put load_start "$(load)"
put reps "$REPS"

# best REPS KEY CMD...: best wall time of CMD in ms as KEY_ms, its CPU ms as KEY_cpu_ms.
# SETUP (a shell snippet) runs before each repetition; FRESH=1 gives each a new project $work/p.
best() {
    local reps=$1 key=$2 bw= bc= line w c
    shift 2
    for _ in $(seq "$reps"); do
        if [ "${FRESH:-0}" = 1 ]; then rm -rf "$work/p" && mkdir -p "$work/p"; fi
        [ -z "${SETUP:-}" ] || eval "$SETUP"
        line=$(/usr/bin/time -f '%e %U %S' "$@" 2>&1 > /dev/null | tail -1)
        w=$($PY -c "print(round(float('${line%% *}') * 1000))")
        c=$($PY -c "a = '$line'.split(); print(round((float(a[1]) + float(a[2])) * 1000))")
        if [ -z "$bw" ] || [ "$w" -lt "$bw" ]; then bw=$w; bc=$c; fi
    done
    put "${key}_ms" "$bw"
    put "${key}_cpu_ms" "$bc"
}

# ---- 1. data add vs pandas.read_csv ----
log "data add of $(basename "$DATA") vs pandas.read_csv"
FRESH=1 best "$REPS" add "$KEEL" -C "$work/p" data add "$DATA"
$PY - "$DATA" "$REPS" >> "$res" <<'PY'
import sys, time, pandas, numpy
best = None
for _ in range(int(sys.argv[2])):
    t0, c0 = time.perf_counter(), time.process_time()
    pandas.read_csv(sys.argv[1])
    t, c = time.perf_counter() - t0, time.process_time() - c0
    if best is None or t < best[0]:
        best = (t, c)
print(f"pandas_ms={round(best[0] * 1000)}\npandas_cpu_ms={round(best[1] * 1000)}")
print(f"pandas_version={pandas.__version__}\nnumpy_version={numpy.__version__}")
PY
pii_yaml='printf "project:\n  name: bench\nobjective:\n  task: regression\n  target: n_age\nconstraints:\n  pii:\n    default: redact\n" > "$work/p/keel.yaml"'
FRESH=1 SETUP=$pii_yaml best "$REPS" add_pii "$KEEL" -C "$work/p" data add "$DATA"

# ---- 2. 100,000 metric values ----
log "100,000 metric values: keel (SQLite) vs sqlite3 executemany"
kv() { sed -n "s/^$1=//p"; }
bestpair() { # KEY CMD...: best of REPS of a program printing seconds= and cpu_seconds=
    local key=$1 bw= bc= o w c
    shift
    for _ in $(seq "$REPS"); do
        rm -rf "$work/m" "$work/mlflow.db"* && mkdir -p "$work/m"
        o=$("$@")
        w=$(echo "$o" | kv seconds)
        c=$(echo "$o" | kv cpu_seconds)
        if [ -z "$bw" ] || $PY -c "import sys; sys.exit(not $w < $bw)"; then bw=$w; bc=$c; fi
        last=$o
    done
    put "${key}_ms" "$($PY -c "print(round($bw * 1000, 1))")"
    put "${key}_cpu_ms" "$($PY -c "print(round($bc * 1000, 1))")"
}
KEEL_STORE= bestpair metrics_keel_sqlite "$OUT/store/bench_metrics" "$work/m" 100000
bestpair metrics_py_sqlite3 $PY "$HERE/sqlite_metrics.py" "$work/mlflow.db" 100000
put py_sqlite_version "$(echo "$last" | kv sqlite_version)"
if [ "$PG" = 1 ] && [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    log "100,000 metric values: keel (PostgreSQL)"
    rm -rf "$work/m" && mkdir -p "$work/m"
    o=$(bash "$ROOT/tests/pg_harness.sh" bash -c \
        'KEEL_STORE=$KEEL_TEST_PG_URL "$0" "$1" 100000' "$OUT/store/bench_metrics" "$work/m" || true)
    if [ -n "$(echo "$o" | kv seconds)" ]; then
        put metrics_keel_postgresql_ms "$($PY -c "print(round($(echo "$o" | kv seconds) * 1000, 1))")"
        put metrics_keel_postgresql_cpu_ms "$($PY -c "print(round($(echo "$o" | kv cpu_seconds) * 1000, 1))")"
        put pg_version "$(/usr/lib/postgresql/15/bin/postgres --version | sed 's/.* //')"
    fi
fi

# ---- 3. keel runs over 10,000 runs vs the sqlite3 CLI ----
log "filling a store with $RUNS runs"
rm -rf "$work/r" && mkdir -p "$work/r"
KEEL_STORE= "$OUT/store/bench_runs_fill" "$work/r" "$RUNS" > /dev/null
db=$work/r/.keel/keel.db
best 5 runs_list "$KEEL" -C "$work/r" runs
best 5 runs_list_sqlite3 sqlite3 "$db" \
    "SELECT id, name, status, started_ms, ended_ms FROM runs ORDER BY started_ms DESC, id DESC"
best 5 runs_filter "$KEEL" -C "$work/r" runs --filter "metrics.auc > 0.9 and params.model = 'ols'" \
    --sort "metrics.auc desc"
best 5 runs_filter_sqlite3 sqlite3 "$db" \
    "SELECT r.id, r.name, r.status, r.started_ms, r.ended_ms, m.value FROM runs r
     JOIN metrics m ON m.run = r.id AND m.key = 'auc'
     JOIN params p ON p.run = r.id AND p.key = 'model'
     WHERE m.value > 0.9 AND p.value = 'ols' ORDER BY m.value DESC"
put sqlite3_cli_version "$(sqlite3 --version | cut -d' ' -f1)"
put load_end "$(load)"
put runs "$RUNS"
put data "$(basename "$DATA")"

# ---- report: the "store" part of docs/BENCHMARKS.md ----
$PY - "$res" "$OUT/store.md" <<'PY'
import sys
v = dict(l.strip().split("=", 1) for l in open(sys.argv[1]) if "=" in l)
f = lambda k: float(v[k]) if k in v else None
rows = []
def row(what, keel, peer, target=None, faster=None):
    a, b = f(keel + "_ms"), f(peer + "_ms")
    ac, bc = f(keel + "_cpu_ms"), f(peer + "_cpu_ms")
    if a is None or b is None:
        return
    r, rc = b / a, (bc / ac if ac and bc else None)
    if faster is not None:
        met = "met" if r >= faster else "not met"
    elif target is not None:
        met = "met" if a < target else "not met"
    else:
        met = "(reported)"
    goal = f"{faster:g}x faster" if faster else (f"keel < {target:g} ms" if target else "-")
    rows.append(f"| {what} | {a:g} ms ({ac:g} CPU) | {b:g} ms ({bc:g} CPU) | {r:.2f}x"
                f" | {rc:.2f}x | {goal} | {met} |" if rc else
                f"| {what} | {a:g} ms | {b:g} ms | {r:.2f}x | - | {goal} | {met} |")
row(f"data add {v['data']} (keep) vs pandas.read_csv", "add", "pandas", faster=3)
row(f"data add {v['data']} with PII scan vs pandas.read_csv", "add_pii", "pandas")
row("100k metric values, SQLite vs sqlite3 executemany", "metrics_keel_sqlite",
    "metrics_py_sqlite3", faster=5)
row("100k metric values, PostgreSQL vs sqlite3 executemany", "metrics_keel_postgresql",
    "metrics_py_sqlite3")
row(f"keel runs, {v['runs']} runs vs sqlite3 CLI", "runs_list", "runs_list_sqlite3", target=100)
row(f"keel runs --filter --sort, {v['runs']} runs vs sqlite3 CLI", "runs_filter",
    "runs_filter_sqlite3", target=100)
busy = "" if max(float(v['load_start']), float(v['load_end'])) < 2.5 else (
    ": the machine's 2 cores were shared with other jobs, so wall times carry noise"
    " and the CPU-time ratio is the steadier figure")
text = f"""## Store (issue 3)

`bench/store/bench.sh`: keel Release, `KEEL_THREADS=2`, best of {v['reps']} (5 for the
listings) wall times with the CPU time (user + system) of the same run; keel
and its peer run one after the other in the same script. Peers: pandas
{v.get('pandas_version')} (numpy {v.get('numpy_version')}; read_csv does not use
BLAS) timed inside Python; Python's sqlite3 module (SQLite {v.get('py_sqlite_version')})
with executemany, one row per value in one transaction, WAL and
synchronous=NORMAL like keel's store; the sqlite3 command-line tool
{v.get('sqlite3_cli_version')} running the same query on the same database;
PostgreSQL {v.get('pg_version', '-')} (a throwaway server on this machine).
Load average (1 min) {v['load_start']} at the start, {v['load_end']} at the end{busy}.

| benchmark | keel | peer | peer / keel (wall) | peer / keel (CPU) | target | |
|---|---|---|---|---|---|---|
""" + "\n".join(rows) + "\n" + """
Notes. `data add` stores the table in the binary columnar format
(docs/STORE.md): no number formatting remains; a perf profile of the
single-threaded run leaves about 40% in the CSV parse, about 15% in SHA-256
(the source file, the frame's content hash that names the snapshot, and the
two objects' names), about 10% in the summaries (sorted distinct values of 16
numeric columns), under 10% in zstd and the rest mostly in the kernel zeroing
fresh pages. The parse alone is about 4x pandas.read_csv (the CSV part of
this page); hashing, summarising, compressing and writing the snapshot take
that down to the ratio above. On a loaded machine keel's 2 threads lose more
wall time to waiting than pandas' single thread, and the CPU ratio is the
fairer reading. `keel runs` times come from /usr/bin/time (10 ms
resolution); its CPU time includes about 25 ms of process start-up (the
dynamic loader and its libraries, OpenBLAS's initialisation the largest;
libpq is loaded only for a PostgreSQL store) before the store is opened.
"""
open(sys.argv[2], "w").write(text)
print(text)
PY
$PY "$ROOT/bench/section.py" store "$OUT/store.md" "$DOC"
log "wrote the store part of $DOC"

#!/usr/bin/env bash
# keel's CSV benchmark: keel's reader against pandas.read_csv and `cat`, same
# files, same run. Rewrites docs/BENCHMARKS.md from the results.
#
#   bench/run.sh                  everything (the 1M and 5M files, the per-form breakdown)
#   SIZES="1m" bench/run.sh       only the 1M file
#   BREAKDOWN=0 bench/run.sh      skip the per-form breakdown
#   BUILD=/path bench/run.sh      use (and build) another build directory
#   KEEL_THREADS=n                threads for keel (default 2, the machine's cores)
#   OUT=dir DOC=file              where the logs and the report go (bench/out, docs/BENCHMARKS.md)
#
# Steps: install the Debian packages that are missing (only those, after
# apt-get update), build keel (Release) and bench_csv, generate the data when
# absent or older than the generator, run cat, keel and pandas on each file,
# and write the report. Results (raw key=value logs) stay in bench/out/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
BUILD=${BUILD:-$ROOT/build-release}
OUT=${OUT:-$BENCH/out}
DATA=$BENCH/data
DOC=${DOC:-$ROOT/docs/BENCHMARKS.md}
SIZES=${SIZES:-"1m 5m"}
BREAKDOWN=${BREAKDOWN:-1}
PY=/usr/bin/python3 # Debian's interpreter: the one that sees python3-pandas
export KEEL_THREADS=${KEEL_THREADS:-2}

log() { printf 'bench: %s\n' "$*" >&2; }

# ---- packages: scripts/deps.sh installs what is missing (and only that), peers included ----
"$ROOT/scripts/deps.sh" --bench

# ---- build ----
mkdir -p "$DATA" "$OUT"
log "building keel (Release) in $BUILD"
build() { # $1: ON or OFF, warnings as errors
    { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DKEEL_WERROR="$1" &&
      cmake --build "$BUILD" --target keel_static -j2; } >"$OUT/build.log" 2>&1
}
werror=on
if ! build ON; then
    # A warning (say one only -O2 shows) should not stop the measurement;
    # the report says the build needed this, and `make test` still fails on it.
    grep -m3 'error' "$OUT/build.log" >&2 || true
    log "the build with -Werror failed; building again without it"
    werror=off
    if ! build OFF; then
        tail -n 20 "$OUT/build.log" >&2
        log "the keel build failed (log: $OUT/build.log)"
        exit 3
    fi
fi
make -s -C "$BENCH" BUILD="$BUILD" OUT="$OUT"

# ---- data ----
rows_of() { # 1m -> 1000000, 20k -> 20000
    case $1 in
        *m) echo $((${1%m} * 1000000)) ;;
        *k) echo $((${1%k} * 1000)) ;;
        *) echo "bench: bad size '$1' (e.g. 1m, 20k)" >&2; exit 2 ;;
    esac
}
runs_of() { case $1 in 1m) echo 5 ;; *) echo 3 ;; esac; }
for s in $SIZES; do
    f=$DATA/csv_$s.csv
    if [ ! -f "$f" ] || [ "$BENCH/gen_csv.py" -nt "$f" ]; then
        log "generating $f"
        $PY "$BENCH/gen_csv.py" "$(rows_of "$s")" "$f" >"$OUT/gen_$s.txt"
    fi
done

# ---- machine ----
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "flags_avx512=$(grep -m1 -c avx512f /proc/cpuinfo || true)"
    echo "mem_gib=$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "gcc=$(gcc -dumpfullversion)"
    echo "keel_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "keel_threads=$KEEL_THREADS"
    echo "werror=$werror"
    echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
    $PY -c 'import pandas, numpy; print(f"pandas={pandas.__version__}\nnumpy={numpy.__version__}")'
} >"$OUT/machine.txt"

# ---- runs: cat first (it also warms the page cache), then keel, then pandas ----
for s in $SIZES; do
    f=$DATA/csv_$s.csv
    r=$(runs_of "$s")
    load() { echo "load_$1_$s=$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/machine.txt"; }
    load cat
    log "cat $s ($r runs)"
    $PY "$BENCH/bench_cat.py" "$f" "$r" >"$OUT/cat_$s.txt"
    load keel
    log "keel $s ($r runs)"
    if ! "$OUT/bench_csv" "$f" "$r" >"$OUT/keel_$s.txt" 2>"$OUT/keel_$s.err"; then
        log "keel failed on $s: $(tail -n1 "$OUT/keel_$s.err")"
    fi
    load pandas
    log "pandas $s ($r runs)"
    $PY "$BENCH/bench_pandas.py" "$f" "$r" >"$OUT/pandas_$s.txt"
done

# ---- breakdown: the first file cut into one file per value form ----
rm -f "$OUT"/form_*.txt "$OUT"/form_*.err
first=${SIZES%% *}
if [ "$BREAKDOWN" = 1 ]; then
    src=$DATA/csv_$first.csv
    header=$(head -n1 "$src")
    cols_of() { # the 1-based indices of the named columns, comma-separated
        local want=" $* " i=0 idx=() name
        IFS=, read -ra names <<<"$header"
        for name in "${names[@]}"; do
            i=$((i + 1))
            [[ $want == *" $name "* ]] && idx+=("$i")
        done
        (IFS=,; echo "${idx[*]}")
    }
    forms=(
        "fixed2:x_norm2_a x_norm2_b x_norm2_c x_norm2_d x_price_a x_price_b x_price_c"
        "fixed136:x_norm1_a x_norm1_b x_norm3 x_norm6"
        "sci:x_sci"
        "u17:x_u17"
        "repr:x_repr"
        "int:n_age n_count n_signed"
        "cat:c_3 c_7 c_12"
    )
    echo "breakdown_size=$first" >>"$OUT/machine.txt"
    for fm in "${forms[@]}"; do
        name=${fm%%:*}
        ff=$DATA/form_${first}_$name.csv
        if [ ! -f "$ff" ] || [ "$src" -nt "$ff" ]; then
            cut -d, -f"$(cols_of ${fm#*:})" "$src" >"$ff.tmp" && mv "$ff.tmp" "$ff"
        fi
        log "breakdown $name"
        $PY "$BENCH/bench_cat.py" "$ff" 3 >/dev/null # page cache
        "$OUT/bench_csv" "$ff" 5 >"$OUT/form_${name}_keel.txt" 2>"$OUT/form_${name}_keel.err" ||
            log "keel failed on form $name: $(tail -n1 "$OUT/form_${name}_keel.err")"
        $PY "$BENCH/bench_pandas.py" "$ff" 3 >"$OUT/form_${name}_pandas.txt"
    done
fi

echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
$PY "$BENCH/report.py" "$OUT" "$DOC" $SIZES
log "wrote $DOC"

#!/usr/bin/env bash
# Linear models and AR (issue 5 targets): keel vs scikit-learn and statsmodels,
# same data, same run, 2 threads each. Writes the "linear" part of
# docs/BENCHMARKS.md.
#   BUILD=dir   keel Release build directory (default build-bench-linear)
#   ROWS=n      rows of the generated data (default 1000000)
#   REPS=n      repetitions, best of (default 3)
# OMP_WAIT_POLICY=passive for every tool: on a shared, loaded machine spinning
# OpenMP threads steal the cores they wait for.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$ROOT/bench/linear
BUILD=${BUILD:-$ROOT/build-bench-linear}
ROWS=${ROWS:-1000000}
REPS=${REPS:-3}
data=$ROOT/bench/data
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$ROOT/scripts/deps.sh" --bench
/usr/bin/python3 -c 'import sklearn, statsmodels, scipy' 2>/dev/null || {
    echo "bench/linear: needs python3-sklearn and python3-statsmodels (apt-get install)" >&2
    exit 3
}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target keel keel_static -j2 >/dev/null
"$here/build.sh" "$BUILD" "$out/linear_bench"

rows_of() { [ -f "$1" ] && od -An -tu8 -N8 "$1" | tr -d ' ' || echo 0; }
if [ "$(rows_of "$data/linear_reg.bin")" != "$ROWS" ] || [ ! -f "$data/linear_reg.csv" ]; then
    /usr/bin/python3 "$here/gen.py" "$ROWS" --csv
fi

export KEEL_THREADS=2 OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive
load0=$(cut -d' ' -f1-3 /proc/loadavg)
{
    for m in reg cls ar; do
        "$out/linear_bench" "$m" "$data/linear_$m.bin" "$REPS"
    done
    /usr/bin/python3 "$here/peers.py" "$REPS"
    # the CLI: read the CSV, validate (holdout), refit; fit_seconds is the final fit
    for a in ols ridge; do
        /usr/bin/time -f "%e %U %S" -o "$out/time" "$BUILD/keel" train --no-spec \
            --data "$data/linear_reg.csv" --target y --task regression --algo "$a" --json \
            2>/dev/null >"$out/cli.json"
        /usr/bin/python3 - "$a" "$out/cli.json" "$out/time" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
e, u, s = map(float, open(sys.argv[3]).read().split()[-3:])
print(json.dumps(dict(tool="cli", what=sys.argv[1], fit=d["fit_seconds"], wall=e, cpu=u + s)))
PY
    done
    /usr/bin/time -f "%e %U %S" -o "$out/time" "$BUILD/keel" train --no-spec \
        --data "$data/linear_cls.csv" --target y --task classification --algo logistic --json \
        2>/dev/null >"$out/cli.json"
    /usr/bin/python3 - logistic "$out/cli.json" "$out/time" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
e, u, s = map(float, open(sys.argv[3]).read().split()[-3:])
print(json.dumps(dict(tool="cli", what=sys.argv[1], fit=d["fit_seconds"], wall=e, cpu=u + s)))
PY
} | tee "$out/results.jsonl"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 "$here/report.py" "$out/results.jsonl" "$load0" "$load1" >"$out/fragment.md"
cat "$out/fragment.md"
/usr/bin/python3 "$ROOT/bench/section.py" linear "$out/fragment.md"

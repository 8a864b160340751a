#!/usr/bin/env bash
# Every benchmark, one after the other (`make bench`): the CSV reader
# (bench/run.sh), then each bench/AREA/bench.sh. Each writes its own part of
# docs/BENCHMARKS.md (bench/section.py), so one failing does not lose the
# others' figures; the exit status is 1 when any failed.
#   ONLY="store gbdt" bench/all.sh     just those areas (csv is an area too)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ONLY=${ONLY:-}
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
rc=0
if want csv; then
    "$ROOT/bench/run.sh" || { echo "bench: csv failed" >&2; rc=1; }
fi
for s in "$ROOT"/bench/*/bench.sh; do
    [ -x "$s" ] || continue
    area=$(basename "$(dirname "$s")")
    want "$area" || continue
    echo "bench: $area" >&2
    "$s" || { echo "bench: $area failed" >&2; rc=1; }
done
exit $rc

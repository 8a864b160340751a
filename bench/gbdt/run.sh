#!/bin/sh
# GBDT bench (issue 6): keel vs XGBoost hist vs scikit-learn HistGradientBoosting,
# 2 threads each, same data, same run. Generates bench/data/gbdt_* when missing.
# Usage: bench/gbdt/run.sh [cls|reg|forest|all] [rounds]   -> JSON lines on stdout
# OMP_WAIT_POLICY=passive for every tool: on a shared, loaded machine spinning
# OpenMP threads steal the cores they wait for (it changes little when quiet).
set -e
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../data
which=${1:-all}
rounds=${2:-200}
[ -f "$data/gbdt_cls_train.bin" ] || /usr/bin/python3 "$here/gen.py"
bin=$(mktemp -d)/gbdt_bench
"$here/build.sh" "$bin"
export KEEL_THREADS=2 OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive
for t in cls reg; do
    [ "$which" = all ] || [ "$which" = "$t" ] || continue
    "$bin" "$t" "$data/gbdt_${t}_train.bin" "$data/gbdt_${t}_valid.bin" "$rounds" 6 0.1
    /usr/bin/python3 "$here/peers.py" "$t" "$rounds"
done
if [ "$which" = all ] || [ "$which" = forest ]; then
    "$bin.forest" "$data/gbdt_cls_train.bin" "$data/gbdt_cls_valid.bin" 160000 40000 100
    /usr/bin/python3 "$here/peers.py" forest
fi
rm -rf "$(dirname "$bin")"

#!/bin/sh
# One CLI figure: `keel train` on the CSV files (reading them included), --valid scored every
# round, the same settings as the library run. Prints one JSON line.
# Usage: cli_run.sh KEEL cls|reg TRAIN.csv VALID.csv ROUNDS
set -e
keel=$1 task=$2 train=$3 valid=$4 rounds=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$task" = cls ]; then t=classification; m=roc_auc; else t=regression; m=rmse; fi
cd "$work"
/usr/bin/time -f "%e %U %S" -o time.txt "$keel" train --no-spec --data "$train" --valid "$valid" \
    --target y --task $t --algo gbdt --param n_estimators="$rounds" --param max_depth=6 \
    --param eta=0.1 --json > out.json 2> err.txt || { cat err.txt >&2; exit 1; }
/usr/bin/python3 - "$task" "$m" <<'PY'
import json, sys
task, metric = sys.argv[1], sys.argv[2]
d = json.load(open("out.json"))
wall, user, sys_ = (float(v) for v in open("time.txt").read().split()[-3:])
q = d["metrics"][metric]["mean"]
print(json.dumps({"tool": "keel train (CLI)", "task": task, "wall_s": wall, "cpu_s": user + sys_,
                  "fit_s": round(d["fit_seconds"], 3),
                  ("auc" if task == "cls" else "rmse"): q,
                  "best_iteration": d["rounds"]["best_iteration"]}))
PY

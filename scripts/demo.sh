#!/usr/bin/env bash
# The main job on data the repo carries: the lifecycle so far, on the UCI
# Adult census data (income above 50K, with sex and race as protected
# attributes), the COMPAS file for PII, the diabetes data for a regression,
# and the sunspots series for the autoregressive lab. Each later stage of the
# lifecycle adds its step here.
set -euo pipefail
keel=$(readlink -f "${1:-build/keel}")
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/build/demo"
rm -rf "$demo"; mkdir -p "$demo/data"
cp "$root/data/adult_2000.csv" "$demo/data/adult.csv"
cp "$root/data/compas_two_years.csv" "$demo/data/compas.csv"
cp "$root/data/sunspots.csv" "$demo/data/sunspots.csv"
cp "$root/data/diabetes.csv" "$demo/data/diabetes.csv"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s# %s%s\n' "$bold" "$*" "$plain"; }
step() { printf '\n%s$ keel %s%s\n' "$bold" "$*" "$plain"; "$keel" "$@"; }
cd "$demo"

say "1. business understanding: the objective, written down and validated"
step init --name adult-income --task classification --target income --data data/adult.csv
# The objective's constraints and quality gate, as a user would write them.
sed -i 's/^  protected: \[\]  /  protected: [sex, race]/' keel.yaml
sed -i 's/^sla: .*$/sla:\n  - {metric: roc_auc, min: 0.85, on: validation}/' keel.yaml
# The business measure: a correctly flagged high earner is worth 100, a false
# alarm costs 20; the decision threshold is chosen to maximise it.
sed -i 's/^kpi: .*$/kpi:\n  - {name: net gain, value: "100*tp - 20*fp", direction: max, why: "offers sent to likely high earners pay; wasted offers cost"}/' keel.yaml
step spec check

say "2. data: what keel reads, and whether it is accurate and reliable"
step data schema
step data head -n 5
step profile --html profile.html
echo "(profile.html: a self-contained report with its charts)"

say "3. data constraints: personal data, protected groups, terms of use"
step pii scan data/compas.csv
step check

say "4. versioned data and a tracked training run"
step data add data/adult.csv --name adult
step train --name adult-logistic
step runs
step predict adult-logistic data/adult.csv -o predictions.csv
head -n 3 predictions.csv
step evaluate adult-logistic data/adult.csv

say "5. algorithm choice and feature selection, with each feature's cost"
step train --algo gbdt --param n_estimators=100 --param max_depth=4 --name adult-gbdt
step compare adult-logistic adult-gbdt
step features rank --method mi
step features select --budget 0.5 --name small
step train --feature-set small --name adult-small

say "6. a regression, its hyperparameters, and how many labelled rows the quality goal needs"
mkdir -p "$demo/diabetes" && cd "$demo/diabetes"
step init --name diabetes --task regression --target target --data ../data/diabetes.csv
sed -i 's/^sla: .*$/sla:\n  - {metric: r2, min: 0.45, on: validation}/; s/^  # label_cost: .*/  label_cost: 2.0/' keel.yaml
step train --algo ridge --param alpha=0.1 --cv 5 --learning-curve --svg learning_curve.svg
# A random search over ridge's alpha, each trial a child run, the best refitted.
sed -i 's/^  # search: .*/  search:/; s/^  #   method: random .*/    method: random/;
        s/^  #   trials: 20/    trials: 20/; s/^  #   space:/    space:/; s/^  #     alpha: /      alpha: /' keel.yaml
step train --algo ridge --cv 5
cd "$demo"

say "7. the autoregressive lab: s(n) = k1*s(n-1) + ... + kp*s(n-p) on sunspots"
step ar acf data/sunspots.csv --column sunactivity --nlags 12
step ar fit data/sunspots.csv --column sunactivity --max-lag 12 --ic bic --horizon 5
step ar fit data/sunspots.csv --column sunactivity --lags 2 --trend n --horizon 3
# The same model as a tracked forecasting run, and its forecast with intervals.
mkdir -p "$demo/sunspots" && cd "$demo/sunspots"
step init --name sunspots --task forecast --target sunactivity --data ../data/sunspots.csv
step train --algo ar --param lags=9 --name sunspots-ar9
step predict sunspots-ar9 --horizon 5
cd "$demo"

printf '\ndemo: done (project in %s)\n' "$demo"

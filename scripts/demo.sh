#!/usr/bin/env bash
# The main job on data the repo carries (data/adult_2000.csv, UCI Adult):
# start a project, check its spec, and look at the data as keel reads it.
# Each later stage of the lifecycle adds its step here.
set -euo pipefail
keel=$(readlink -f "${1:-build/keel}")
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/build/demo"
rm -rf "$demo"; mkdir -p "$demo/data"
cp "$root/data/adult_2000.csv" "$demo/data/adult.csv"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s$ keel %s%s\n' "$bold" "$*" "$plain"; "$keel" "$@"; }
cd "$demo"
step init --name adult-income --task classification --target income --data data/adult.csv
step spec check
step data schema
step data head -n 5
printf '\ndemo: done (project in %s)\n' "$demo"

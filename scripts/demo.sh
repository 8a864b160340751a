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

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
cd "$demo"
step "$keel" init --name adult-income --task classification --target income --data data/adult.csv
step "$keel" spec check
step "$keel" data schema
step "$keel" data head -n 5
printf '\ndemo: done (project in %s)\n' "$demo"

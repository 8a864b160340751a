#!/bin/sh
# Build the GBDT and forest bench drivers straight from its sources (the library's GBDT
# needs only core), with the project's release flags.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/bench/gbdt/gbdt_bench}
gcc -std=c11 -O2 -fopenmp -D_GNU_SOURCE -Wall -Wextra -I"$root/include" -I"$root/lib" \
    "$here/gbdt_bench.c" "$root/lib/models/gbdt.c" "$root/lib/models/gbdt_bins.c" \
    "$root/lib/features/pipeline_io.c" "$root/lib/core/parallel.c" "$root/lib/core/rng.c" "$root/lib/core/err.c" \
    -lm -o "$out"
gcc -std=c11 -O2 -fopenmp -D_GNU_SOURCE -Wall -Wextra -I"$root/include" -I"$root/lib" \
    "$here/forest_bench.c" "$root/lib/models/tree.c" "$root/lib/models/forest.c" \
    "$root/lib/features/pipeline_io.c" "$root/lib/core/parallel.c" "$root/lib/core/rng.c" \
    "$root/lib/core/err.c" -lm -o "$out.forest"

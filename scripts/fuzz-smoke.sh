#!/usr/bin/env bash
# Run every libFuzzer target for a short time on a copy of its seed corpus.
# Any crash, leak or sanitizer report fails make test; the input that caused
# it is left in the build dir to be added to fuzz/corpus/ as a regression case.
set -euo pipefail
build=$1 seconds=$2
status=0
for t in "$build"/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t"); corpus=fuzz/corpus/${name#fuzz_}
    work="$build/corpus-run/${name#fuzz_}"
    rm -rf "$work"; mkdir -p "$work"
    [ -d "$corpus" ] && cp "$corpus"/* "$work"/ 2>/dev/null || true
    echo "fuzz: $name for ${seconds}s"
    if ! "$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$build/" "$work" > "$build/$name.log" 2>&1; then
        echo "fuzz: $name FAILED; see $build/$name.log"; tail -30 "$build/$name.log"; status=1
    else
        grep -E "^Done|stat::number_of_executed_units" "$build/$name.log" | tail -1 || true
    fi
done
exit $status

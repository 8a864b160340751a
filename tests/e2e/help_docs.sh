#!/usr/bin/env bash
# Every leaf command's --help must equal the ```text block in
# docs/cli/keel-<name>.md that starts with its usage line (git's
# t0450-txt-doc-vs-help). Leaves are read from `keel --help`.
set -u
keel=$(readlink -f "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
leaves=$("$keel" --help | awk '/^commands:/{on=1;next} on&&/^$/{on=0} on{sub(/^  /,""); split($0,a,/  +/); print a[1]}')
while IFS= read -r cmd; do
    [ -n "$cmd" ] || continue
    top=${cmd%% *}
    doc="$root/docs/cli/keel-$top.md"
    "$keel" $cmd --help > "$tmp/help" 2>&1
    if [ ! -f "$doc" ]; then
        echo "FAIL keel $cmd: no page $doc"; fail=$((fail + 1)); continue
    fi
    # the fenced block whose first line is "usage: keel <cmd> ..."
    awk -v want="usage: keel $cmd " '
        /^```/ { if (inb) { inb=0; if (hit) exit } else { inb=1; first=1 } ; next }
        inb && first { first=0; hit = (index($0, want) == 1) }
        inb && hit { print }' "$doc" > "$tmp/doc"
    if [ ! -s "$tmp/doc" ]; then
        echo "FAIL keel $cmd: $doc has no block starting 'usage: keel $cmd'"; fail=$((fail + 1))
    elif ! cmp -s "$tmp/doc" "$tmp/help"; then
        echo "FAIL keel $cmd: --help differs from $doc:"; diff "$tmp/doc" "$tmp/help" | head -20
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
done <<< "$leaves"
echo "help-docs: $pass passed, $fail failed"
[ $fail = 0 ] && [ $pass -gt 0 ]

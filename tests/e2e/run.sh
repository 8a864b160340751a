#!/usr/bin/env bash
# End-to-end cases: the real keel binary on real files. A case is a directory
# under tests/e2e/cases/ holding
#   cmd     one line: the arguments given to keel (shell words)
#   exit    the expected exit code
#   stdout  (optional) the exact expected standard output
#   stderr  (optional) the exact expected standard error
#   setup   (optional) a shell script run first in the case's directory ($KEEL: the binary)
#   check   (optional) a shell script run afterwards there; it must exit 0
#           ($KEEL is the binary, so it can inspect what the command made)
# Each case runs in a fresh temporary copy of its directory; the repo's data/
# folder is linked there as data/ unless the case has its own.
#   tests/e2e/run.sh KEEL_BINARY [CASE_DIR...]
set -u
keel=$(readlink -f "$1"); shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -gt 0 ] || set -- "$here"/cases/*/
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for case in "$@"; do
    case=${case%/}; name=$(basename "$case")
    [ -f "$case/cmd" ] || continue
    work="$tmp/$name"; mkdir -p "$work"
    cp -r "$case"/. "$work"/
    [ -e "$work/data" ] || ln -s "$root/data" "$work/data"
    (cd "$work" && [ ! -f setup ] || KEEL="$keel" bash setup) > /dev/null 2>&1
    args=$(cat "$case/cmd")
    (cd "$work" && eval "exec \"\$keel\" $args") < /dev/null > "$tmp/out" 2> "$tmp/err"
    rc=$?
    want=$(cat "$case/exit" 2>/dev/null || echo 0)
    ok=1 why=""
    [ "$rc" = "$want" ] || { ok=0; why="exit $rc, expected $want"; }
    if [ -f "$case/stdout" ] && ! cmp -s "$case/stdout" "$tmp/out"; then
        ok=0; why="$why; stdout differs:
$(diff "$case/stdout" "$tmp/out" | head -20)"
    fi
    if [ -f "$case/stderr" ] && ! cmp -s "$case/stderr" "$tmp/err"; then
        ok=0; why="$why; stderr differs:
$(diff "$case/stderr" "$tmp/err" | head -20)"
    fi
    if [ -f "$case/check" ] && ! (cd "$work" && KEEL="$keel" bash check > "$tmp/chk" 2>&1); then
        ok=0; why="$why; check failed:
$(head -20 "$tmp/chk")"
    fi
    if grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$tmp/err"; then
        ok=0; why="$why; sanitizer report:
$(head -20 "$tmp/err")"
    fi
    if [ $ok = 1 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL $name: $why"
    fi
done
echo "e2e: $pass passed, $fail failed"
[ $fail = 0 ]

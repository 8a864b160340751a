#!/usr/bin/env bash
# Crash safety: kill `keel data add` and a tracked run with SIGKILL at random
# moments, N times, and show that the store stays consistent.
#
#     KEEL=... KEEL_TRACK_LOOP=... tests/store/crash.sh N
#
# Each iteration starts either `keel data add` of a generated CSV (a new one
# each time, so new objects are being written) or keel_track_loop logging
# 300,000 metric values, and sends SIGKILL after a random delay, uniform over 1.2 times how long the
# same work takes uninterrupted (measured first), so kills land anywhere in it. Every 10
# iterations and at the end: `keel fsck` must be clean (every visible object
# intact: a partial object would fail its hash, and every reference
# resolves), every listed snapshot must load (`keel data get` checks its
# table hash), and no object file may be writable (a published object is
# complete and read-only). KEEL_STORE selects the backend as usual.
set -u
: "${KEEL:?}" "${KEEL_TRACK_LOOP:?}"
n=${1:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "store/crash.sh: $*" >&2; exit 1; }
cd "$tmp" || exit 1
mkdir p
RANDOM=${KEEL_TEST_SEED:-7}

python3 - base.csv <<'PY'
import random, sys
r = random.Random(1)
with open(sys.argv[1], "w") as f:
    f.write("id,x,y,z,label\n")
    for i in range(60000):
        f.write(f"{i},{r.random():.6f},{r.gauss(0, 1):.6f},{r.randint(0, 999)},{r.choice('abcde')}\n")
PY

check() {
    "$KEEL" -C p fsck > fsck.out 2>&1 || { cat fsck.out >&2; fail "fsck not clean after $1 kills"; }
    # The newest three snapshots each time, all of them at the end.
    "$KEEL" -C p data list --json > list.json || fail "data list failed after $1 kills"
    for id in $(python3 -c 'import json,sys; l=json.load(open("list.json")); print(" ".join(s["id"] for s in (l if sys.argv[1] == "all" else l[:3])))' "${2:-}"); do
        "$KEEL" -C p data get "$id" -o got.csv 2> get.err || { cat get.err >&2; fail "snapshot $id does not load"; }
    done
    w=$(find p/.keel/objects -type f -not -path 'p/.keel/objects/tmp/*' -perm /222 | head -1)
    [ -z "$w" ] || fail "object file $w is writable (not a finished object)"
}

# How long each takes uninterrupted, so the kills spread over the whole of it
# (uniform in [0, 1.2 x that], so some complete too).
ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms); "$KEEL" -C p data add "$tmp/base.csv" > /dev/null || fail "data add"
t_add=$(($(ms) - t0 + 1))
t0=$(ms); "$KEEL_TRACK_LOOP" p -n 300000 -k 2 > /dev/null || fail "tracked run"
t_run=$(($(ms) - t0 + 1))

kills=0 adds=0 runs=0
for i in $(seq 1 "$n"); do
    if [ $((RANDOM % 2)) = 0 ]; then
        { cat base.csv; echo "$((60000 + i)),0.5,0.5,$i,a"; } > in.csv
        "$KEEL" -C p data add "$tmp/in.csv" > /dev/null 2>&1 &
        adds=$((adds + 1))
        t=$t_add
    else
        "$KEEL_TRACK_LOOP" p -n 300000 -k 2 --name "crash$i" > /dev/null 2>&1 &
        runs=$((runs + 1))
        t=$t_run
    fi
    pid=$!
    d=$(( (RANDOM * 32768 + RANDOM) % (t * 12 / 10 + 1) ))
    sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
    kill -KILL "$pid" 2> /dev/null && kills=$((kills + 1))
    wait "$pid" 2> /dev/null
    [ $((i % 10)) = 0 ] && check "$i"
done
check "$n" all
# The store still works after all that.
"$KEEL" -C p data add "$tmp/base.csv" > /dev/null || fail "data add after the crashes"
"$KEEL_TRACK_LOOP" p -n 10 > /dev/null || fail "a run after the crashes"
check "$n" all
snaps=$("$KEEL" -C p data list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "store/crash.sh: $n iterations ($adds data add, $runs runs, $kills killed mid-way); $snaps snapshots; fsck clean"

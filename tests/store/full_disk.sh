#!/usr/bin/env bash
# A full disk gives a clear error and leaves the store consistent.
#
#     KEEL=... KEEL_TRACK_LOOP=... tests/store/full_disk.sh
#
# As root the project lives on a 3 MiB tmpfs mounted here (and unmounted
# whatever happens); otherwise (or with KEEL_TEST_RLIMIT=1, or when mounting
# is not allowed) the same runs under a file size limit (ulimit -f, with SIGXFSZ ignored so writes fail
# with EFBIG instead of killing the process). Then `keel data add` of a CSV
# whose objects cannot fit must exit 3 with an error naming the cause, leave
# no temporary file behind, add no snapshot, keep `keel fsck` clean, and the
# store must still take a small snapshot afterwards.
set -u
: "${KEEL:?}" "${KEEL_TRACK_LOOP:?}"
tmp=$(mktemp -d)
mounted=0
cleanup() {
    [ $mounted = 1 ] && umount "$tmp/disk"
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "store/full_disk.sh: $*" >&2; exit 1; }
mkdir -p "$tmp/disk"
mode=rlimit
if [ -z "${KEEL_TEST_RLIMIT:-}" ] && [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=3m tmpfs "$tmp/disk" 2> /dev/null; then
    mounted=1
    mode=tmpfs
fi
p=$tmp/disk/p
mkdir -p "$p"
python3 - "$tmp/big.csv" "$tmp/small.csv" <<'PY'
import random, sys
r = random.Random(3)
with open(sys.argv[1], "w") as f:       # ~9 MiB of incompressible digits
    f.write("a,b,c,d,e\n")
    for i in range(120000):
        f.write(",".join(f"{r.random():.15f}" for _ in range(5)) + "\n")
with open(sys.argv[2], "w") as f:
    f.write("x,y\n1,2\n3,4\n")
PY
"$KEEL" -C "$p" data add "$tmp/small.csv" > /dev/null || fail "first small add"
run() {
    if [ $mode = tmpfs ]; then
        "$@"
    else
        (trap '' XFSZ; ulimit -f 3072; exec "$@")
    fi
}
run "$KEEL" -C "$p" data add "$tmp/big.csv" > "$tmp/out" 2> "$tmp/err"
rc=$?
[ $rc = 3 ] || { cat "$tmp/err"; fail "data add on a full disk exited $rc, expected 3"; }
grep -qE "No space left on device|File too large|disk is full|database or disk is full" "$tmp/err" ||
    { cat "$tmp/err"; fail "the error does not say the disk is full"; }
[ -z "$(ls -A "$p/.keel/objects/tmp")" ] || fail "temporary files left behind: $(ls "$p/.keel/objects/tmp")"
n=$("$KEEL" -C "$p" data list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ] || fail "$n snapshots after the failed add, expected 1"
"$KEEL" -C "$p" fsck > "$tmp/fsck" || { cat "$tmp/fsck"; fail "fsck not clean after a full disk"; }
"$KEEL" -C "$p" gc --grace 0 > /dev/null || fail "gc on the full disk"
printf 'x,y\n5,6\n' > "$tmp/small2.csv"
"$KEEL" -C "$p" data add "$tmp/small2.csv" > /dev/null || fail "the store takes no snapshot after the full disk"
# A run that cannot flush reports it too, and the store stays consistent.
run "$KEEL_TRACK_LOOP" "$p" -n 3000000 -k 4 > /dev/null 2> "$tmp/err2" &&
    fail "a run of 12 million values fit on the small disk"
grep -qE "No space left on device|File too large|disk is full|disk I/O error" "$tmp/err2" ||
    { cat "$tmp/err2"; fail "the run's error does not say the disk is full"; }
"$KEEL" -C "$p" fsck > "$tmp/fsck" || { cat "$tmp/fsck"; fail "fsck not clean after a run on a full disk"; }
echo "store/full_disk.sh: ok ($mode): $(head -1 "$tmp/err")"

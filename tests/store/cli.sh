#!/usr/bin/env bash
# The store commands end to end on one backend, and export/import across
# backends. With KEEL_TEST_PG_URL set (tests/pg_harness.sh), the first store
# lives in PostgreSQL and the second in SQLite; otherwise both are SQLite.
#
#     KEEL=path/to/keel KEEL_TRACK_LOOP=path/to/keel_track_loop \
#         KEEL_SOURCE_DIR=repo tests/store/cli.sh
#
# Checks (each exits 1 with a message when it fails):
#   - adding the same file twice gives the same id and writes no object;
#   - data get gives a CSV with the original schema hash and content hash;
#   - keel.yaml's PII policies apply before anything is stored: no raw value
#     appears in any decompressed object;
#   - runs, filters, compare, show by prefix and name, lineage;
#   - gc frees the bytes of unreferenced objects (du) and keeps the rest;
#   - export from one backend, import into the other: the same runs, the same
#     metric values, and a re-export gives the same bundle description;
#   - fsck is clean everywhere, and finds a flipped byte.
set -u
: "${KEEL:?}" "${KEEL_TRACK_LOOP:?}" "${KEEL_SOURCE_DIR:?}"
data=$KEEL_SOURCE_DIR/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "store/cli.sh: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

a=$tmp/a b=$tmp/b
mkdir -p "$a" "$b"
if [ -n "${KEEL_TEST_PG_URL:-}" ]; then
    # A database of its own, so reruns and other tests do not see each other.
    db=keel_cli_$$
    psql "$KEEL_TEST_PG_URL" -qc "CREATE DATABASE $db" >/dev/null || fail "cannot create $db"
    url_a=${KEEL_TEST_PG_URL%/*}/$db
    backend_a=postgresql
else
    url_a=
    backend_a=sqlite
fi
ka() { (cd "$a" && KEEL_STORE=$url_a "$KEEL" "$@"); }
kb() { (cd "$b" && KEEL_STORE= "$KEEL" "$@"); }
objfiles() { find "$1/.keel/objects" -type f -not -path "$1/.keel/objects/tmp/*"; }
objects() { objfiles "$1" | wc -l; }

# ---- snapshots ----
s1=$(ka data add "$data/iris.csv" --name iris --tag source=uci --json | json 'd["id"]') ||
    fail "data add"
ka data show source=uci | grep -qx "tag      source=uci" || fail "data show misses the tag"
n1=$(objects "$a")
[ "$n1" -ge 3 ] || fail "data add wrote $n1 objects"
s1b=$(ka data add "$data/iris.csv" --json | json 'd["id"], d["created"]')
[ "$s1b" = "$s1 False" ] || fail "second add: '$s1b', expected '$s1 False'"
[ "$(objects "$a")" = "$n1" ] || fail "second add wrote objects"
ka data get iris -o "$a/iris_out.csv" || fail "data get"
h0=$("$KEEL" data schema --json "$data/iris.csv" | json 'd["schema_hash"]')
h1=$("$KEEL" data schema --json "$a/iris_out.csv" | json 'd["schema_hash"]')
[ "$h0" = "$h1" ] || fail "schema hash changed through the store"
cmp -s "$data/iris.csv" "$a/iris_out.csv" || fail "iris.csv did not round-trip byte for byte"
s2=$(ka data add "$data/wine.csv" --name wine --json | json 'd["id"]') || fail "add wine"
ka data diff iris wine --json | json 'len(d["added"]) > 0 and len(d["removed"]) > 0' |
    grep -qx True || fail "diff of iris and wine shows no column changes"

# PII: policies apply before storing; no raw value reaches an object.
p=$tmp/pii
mkdir -p "$p"
cp "$KEEL_SOURCE_DIR/tests/e2e/cases/pii_apply_spec_policies/"{keel.yaml,people.csv} "$p/"
(cd "$p" && KEEL_STORE= "$KEEL" data add people.csv --json) > "$tmp/pii.json" || fail "pii add"
json 'len(d["pii"]) >= 3' < "$tmp/pii.json" | grep -qx True || fail "no PII log"
[ "$(objects "$p")" -ge 3 ] || fail "the PII snapshot wrote no objects"
for f in $(objfiles "$p"); do
    tail -c +17 "$f" | zstd -dcq > "$tmp/obj" || fail "object $f does not decompress"
    for v in ana.lima@example.com 536-22-1234 "Ana Lima" 192.168.1.20; do
        grep -qF -- "$v" "$tmp/obj" && fail "raw value '$v' stored in $f"
    done
done

# ---- runs ----
ta() { KEEL_STORE=$url_a "$KEEL_TRACK_LOOP" "$a" "$@"; }
r1=$(ta -n 300 -k 2 --name first --snapshot "$s1" --param alpha=0.1 --tag stage=dev \
     --artifact "$data/nile.csv") || fail "run 1"
r2=$(ta -n 100 --name second --parent "$r1" --param alpha=0.2) || fail "run 2"
r3=$(ta -n 10 --name third --status failed) || fail "run 3"
[ "$(ka runs --json | json 'len(d)')" = 3 ] || fail "runs does not list 3 runs"
got=$(ka runs --filter "metrics.m0 > 100 and params.alpha = '0.1'" --json | json '[r["id"] for r in d]')
[ "$got" = "['$r1']" ] || fail "filter gave $got"
got=$(ka runs --sort "metrics.m0 desc" --limit 2 --json | json '[r["name"] for r in d]')
[ "$got" = "['first', 'second']" ] || fail "sort gave $got"
ka show "${r2:0:8}" --json | json 'd["params"]["alpha"], d["metrics"]["m0"]["value"]' |
    grep -qx "0.2 49.5" || fail "show by prefix"
ka show stage=dev --json | json 'd["id"]' | grep -qx "$r1" || fail "show by tag"
ka compare first second --json | json '[m["key"] for m in d["params"] if m["differ"]]' |
    grep -qx "\['alpha'\]" || fail "compare does not mark alpha"
ka lineage iris | grep -q "run:${r2:0:12} (parent)" || fail "lineage misses the child run"
ka lineage second --dot | grep -q "^digraph lineage" || fail "lineage --dot"
ka fsck > "$tmp/fsck" || { cat "$tmp/fsck"; fail "fsck not clean on $backend_a"; }

# ---- gc really frees space ----
python3 - "$tmp/junk.tar" <<'PY'
import hashlib, io, json, os, sys, tarfile
blob = os.urandom(4 << 20)
doc = json.dumps({"format": "keel-bundle", "version": 1, "snapshots": [], "runs": [],
                  "edges": [], "objects": []}).encode()
with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in (("keel-bundle.json", doc),
                       ("objects/" + hashlib.sha256(blob).hexdigest(), blob)):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
PY
ka import "$tmp/junk.tar" > /dev/null || fail "import of an unreferenced object"
before=$(du -sk "$a/.keel/objects" | cut -f1)
n_before=$(objects "$a")
ka gc --dry-run --grace 0 --json | json 'd["deleted"]' | grep -qx 1 || fail "gc --dry-run"
[ "$(objects "$a")" = "$n_before" ] || fail "gc --dry-run deleted something"
ka gc --grace 0 --json | json 'd["deleted"]' | grep -qx 1 || fail "gc did not delete 1 object"
after=$(du -sk "$a/.keel/objects" | cut -f1)
[ $((before - after)) -ge 4000 ] || fail "gc freed only $((before - after)) KiB of 4 MiB"
ka fsck > /dev/null || fail "fsck after gc"
ka data get wine -o "$tmp/wine.csv" || fail "a referenced object went in gc"

# ---- export from a, import into b (the other backend when a is PostgreSQL) ----
ka export iris -o "$tmp/iris.tar" > /dev/null || fail "export"
kb import "$tmp/iris.tar" > /dev/null || fail "import"
kb fsck > /dev/null || fail "fsck after import"
kb data show iris --json | json 'd["name"], d["tags"]' | grep -qx "iris {'source': 'uci'}" ||
    fail "import lost the snapshot's name or tag"
for r in "$r1" "$r2"; do
    ka show "$r" --json > "$tmp/ra.json" && kb show "$r" --json > "$tmp/rb.json" ||
        fail "show $r"
    cmp -s "$tmp/ra.json" "$tmp/rb.json" || fail "run $r differs after import"
done
kb runs --json | json 'len(d)' | grep -qx 2 || fail "import brought the wrong runs"
kb export iris -o "$tmp/again.tar" > /dev/null || fail "re-export"
tar -xOf "$tmp/iris.tar" keel-bundle.json > "$tmp/j1"
tar -xOf "$tmp/again.tar" keel-bundle.json > "$tmp/j2"
cmp -s "$tmp/j1" "$tmp/j2" || fail "re-exported bundle differs (metric history or records lost)"
kb import "$tmp/iris.tar" --json | json 'd["runs_added"]' | grep -qx 0 || fail "second import added runs"
kb data get iris -o "$tmp/iris_b.csv" && cmp -s "$data/iris.csv" "$tmp/iris_b.csv" ||
    fail "snapshot table differs after import"

# ---- and back: the SQLite store's bundle into a fresh PostgreSQL database ----
if [ -n "$url_a" ]; then
    db_c=keel_cli_c_$$
    psql "$KEEL_TEST_PG_URL" -qc "CREATE DATABASE $db_c" >/dev/null || fail "cannot create $db_c"
    c=$tmp/c
    mkdir -p "$c"
    kc() { (cd "$c" && KEEL_STORE=${KEEL_TEST_PG_URL%/*}/$db_c "$KEEL" "$@"); }
    kc import "$tmp/again.tar" > /dev/null || fail "import of the SQLite bundle into PostgreSQL"
    kc fsck > /dev/null || fail "fsck after importing into PostgreSQL"
    for r in "$r1" "$r2"; do
        kb show "$r" --json > "$tmp/rb.json" && kc show "$r" --json > "$tmp/rc.json" ||
            fail "show $r"
        cmp -s "$tmp/rb.json" "$tmp/rc.json" || fail "run $r differs after sqlite -> postgresql"
    done
    kc export iris -o "$tmp/third.tar" > /dev/null || fail "export from PostgreSQL again"
    tar -xOf "$tmp/third.tar" keel-bundle.json > "$tmp/j3"
    cmp -s "$tmp/j1" "$tmp/j3" || fail "bundle differs after postgresql -> sqlite -> postgresql"
    psql "$KEEL_TEST_PG_URL" -qc "DROP DATABASE $db_c" >/dev/null
fi

# ---- fsck finds damage ----
obj=$(objfiles "$b" | head -1)
chmod u+w "$obj"
printf '\xff' | dd of="$obj" bs=1 seek=40 conv=notrunc 2>/dev/null
kb fsck > "$tmp/fsck" && fail "fsck passed a damaged object"
grep -q "^object $(basename "$(dirname "$obj")")$(basename "$obj")" "$tmp/fsck" ||
    fail "fsck did not name the damaged object"
[ -z "$url_a" ] || psql "$KEEL_TEST_PG_URL" -qc "DROP DATABASE $db" >/dev/null
echo "store/cli.sh: all checks passed ($backend_a -> sqlite${url_a:+ -> postgresql})"

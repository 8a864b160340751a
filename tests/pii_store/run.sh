#!/usr/bin/env bash
# No raw PII in the store (issue 4, item 9): `keel data add` on a file with
# PII under a hash policy and under a redact policy, then every object under
# .keel/objects decompressed (each zstd frame found anywhere in a file, and
# the raw bytes too) and every other file under .keel (the SQLite database,
# its journal or WAL) read raw: no PII value of the input may occur in any of
# them. The values are taken from the input file, never written here, and a
# keep policy must show them all (so the search itself is known to work).
# Nothing depends on how snapshots are laid out: all bytes are searched.
#
#   tests/pii_store/run.sh KEEL_BINARY
#
# The input: data/compas_two_years.csv's real name and dob columns (first 400
# rows, with age and decile_score as plain columns), next to email, phone,
# US SSN and credit card numbers from tests/fixtures/pii/labelled.csv.
set -euo pipefail
keel=$(readlink -f "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d); [ -z "${KEEP_TMP:-}" ] || echo "pii_store: keeping $tmp" >&2
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

# The decompressor: the zstd program, else a few lines of C on libzstd.
unzstd=(zstd -dcq)
if ! command -v zstd > /dev/null; then
    cat > "$tmp/unzstd.c" <<'C'
#include <stdio.h>
#include <zstd.h>
/* stdin (zstd frames) to stdout; stops quietly at the first bytes that are not zstd. */
int main(void)
{
    static char in[1 << 16], out[1 << 17];
    ZSTD_DStream *d = ZSTD_createDStream();
    size_t n;
    while ((n = fread(in, 1, sizeof in, stdin)) > 0) {
        ZSTD_inBuffer ib = {in, n, 0};
        while (ib.pos < ib.size) {
            ZSTD_outBuffer ob = {out, sizeof out, 0};
            if (ZSTD_isError(ZSTD_decompressStream(d, &ob, &ib)))
                return 0;
            fwrite(out, 1, ob.pos, stdout);
        }
    }
    ZSTD_freeDStream(d);
    return 0;
}
C
    cc -O1 -o "$tmp/unzstd" "$tmp/unzstd.c" -lzstd
    unzstd=("$tmp/unzstd")
fi

# ---- the input file and the list of its PII values ----
"$py" - "$root" "$tmp/people.csv" "$tmp/values.txt" <<'PY'
import csv, sys
root, out, vals = sys.argv[1:4]
with open(f"{root}/data/compas_two_years.csv", newline="", encoding="utf-8") as f:
    compas = list(csv.DictReader(f))[:400]
pools = {}
with open(f"{root}/tests/fixtures/pii/labelled.csv", newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        if " " not in r["value"]:
            pools.setdefault(r["entity"], []).append(r["value"])
cols = ["email", "phone", "us_ssn", "credit_card"]
pii = set()
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "name", "dob", "age", "decile_score", "email", "phone", "ssn", "card"])
    for i, r in enumerate(compas):
        row = [r["id"], r["name"], r["dob"], r["age"], r["decile_score"]]
        row += [pools[c][i % len(pools[c])] for c in cols]
        w.writerow(row)
        pii.update([r["name"], r["dob"]] + row[5:])
with open(vals, "w", encoding="utf-8") as f:
    for v in sorted(pii):
        f.write(v + "\n")
print(f"pii_store: {len(compas)} rows, {len(pii)} distinct PII values", file=sys.stderr)
PY

# ---- every byte the store holds, decompressed where it is zstd ----
dump_store() {
    local dir=$1 out=$2
    : > "$out"
    while IFS= read -r -d '' f; do
        cat "$f" >> "$out"
        "$py" - "$f" "${unzstd[@]}" >> "$out" <<'PY'
import subprocess, sys
data = open(sys.argv[1], "rb").read()
magic, start = b"\x28\xb5\x2f\xfd", 0
while True:
    k = data.find(magic, start)
    if k < 0:
        break
    # zstd writes what it decoded before any trailing bytes it cannot read.
    r = subprocess.run(sys.argv[2:], input=data[k:], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    sys.stdout.buffer.write(r.stdout)
    start = k + 1
PY
    done < <(find "$dir/.keel" -type f -print0)
}

# ---- one project per policy ----
run_policy() {
    local policy=$1 dir="$tmp/$1"
    mkdir -p "$dir"
    cp "$tmp/people.csv" "$dir/"
    (cd "$dir" && "$keel" init --name "pii-$policy" > /dev/null)
    cat > "$dir/keel.yaml" <<YAML
version: 1
project: {name: pii-$policy}
objective: {task: regression, target: decile_score}
data: {source: people.csv}
constraints:
  pii:
    default: $policy
YAML
    (cd "$dir" && "$keel" data add people.csv --name people > add.out)
    [ -n "$(find "$dir/.keel/objects" -type f | head -1)" ] || { echo "pii_store: $policy: no object stored" >&2; exit 1; }
    dump_store "$dir" "$dir/all.bin"
    grep -a -o -F -f "$tmp/values.txt" "$dir/all.bin" | sort -u > "$dir/found.txt" || true
    # Typed values (dates) are stored in binary: the snapshot read back through
    # keel shows them as text, whatever the layout.
    (cd "$dir" && "$keel" data get people -o got.csv > /dev/null)
    grep -a -o -F -f "$tmp/values.txt" "$dir/got.csv" | sort -u > "$dir/found_get.txt" || true
}

fail=0
total=$(wc -l < "$tmp/values.txt")
# The control: under keep, every value is seen (in the bytes, or read back).
run_policy keep
kept=$(wc -l < "$tmp/keep/found.txt")
seen=$(sort -u "$tmp/keep/found.txt" "$tmp/keep/found_get.txt" | wc -l)
if [ "$kept" -eq 0 ] || [ "$seen" -lt "$total" ]; then
    echo "pii_store: keep policy: $kept of $total values in the store's bytes, $seen with the snapshot read back; the search does not see the data" >&2
    fail=1
else
    echo "pii_store: keep policy (control): $kept of $total values in the store's bytes, all $total with the snapshot read back" >&2
fi
for policy in hash redact; do
    run_policy "$policy"
    n=$(wc -l < "$tmp/$policy/found.txt")
    g=$(wc -l < "$tmp/$policy/found_get.txt")
    if [ "$n" -ne 0 ] || [ "$g" -ne 0 ]; then
        echo "pii_store: $policy policy: $n raw PII values in the store's bytes, $g in the snapshot read back, e.g.:" >&2
        sort -u "$tmp/$policy/found.txt" "$tmp/$policy/found_get.txt" | head -5 | sed 's/^/  /' >&2
        fail=1
    else
        echo "pii_store: $policy policy: none of $total PII values in $(stat -c %s "$tmp/$policy/all.bin") bytes of store, nor in the snapshot read back" >&2
    fi
done
exit $fail

#!/usr/bin/env bash
# keel.h is the whole public API: every header in include/keel/ must be in it.
set -u
root=$1 bad=0
for h in "$root"/include/keel/*.h; do
    name=$(basename "$h")
    [ "$name" = keel.h ] && continue
    grep -q "#include \"keel/$name\"" "$root/include/keel/keel.h" || { echo "keel.h does not include keel/$name"; bad=1; }
done
[ $bad = 0 ] && echo "lint: keel.h includes every public header"
exit $bad

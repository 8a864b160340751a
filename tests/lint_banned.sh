#!/usr/bin/env bash
# Every library and CLI source must include core/common.h (which brings in
# banned.h), so the banned functions cannot sneak in through a file that
# forgot it. banned.h itself makes their use a compile error.
set -u
root=$1 bad=0
for f in $(cd "$root" && ls lib/*/*.c lib/*/*/*.c cli/*.c 2>/dev/null); do
    if ! grep -q '#include "core/common.h"' "$root/$f"; then
        echo "$f does not include core/common.h (banned functions unchecked)"; bad=1
    fi
done
[ $bad = 0 ] && echo "lint: every source includes core/common.h"
exit $bad

#!/usr/bin/env bash
# Refresh the --help blocks of docs/cli/keel-<command>.md from the binary.
# The prose around the blocks is kept: only each ```text block that starts
# with "usage: keel <cmd>" is replaced. A missing page is created with one
# block per leaf. tests/e2e/help_docs.sh fails when a page and --help differ.
#   scripts/gen-cli-docs.sh [build/keel]
set -euo pipefail
keel=$(readlink -f "${1:-build/keel}")
root=$(cd "$(dirname "$0")/.." && pwd)
leaves=$("$keel" --help | awk '/^commands:/{on=1;next} on&&/^$/{on=0} on{sub(/^  /,""); split($0,a,/  +/); print a[1]}')
for top in $(printf '%s\n' "$leaves" | awk '{print $1}' | uniq); do
    page="$root/docs/cli/keel-$top.md"
    if [ ! -f "$page" ]; then
        printf '# keel %s\n\n' "$top" > "$page"
        while IFS= read -r cmd; do
            [ "${cmd%% *}" = "$top" ] || continue
            printf '## keel %s\n\n```text\nusage: keel %s \n```\n\n' "$cmd" "$cmd" >> "$page"
        done <<< "$leaves"
    fi
    python3 - "$keel" "$page" <<'PY'
import re, subprocess, sys
keel, page = sys.argv[1], sys.argv[2]
text = open(page).read()
def repl(m):
    first = m.group(1).splitlines()[0] if m.group(1) else ""
    words = []
    for w in first.split()[2:]:
        if not re.fullmatch(r"[a-z][a-z-]*", w): break
        words.append(w)
    out = subprocess.run([keel] + words + ["--help"], capture_output=True, text=True).stdout
    return "```text\n" + out + "```"
text = re.sub(r"```text\n(usage: keel .*?)```", repl, text, flags=re.S)
open(page, "w").write(text)
PY
done

#!/usr/bin/env python3
"""Replace one benchmark's part of docs/BENCHMARKS.md.

    bench/section.py NAME FRAGMENT.md [DOC]

Each benchmark (csv, store, profile, pii, linear, gbdt, search, ...) owns the
text between `<!-- bench/NAME: begin -->` and `<!-- bench/NAME: end -->`, so
benchmarks run at different times (`make bench` runs them all, each
bench/AREA/bench.sh can run alone) never overwrite each other's figures. A
part that is not there yet is appended at the end of the page.
"""
import os
import sys


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    name, frag = argv[1], argv[2]
    doc = argv[3] if len(argv) == 4 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "docs", "BENCHMARKS.md")
    begin, end = f"<!-- bench/{name}: begin -->", f"<!-- bench/{name}: end -->"
    with open(frag, encoding="utf-8") as f:
        body = f.read().strip("\n")
    part = f"{begin}\n{body}\n{end}"
    try:
        with open(doc, encoding="utf-8") as f:
            page = f.read()
    except FileNotFoundError:
        page = "# Benchmarks\n"
    i, j = page.find(begin), page.find(end)
    if i >= 0 and j > i:
        page = page[:i] + part + page[j + len(end):]
    else:
        page = page.rstrip("\n") + "\n\n" + part + "\n"
    tmp = doc + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

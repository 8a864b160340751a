#!/usr/bin/python3
"""Time `cat FILE > /dev/null` from the page cache: the limit for reading FILE.

Usage: /usr/bin/python3 bench/bench_cat.py FILE [RUNS]

One untimed warm-up (which also brings the file into the page cache), then
RUNS timed runs (default 5) of the cat binary with stdout on /dev/null; the
time includes starting cat (about a millisecond). Prints key=value lines
that bench/run.sh collects: per-run seconds, the median and MB/s (10^6 bytes).
"""

import os
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) == 3 else 5
    size = os.path.getsize(path)
    with open(os.devnull, "wb") as null:
        subprocess.run(["cat", path], stdout=null, check=True)
        times = []
        for i in range(runs):
            t0 = time.perf_counter()
            subprocess.run(["cat", path], stdout=null, check=True)
            t1 = time.perf_counter()
            times.append(t1 - t0)
            print(f"run={i + 1} seconds={t1 - t0:.4f}", flush=True)
    med = statistics.median(times)
    print(f"tool=cat file={path} bytes={size}")
    print(f"runs={runs} median_s={med:.4f} min_s={min(times):.4f} max_s={max(times):.4f}")
    print(f"mbps={size / med / 1e6:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

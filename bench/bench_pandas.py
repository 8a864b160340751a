#!/usr/bin/python3
"""Time pandas.read_csv on a file: the peer of bench_csv.

Usage: /usr/bin/python3 bench/bench_pandas.py FILE [RUNS]

pandas is imported before any timing, so the interpreter's start and the
import are not counted. One untimed warm-up read, then RUNS timed reads
(default 5) with default options (the C engine, type inference on every
column, as a user would call it); the frame is dropped outside the timed
region. Prints key=value lines that bench/run.sh collects:
per-run seconds and CPU seconds (user + system), the medians, MB/s (10^6
bytes), MB per CPU-second, rows, columns, the dtypes
inferred, and the peak RSS of the process after the warm-up read.
"""

import gc
import os
import resource
import statistics
import sys
import time

import numpy
import pandas


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) == 3 else 5
    size = os.path.getsize(path)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    df = pandas.read_csv(path)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows, cols = df.shape
    kinds = {}
    for t in df.dtypes:
        kinds[str(t)] = kinds.get(str(t), 0) + 1
    del df
    gc.collect()

    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    times, cpus = [], []
    for i in range(runs):
        c0 = cpu()
        t0 = time.perf_counter()
        df = pandas.read_csv(path)
        t1 = time.perf_counter()
        cpus.append(cpu() - c0)
        times.append(t1 - t0)
        print(f"run={i + 1} seconds={t1 - t0:.4f} cpu_s={cpus[-1]:.4f}", flush=True)
        del df
        gc.collect()

    med = statistics.median(times)
    print(f"tool=pandas pandas={pandas.__version__} numpy={numpy.__version__}")
    print(f"file={path} bytes={size} rows={rows} cols={cols}")
    print("dtypes=" + ",".join(f"{k}:{v}" for k, v in sorted(kinds.items())))
    print(f"runs={runs} median_s={med:.4f} min_s={min(times):.4f} max_s={max(times):.4f}")
    cmed = statistics.median(cpus)
    print(f"mbps={size / med / 1e6:.1f} cpu_median_s={cmed:.4f} mb_per_cpu_s={size / cmed / 1e6:.1f}")
    print(f"peak_rss_kb={rss_peak} rss_before_kb={rss_before}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

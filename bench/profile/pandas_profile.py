#!/usr/bin/python3
"""The pandas side of keel's profile benchmark.

Usage: /usr/bin/python3 bench/profile/pandas_profile.py FILE.csv RUNS

Reads FILE.csv once with pandas.read_csv (timed: the "read" line), then RUNS
times runs the workload that the profile target names, on the frame already in
memory:

    df.describe(include="all")                     count, unique, top, freq,
                                                   mean, std, min, quartiles, max
    df.corr(numeric_only=True)                     Pearson, every numeric pair
    df.quantile([.01 .05 .25 .5 .75 .95 .99])      keel's seven quantiles
    numpy.histogram(col.dropna(), bins=50)         each numeric column

It does not compute Spearman, Cramér's V, correlation ratios, duplicates or
alerts (keel does). Each run prints one line `run=K seconds=S cpu_s=C`
(wall and process CPU time, all threads); a last line names the versions.
"""
import os
import sys
import time

import numpy as np
import pandas as pd

LEVELS = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]


def cpu():
    t = os.times()
    return t.user + t.system


def workload(df):
    out = [df.describe(include="all"), df.corr(numeric_only=True), df.quantile(LEVELS, numeric_only=True)]
    for name in df.select_dtypes("number").columns:
        out.append(np.histogram(df[name].dropna().to_numpy(), bins=50))
    return out


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    path, runs = argv[1], int(argv[2])
    w0, c0 = time.perf_counter(), cpu()
    df = pd.read_csv(path)
    print(f"read seconds={time.perf_counter() - w0:.4f} cpu_s={cpu() - c0:.4f}", flush=True)
    for k in range(1, runs + 1):
        w0, c0 = time.perf_counter(), cpu()
        workload(df)
        print(f"run={k} seconds={time.perf_counter() - w0:.4f} cpu_s={cpu() - c0:.4f}", flush=True)
    blas = "unknown"
    try:
        cfg = np.show_config.__module__  # numpy's build info names its BLAS
        import numpy.__config__ as nc
        info = getattr(nc, "blas_opt_info", None) or getattr(nc, "blas_ilp64_opt_info", {})
        blas = ",".join(info.get("libraries", [])) or blas
    except Exception:
        pass
    print(f"tool=pandas pandas={pd.__version__} numpy={np.__version__} blas={blas} rows={len(df)} cols={df.shape[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

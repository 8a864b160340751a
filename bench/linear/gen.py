#!/usr/bin/python3
"""Benchmark data for keel's linear models and AR vs scikit-learn and statsmodels
(issue 5 targets), from fixed seeds, into bench/data/ (git-ignored):

  linear_reg.bin   make_regression(1,000,000 x 28, 14 informative, noise 10, seed 42)
  linear_cls.bin   make_classification(1,000,000 x 28, 14 informative, 4 redundant, seed 42)
  linear_ar.bin    1,000,000 points of a stationary AR(10) with constant 0.5 and
                   N(0, 1) shocks (numpy default_rng(7)), the first 1,000 burn-in dropped

.bin: u64 n, u64 p, X column-major float64, then y float64 (little-endian),
the layout bench/gbdt uses; the AR series has p = 0 and the series as y.
With --csv, linear_reg.csv and linear_cls.csv too (for the CLI figure).
Usage: gen.py [rows] [--csv]
"""
import os
import sys

import numpy as np
from scipy.signal import lfilter
from sklearn.datasets import make_classification, make_regression

args = [a for a in sys.argv[1:] if not a.startswith("--")]
rows = int(args[0]) if args else 1_000_000
csv = "--csv" in sys.argv
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
os.makedirs(out, exist_ok=True)
AR = [0.45, -0.2, 0.1, 0.05, -0.05, 0.04, -0.03, 0.02, -0.02, 0.01]


def write(name, X, y):
    n, p = X.shape
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        np.array([n, p], dtype="<u8").tofile(f)
        np.asfortranarray(X, dtype="<f8").T.ravel().tofile(f)
        np.asarray(y, dtype="<f8").tofile(f)
    if csv and p:
        head = ",".join([f"x{j}" for j in range(p)] + ["y"])
        body = np.column_stack([X, y])
        fmt = ["%.17g"] * p + (["%d"] if name.endswith("cls") else ["%.17g"])
        np.savetxt(os.path.join(out, name + ".csv"), body, fmt=fmt, delimiter=",",
                   header=head, comments="")


X, y = make_regression(n_samples=rows, n_features=28, n_informative=14, noise=10.0,
                       random_state=42)
write("linear_reg", X, y)
X, y = make_classification(n_samples=rows, n_features=28, n_informative=14, n_redundant=4,
                           random_state=42)
write("linear_cls", X, y)
e = np.random.default_rng(7).standard_normal(rows + 1000)
s = lfilter([1.0], np.r_[1.0, -np.array(AR)], e + 0.5)[1000:]
write("linear_ar", np.zeros((rows, 0)), s)

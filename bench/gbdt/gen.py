#!/usr/bin/python3
"""Benchmark data for keel's GBDT vs XGBoost and scikit-learn (issue 6 targets).

make_classification / make_regression, 1,000,000 x 28 with fixed seeds; the
first 800,000 rows train, the last 200,000 validate. Written to bench/data/ as
<name>_{train,valid}.bin: u64 n, u64 p, then X column-major float64, then y
float64 (little-endian), which both the C driver and run_peers.py read.
Usage: gen.py [rows] [outdir]   (default 1000000 rows, train is 80%; bench/data)
"""
import os
import sys

import numpy as np
from sklearn.datasets import make_classification, make_regression

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "data")
os.makedirs(out, exist_ok=True)


def write(name, X, y):
    n, p = X.shape
    with open(os.path.join(out, name), "wb") as f:
        np.array([n, p], dtype="<u8").tofile(f)
        np.asfortranarray(X, dtype="<f8").T.ravel().tofile(f)
        np.asarray(y, dtype="<f8").tofile(f)


def split(tag, X, y):
    cut = rows * 4 // 5
    write(f"gbdt_{tag}_train.bin", X[:cut], y[:cut])
    write(f"gbdt_{tag}_valid.bin", X[cut:], y[cut:])


X, y = make_classification(n_samples=rows, n_features=28, n_informative=14, n_redundant=4,
                           random_state=42)
split("cls", X, y)
X, y = make_regression(n_samples=rows, n_features=28, n_informative=14, noise=10.0,
                       random_state=42)
split("reg", X, y)

#!/usr/bin/python3
"""Write a gen.py .bin file as CSV (columns x0..x27, then y) for the CLI figure.

Usage: tocsv.py IN.bin OUT.csv   (values with 10 significant digits)
"""
import sys

import numpy as np
import pandas as pd

with open(sys.argv[1], "rb") as f:
    n, p = (int(v) for v in np.fromfile(f, dtype="<u8", count=2))
    X = np.fromfile(f, dtype="<f8", count=n * p).reshape(p, n).T
    y = np.fromfile(f, dtype="<f8", count=n)
df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
df["y"] = y
df.to_csv(sys.argv[2], index=False, float_format="%.10g")

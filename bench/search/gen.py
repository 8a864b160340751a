#!/usr/bin/python3
"""Benchmark data for keel's hyperparameter search (issue 6 target).

scikit-learn's make_classification, ROWS x 28 (default 100,000), fixed seed
(random_state=6), 14 informative and 6 redundant features, written as CSV
with columns f0..f27 and target.
Usage: gen.py ROWS OUT.csv
"""
import sys

import numpy as np
from sklearn.datasets import make_classification

rows, out = int(sys.argv[1]), sys.argv[2]
X, y = make_classification(n_samples=rows, n_features=28, n_informative=14, n_redundant=6,
                           random_state=6)
with open(out + ".tmp", "w") as f:
    f.write(",".join([f"f{j}" for j in range(28)] + ["target"]) + "\n")
    np.savetxt(f, np.column_stack([X, y]), delimiter=",",
               fmt=["%.9g"] * 28 + ["%d"])
import os
os.replace(out + ".tmp", out)

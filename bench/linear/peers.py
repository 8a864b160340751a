#!/usr/bin/python3
"""Peers for bench/linear: scikit-learn LinearRegression, Ridge, LogisticRegression
(default solver lbfgs), predict_proba, and statsmodels AutoReg, on bench/data/linear_*.bin.
Prints one JSON line per measurement: what, wall and cpu seconds (best of `reps`
by wall), and for logistic the final objective C * sum(logloss) + ||w||^2 / 2.
Usage: peers.py [reps]
"""
import json
import os
import sys
import time
import warnings

import numpy as np
import sklearn
import statsmodels
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from statsmodels.tsa.ar_model import AutoReg

warnings.simplefilter("ignore", ConvergenceWarning)
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")


def load(name):
    with open(os.path.join(data, name + ".bin"), "rb") as f:
        n, p = np.fromfile(f, dtype="<u8", count=2)
        X = np.fromfile(f, dtype="<f8", count=int(n * p)).reshape(int(p), int(n)).T
        y = np.fromfile(f, dtype="<f8", count=int(n))
    return X, y


def best(fn, r=reps):
    out = None
    for _ in range(r):
        w0, c0 = time.perf_counter(), time.process_time()
        res = fn()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if out is None or w < out[0]:
            out = (w, c, res)
    return out


def emit(what, w, c, **kw):
    print(json.dumps(dict(tool="peer", what=what, wall=w, cpu=c, **kw)), flush=True)


def blas():
    try:
        from threadpoolctl import threadpool_info
        for i in threadpool_info():
            if i.get("user_api") == "blas":
                return f"{i.get('internal_api')} {i.get('version')} ({i.get('threading_layer')})"
    except ImportError:
        pass
    return "unknown"


print(json.dumps(dict(tool="peer", what="versions", sklearn=sklearn.__version__,
                      numpy=np.__version__, statsmodels=statsmodels.__version__,
                      blas=blas())), flush=True)
X, y = load("linear_reg")
X = np.ascontiguousarray(X)  # scikit-learn's usual C-ordered input
w, c, m = best(lambda: LinearRegression().fit(X, y))
emit("ols", w, c, n=len(y), coef0=float(m.coef_[0]))
w, c, m = best(lambda: Ridge(alpha=1.0).fit(X, y))
emit("ridge", w, c, n=len(y), coef0=float(m.coef_[0]))
del X
X, y = load("linear_cls")
X = np.ascontiguousarray(X)
w, c, m = best(lambda: LogisticRegression(C=1.0).fit(X, y), r=max(1, reps - 1))
z = X @ m.coef_[0] + m.intercept_[0]
loss = float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * np.dot(m.coef_[0], m.coef_[0]))
emit("logistic", w, c, n=len(y), loss=loss, n_iter=int(m.n_iter_[0]))
w, c, _ = best(lambda: m.predict_proba(X))
emit("predict", w, c, n=len(y), rows_per_s=len(y) / w)
del X
_, s = load("linear_ar")
w, c, r = best(lambda: AutoReg(s, lags=10, trend="c").fit())
emit("ar", w, c, n=len(s), const=float(r.params[0]), k1=float(r.params[1]))

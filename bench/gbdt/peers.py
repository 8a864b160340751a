#!/usr/bin/python3
"""Peers for the GBDT bench: XGBoost hist and scikit-learn HistGradientBoosting.

Reads bench/data/gbdt_<task>_{train,valid}.bin (gen.py), trains with the
issue-6 settings (200 rounds, depth 6, learning rate 0.1, 2 threads,
validation scored every round), times from data in memory (DMatrix
construction and binning included) and prints one JSON line per tool.
Usage: peers.py cls|reg [rounds]
       peers.py forest [trees]   (RandomForestClassifier n_jobs=2 on the first 160,000
                                  training rows, AUC on the first 40,000 validation rows)
"""
import json
import os
import sys
import time

import numpy as np

task = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
data = os.environ.get("GBDT_DATA") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "data")
forest_rows = int(os.environ.get("FOREST_ROWS", "160000"))
forest_valid = int(os.environ.get("FOREST_VALID", "40000"))


def load(name):
    with open(os.path.join(data, name), "rb") as f:
        n, p = np.fromfile(f, dtype="<u8", count=2)
        X = np.fromfile(f, dtype="<f8", count=int(n * p)).reshape(int(p), int(n)).T
        y = np.fromfile(f, dtype="<f8", count=int(n))
    return np.ascontiguousarray(X), y


if task == "forest":
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    import sklearn
    Xt, yt = load("gbdt_cls_train.bin")
    Xv, yv = load("gbdt_cls_valid.bin")
    Xt, yt = Xt[:forest_rows], yt[:forest_rows]
    Xv, yv = Xv[:forest_valid], yv[:forest_valid]
    c0, t0 = time.process_time(), time.perf_counter()
    rf = RandomForestClassifier(n_estimators=rounds if len(sys.argv) > 2 else 100, n_jobs=2,
                                random_state=1).fit(Xt, yt)
    t1, c1 = time.perf_counter(), time.process_time()
    print(json.dumps({"tool": f"sklearn {sklearn.__version__} RandomForestClassifier",
                      "trees": rf.n_estimators, "rows": len(yt), "fit_s": round(t1 - t0, 3),
                      "cpu_s": round(c1 - c0, 3),
                      "auc": float(roc_auc_score(yv, rf.predict_proba(Xv)[:, 1]))}))
    sys.exit(0)

Xt, yt = load(f"gbdt_{task}_train.bin")
Xv, yv = load(f"gbdt_{task}_valid.bin")

import xgboost as xgb  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402
from sklearn.metrics import mean_squared_error, roc_auc_score  # noqa: E402


def quality(pred):
    if task == "cls":
        return {"auc": float(roc_auc_score(yv, pred))}
    return {"rmse": float(mean_squared_error(yv, pred) ** 0.5)}


c0, t0 = time.process_time(), time.perf_counter()
dt = xgb.DMatrix(Xt, label=yt, nthread=2)
dv = xgb.DMatrix(Xv, label=yv, nthread=2)
params = {"tree_method": "hist", "max_depth": 6, "eta": 0.1, "nthread": 2, "max_bin": 256,
          "objective": "binary:logistic" if task == "cls" else "reg:squarederror"}
bst = xgb.train(params, dt, rounds, evals=[(dv, "valid")], verbose_eval=False)
t1, c1 = time.perf_counter(), time.process_time()
pred = bst.inplace_predict(Xv)
t2 = time.perf_counter()
print(json.dumps({"tool": f"xgboost {xgb.__version__} hist", "task": task, "fit_s": round(t1 - t0, 3),
                  "cpu_s": round(c1 - c0, 3),
                  **quality(pred), "predict_rows_per_s": round(len(yv) / (t2 - t1))}))
sys.stdout.flush()

Model = HistGradientBoostingClassifier if task == "cls" else HistGradientBoostingRegressor
import sklearn  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

with threadpool_limits(limits=2):
    c0, t0 = time.process_time(), time.perf_counter()
    m = Model(max_iter=rounds, max_depth=6, learning_rate=0.1, max_leaf_nodes=None,
              early_stopping=False, max_bins=255)
    m.fit(Xt, yt)
    t1, c1 = time.perf_counter(), time.process_time()
    pred = m.predict_proba(Xv)[:, 1] if task == "cls" else m.predict(Xv)
    t2 = time.perf_counter()
print(json.dumps({"tool": f"sklearn {sklearn.__version__} HistGradientBoosting", "task": task,
                  "fit_s": round(t1 - t0, 3), "cpu_s": round(c1 - c0, 3), **quality(pred),
                  "predict_rows_per_s": round(len(yv) / (t2 - t1))}))

#!/usr/bin/python3
"""The baseline for keel's metric logging: N metric values inserted with
Python's sqlite3 executemany, one row per value, in one transaction, into a
table shaped like MLflow's SQLite store (run_uuid, key, value, timestamp,
step, is_nan; primary key over all but is_nan). Same WAL journal and
synchronous=NORMAL as keel's SQLite store (docs/STORE.md), so the two write
under the same durability rules. Prints key=value lines.

Usage: /usr/bin/python3 bench/store/sqlite_metrics.py DB [N]
"""
import sqlite3
import sys
import time

db = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
con = sqlite3.connect(db, isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=NORMAL")
con.execute("CREATE TABLE IF NOT EXISTS metrics (run_uuid TEXT, key TEXT, value REAL, "
            "timestamp INTEGER, step INTEGER, is_nan INTEGER, "
            "PRIMARY KEY (run_uuid, key, timestamp, step, value))")
rows = [("0" * 32, "loss", 1.0 / (i + 1), 1700000000000 + i, i, 0) for i in range(n)]
t0, c0 = time.perf_counter(), time.process_time()
con.execute("BEGIN")
con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", rows)
con.execute("COMMIT")
t1, c1 = time.perf_counter(), time.process_time()
print(f"values={n}\nseconds={t1 - t0:.6f}\ncpu_seconds={c1 - c0:.6f}\n"
      f"values_per_s={n / (t1 - t0):.0f}\nsqlite_version={sqlite3.sqlite_version}")

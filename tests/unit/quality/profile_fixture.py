#!/usr/bin/python3
# Reference values for tests/unit/quality/test_profile.c, computed ONCE with
# pandas (Debian's python3-pandas 1.5.3, numpy 1.24.2) and pasted into the
# test as literals: `/usr/bin/python3 tests/unit/quality/profile_fixture.py`.
import numpy as np
import pandas as pd

print("pandas", pd.__version__, "numpy", np.__version__)
x = pd.Series([1.0, 2, 3, 4, 10])
print("x mean %.17g std %.17g skew %.17g kurt %.17g" % (x.mean(), x.std(), x.skew(), x.kurt()))
for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99):
    print("x quantile %g %.17g" % (q, x.quantile(q)))
y = pd.Series([3.5, -1.25, 0, 7, 7, 2.5, 100, -40, 0.125])
print("y mean %.17g std %.17g skew %.17g kurt %.17g" % (y.mean(), y.std(), y.skew(), y.kurt()))
for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99):
    print("y quantile %g %.17g" % (q, y.quantile(q)))
d = pd.DataFrame({"a": [1, 2, 2, 3], "b": [1, 3, 2, 4]})
print("spearman ties %.17g" % d.corr(method="spearman").loc["a", "b"])
m = pd.DataFrame({"a": [1, 2, 3, np.nan, 5], "b": [2, 4, 7, 1, np.nan]})
print("pearson pairwise %.17g" % m.corr().loc["a", "b"])

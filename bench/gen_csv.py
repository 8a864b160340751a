#!/usr/bin/python3
"""Generate keel's CSV benchmark file: N rows x 20 columns, from a fixed seed.

Usage: /usr/bin/python3 bench/gen_csv.py ROWS OUT.csv [--seed S]

The same seed and row count always give the same bytes (numpy's PCG64
Generator; the file's SHA-256 is printed so runs can be compared). The
columns mix the forms real exports hold, so a reader is measured on its slow
paths too, not only on short fixed-point numbers:

  x_norm2_a..d   normal(0, 1), 2 decimals              -0.53
  x_price_a..c   lognormal price, 2 decimals           23.57
  x_norm1_a..b   normal(0, 10), 1 decimal              -12.3
  x_norm3        normal(0, 100), 3 decimals            -123.456
  x_norm6        normal(0, 10), 6 decimals             -12.345678
  x_sci          lognormal, scientific notation %.2e   1.23e-05
  x_u17          random 17-digit decimal in [0, 1)     0.12345678901234567
                 (17 significant digits, trailing zeros dropped; more
                 digits than a double's fast path takes)
  x_repr         uniform double in [0, 1) in its shortest round-trip form
                 (what Python, numpy and pandas write), up to 17 digits
  n_age          int 18..90
  n_count        int Poisson(3)
  n_signed       int -5000..5000
  c_3, c_7, c_12 categorical: 3, 7 and 12 distinct words of 3-8 letters,
                 skewed (Zipf-like) frequencies

Every column has empty fields at a rate between 1% and 2% (fixed per column).
The columns are interleaved, not grouped by type.

Formatting is vectorised: each column becomes an (n, width) byte matrix whose
unused bytes are 0; the row matrix (columns, commas, newline) is flattened and
its zero bytes dropped, which gives the CSV text in one pass. Fixed-point
columns are rendered digit by digit from exact integers (round(x * 10^d)), so
the text is exact and the same on every machine. The two columns whose form
needs a correctly rounded float formatter (x_sci, x_repr) use Python's.
"""

import argparse
import hashlib
import os
import sys

import numpy as np

CHUNK = 200_000

WORDS = [
    "red", "green", "blue", "amber", "violet", "cyan", "magenta", "olive", "teal", "navy",
    "maroon", "silver", "north", "south", "east", "west", "alpha", "beta", "gamma", "delta",
    "kilo", "lima", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "victor", "yankee",
    "zulu", "bravo", "echo", "hotel", "india", "juliet",
]


def digits_fixed(v, decimals):
    """(n, w) uint8 matrix of the integers v (int64) printed as fixed-point with `decimals`
    decimals (v = value * 10^decimals), right-aligned, unused bytes 0."""
    neg = v < 0
    a = np.abs(v)
    ndig = np.ones(len(v), dtype=np.int64)
    t = a // 10
    while np.any(t):
        ndig += t > 0
        t //= 10
    if decimals:
        ndig = np.maximum(ndig, decimals + 1)  # at least "0.dd"
    maxd = int(ndig.max())
    width = maxd + (1 if decimals else 0) + 1  # digits, point, sign
    out = np.zeros((len(v), width), dtype=np.uint8)
    col = width - 1
    p = a.copy()
    for k in range(maxd):
        if decimals and k == decimals:
            out[:, col] = ord(".")
            col -= 1
        d = (p % 10).astype(np.uint8) + ord("0")
        out[:, col] = np.where(k < ndig, d, 0)
        p //= 10
        col -= 1
    # The sign goes just left of the first digit: position width-1-ndig-(point).
    sign_pos = width - 1 - ndig - (1 if decimals else 0)
    rows = np.nonzero(neg)[0]
    out[rows, sign_pos[rows]] = ord("-")
    return out


def strings_matrix(strs):
    """(n, w) uint8 matrix from a list of ASCII strings, unused bytes 0."""
    arr = np.array(strs, dtype=bytes)
    return arr.view(np.uint8).reshape(len(strs), arr.dtype.itemsize)


def digits_u17(d):
    """Random 17-digit decimals in [0, 1): "0." + 17 digits, trailing zeros dropped."""
    n = len(d)
    out = np.zeros((n, 19), dtype=np.uint8)
    out[:, 0] = ord("0")
    out[:, 1] = ord(".")
    p = d.copy()
    keep = np.zeros(n, dtype=bool)  # becomes true at the last non-zero digit
    for k in range(17):
        dig = p % 10
        keep |= dig != 0
        out[:, 18 - k] = np.where(keep, dig.astype(np.uint8) + ord("0"), 0)
        p //= 10
    out[~keep, 2] = ord("0")  # the value 0 prints as "0.0"
    return out


def make_columns(rng, n):
    """Return the ordered list of (name, matrix) for n rows; draws from rng in a fixed order."""
    cols = {}
    for s in "abcd":
        cols["x_norm2_" + s] = digits_fixed(np.rint(rng.normal(0, 1, n) * 100).astype(np.int64), 2)
    for s in "abc":
        price = rng.lognormal(3.0, 1.0, n)
        cols["x_price_" + s] = digits_fixed(np.rint(price * 100).astype(np.int64), 2)
    for s in "ab":
        cols["x_norm1_" + s] = digits_fixed(np.rint(rng.normal(0, 10, n) * 10).astype(np.int64), 1)
    cols["x_norm3"] = digits_fixed(np.rint(rng.normal(0, 100, n) * 1e3).astype(np.int64), 3)
    cols["x_norm6"] = digits_fixed(np.rint(rng.normal(0, 10, n) * 1e6).astype(np.int64), 6)
    sci = rng.lognormal(-8.0, 3.0, n)
    cols["x_sci"] = strings_matrix(["%.2e" % x for x in sci.tolist()])
    cols["x_u17"] = digits_u17(rng.integers(0, 10**17, n, dtype=np.int64))
    cols["x_repr"] = strings_matrix([repr(x) for x in rng.random(n).tolist()])
    cols["n_age"] = digits_fixed(rng.integers(18, 91, n, dtype=np.int64), 0)
    cols["n_count"] = digits_fixed(rng.poisson(3.0, n).astype(np.int64), 0)
    cols["n_signed"] = digits_fixed(rng.integers(-5000, 5001, n, dtype=np.int64), 0)
    for k, name in ((3, "c_3"), (7, "c_7"), (12, "c_12")):
        words = CAT_WORDS[name]
        p = 1.0 / np.arange(1, k + 1)
        codes = rng.choice(k, size=n, p=p / p.sum())
        cols[name] = strings_matrix(words)[codes]
    for name in ORDER:
        rate = MISSING_RATE[name]
        empty = rng.random(n) < rate
        cols[name][empty] = 0
    return [(name, cols[name]) for name in ORDER]


# Interleaved column order (types mixed, as real exports are).
ORDER = [
    "n_age", "x_norm2_a", "x_price_a", "c_3", "x_norm1_a", "x_u17", "x_norm2_b", "n_count",
    "x_price_b", "x_norm3", "c_7", "x_sci", "x_norm2_c", "x_repr", "n_signed", "x_norm1_b",
    "x_price_c", "c_12", "x_norm6", "x_norm2_d",
]
MISSING_RATE = {name: 0.01 + 0.01 * i / (len(ORDER) - 1) for i, name in enumerate(ORDER)}
# Dictionaries are fixed text, not drawn, so they never depend on the row count.
CAT_WORDS = {
    "c_3": ["yes", "maybe", "no"],
    "c_7": WORDS[0:7],
    "c_12": WORDS[12:24],
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=20261127)
    args = ap.parse_args()
    assert len(ORDER) == 20 and len(set(ORDER)) == 20

    h = hashlib.sha256()
    total = 0
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        head = (",".join(ORDER) + "\n").encode()
        f.write(head)
        h.update(head)
        total += len(head)
        # One generator per chunk, seeded from (seed, chunk index): the bytes of a
        # chunk do not depend on the total row count, so the 1M file is a prefix of the 5M one.
        for ci, start in enumerate(range(0, args.rows, CHUNK)):
            n = min(CHUNK, args.rows - start)
            rng = np.random.default_rng([args.seed, ci])
            parts = []
            for j, (_, m) in enumerate(make_columns(rng, n)):
                parts.append(m)
                sep = np.full((n, 1), ord(",") if j < len(ORDER) - 1 else ord("\n"), np.uint8)
                parts.append(sep)
            mat = np.concatenate(parts, axis=1)
            data = mat[mat != 0].tobytes()
            f.write(data)
            h.update(data)
            total += len(data)
    os.replace(tmp, args.out)
    print(f"{args.out}: {args.rows} rows, {total} bytes, sha256 {h.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

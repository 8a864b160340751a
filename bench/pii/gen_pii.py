#!/usr/bin/python3
"""Generate the PII benchmark file: N rows of CSV mixing PII-bearing and plain columns.

Usage: /usr/bin/python3 bench/pii/gen_pii.py ROWS OUT.csv [--seed S]

Values come from tests/fixtures/pii/labelled.csv (positives built from the
validity rules, near misses, the real COMPAS names and dates of birth), drawn
with a fixed seed, so the same arguments always give the same bytes (the
file's SHA-256 is printed). Columns:

  id           row number                                  plain
  name         a person's name (COMPAS)                    PII
  email        an email address                            PII
  phone        a phone number, national or international   PII
  dob          a date of birth (COMPAS)                    PII
  ssn          a US SSN                                    PII
  card         a credit card number                        PII
  iban         an IBAN                                     PII
  ip           an IPv4 or IPv6 address                     PII
  amount       a float with 2 decimals                     plain
  score        a float with 6 decimals                     plain
  category     one of 12 words                             plain
  case_number  a COMPAS case number or other non-PII text  plain (near misses too)
  note         free text, one row in ten holding an email  mixed

About 150 bytes a row: 1,000,000 rows make about 150 MB.
"""
import argparse
import csv
import hashlib
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LABELLED = os.path.join(HERE, "..", "..", "tests", "fixtures", "pii", "labelled.csv")
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima"]
FILLER = ["call back later", "customer asked about the invoice", "no answer",
          "moved to the new plan", "left a message", "version 2.4.1 installed",
          "order 1234-5678 shipped", "see ticket", "paid in full"]


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=20261127)
    a = ap.parse_args(argv[1:])
    pools = {}
    with open(LABELLED, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            pools.setdefault(row["entity"], []).append(row["value"])
    # Short free-text positives are kept for the note column; the entity columns take bare values.
    bare = {e: [v for v in vs if " " not in v or e == "person"] for e, vs in pools.items()}
    rng = random.Random(a.seed)
    pick = lambda e: bare[e][rng.randrange(len(bare[e]))]
    h = hashlib.sha256()
    with open(a.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        head = ["id", "name", "email", "phone", "dob", "ssn", "card", "iban", "ip", "amount",
                "score", "category", "case_number", "note"]
        w.writerow(head)
        for i in range(a.rows):
            note = FILLER[rng.randrange(len(FILLER))]
            if i % 10 == 0:
                note = f"{note}, write to {pick('email')}"
            w.writerow([i, pick("person"), pick("email"), pick("phone"), pick("date_of_birth"),
                        pick("us_ssn"), pick("credit_card"), pick("iban"), pick("ip_address"),
                        f"{rng.lognormvariate(3, 1):.2f}", f"{rng.gauss(0, 10):.6f}",
                        WORDS[rng.randrange(len(WORDS))], pick("none"), note])
    with open(a.out, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    print(f"rows={a.rows} bytes={os.path.getsize(a.out)} sha256={h.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

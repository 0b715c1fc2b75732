"""Key metrics and stall reasons of call.sh ncu's profiles: python stalls.py > stalls.txt (run here)."""
import csv
import gzip
import re
import sys
from pathlib import Path

KEYS = ("Duration", "DRAM Throughput", "Issue Slots Busy", "No Eligible", "Eligible Warps Per Scheduler",
        "Registers Per Thread", "Grid Size")


def metrics(txt: Path) -> str:
    out = []
    for line in txt.read_text().splitlines():
        m = re.match(r"\s+(" + "|".join(KEYS) + r")\s+(\S+(?: \S+)?)\s+([\d.,]+)$", line)
        if m:
            out.append(f"{m.group(1)} {m.group(3)}")
    return "; ".join(out)


def stalls(csv_gz: Path) -> str:
    rows = list(csv.reader(gzip.open(csv_gz, "rt")))
    hi = next(i for i, r in enumerate(rows) if "Address" in r)
    hdr, data = rows[hi], rows[hi + 1:]
    iss = hdr.index("Warp Stall Sampling (All Samples)")
    cols = [i for i, h in enumerate(hdr) if h.startswith("stall_") and "Not Issued" not in h]

    def f(x: str) -> float:
        try:
            return float(x)
        except ValueError:
            return 0.0

    tot = sum(f(r[iss]) for r in data)
    agg = sorted(((hdr[i][6:], sum(f(r[i]) for r in data)) for i in cols), key=lambda x: -x[1])[:7]
    return f"{tot:.0f} samples: " + ", ".join(f"{k} {100 * v / tot:.0f}%" for k, v in agg)


here = Path(__file__).resolve().parent
for txt in sorted(here.glob("ncu_m*_*.txt")):
    if txt.name.endswith(".run.txt"):
        continue
    plan = re.search(r"kernel='(\w+)', tile_columns=(\d+)", (here / (txt.stem + ".run.txt")).read_text())
    print(f"{txt.stem} ({plan.group(1)}, {plan.group(2)} columns a tile)")
    print("  " + metrics(txt))
    print("  " + stalls(here / (txt.stem + ".csv.gz")))
sys.exit(0)

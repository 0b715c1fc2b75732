"""Per-layer kernel times of A/B calls (call.sh's ab): python per_layer.py DIR[,DIR...] V [V ...].

Several folders pool their rounds (the same variants on one machine start). With two variants,
the last column is the change of the second's median against the first's.
"""

import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

folders, variants = [Path(d) for d in sys.argv[1].split(",")], sys.argv[2:]
times: dict = defaultdict(lambda: defaultdict(list))
for folder in folders:
    for v in variants:
        for log in sorted(folder.glob(f"bench*_{v}_*.log")):
            for line in log.read_text().splitlines():
                hit = re.match(r"\s+(\S+) k=(\d+) n=(\d+) m=(\d+): kernel ([\d.]+)", line)
                if hit:
                    times[(hit[1], f"{hit[2]}x{hit[3]}", int(hit[4]))][v].append(hit[5])
pair = len(variants) == 2
print(f"{'set':12s} {'k x n':12s} {'m':>3s}  " + "  ".join(f"{v:>11s}" for v in variants) + ("  change" if pair else ""))
for key in sorted(times):
    row = times[key]
    line = f"{key[0]:12s} {key[1]:12s} {key[2]:3d}  " + "  ".join(f"{'/'.join(row[v]):>11s}" for v in variants)
    if pair and all(row[v] for v in variants):
        a, b = (statistics.median(float(t) for t in row[v]) for v in variants)
        line += f"  {100 * (b / a - 1):+5.1f}%"
    print(line)

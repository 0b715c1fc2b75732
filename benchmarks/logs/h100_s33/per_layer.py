"""Per-layer kernel times of an A/B call (call.sh's ab): python per_layer.py DIR V [V ...]."""

import re
import sys
from collections import defaultdict
from pathlib import Path

folder, variants = Path(sys.argv[1]), sys.argv[2:]
times: dict = defaultdict(lambda: defaultdict(list))
for v in variants:
    for log in sorted(folder.glob(f"bench*_{v}_*.log")):
        for line in log.read_text().splitlines():
            hit = re.match(r"\s+(\S+) k=(\d+) n=(\d+) m=(\d+): kernel ([\d.]+)", line)
            if hit:
                times[(hit[1], f"{hit[2]}x{hit[3]}", int(hit[4]))][v].append(hit[5])
print(f"{'set':12s} {'k x n':12s} {'m':>3s}  " + "  ".join(f"{v:>11s}" for v in variants))
for key in sorted(times):
    print(f"{key[0]:12s} {key[1]:12s} {key[2]:3d}  " + "  ".join(f"{'/'.join(times[key][v]):>11s}" for v in variants))

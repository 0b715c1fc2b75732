"""A sweep_wgmma.py log as a markdown table: every layer and m, each configuration's readings
(rounds joined by /), in the log's column order.

    python3 benchmarks/logs/h100_s37/sweep_table.py LOG
"""
import re
import sys

rows: dict = {}
names: list = []
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) (\d+x\d+) m=(\d+): fp16\s+([\d.]+) \| (.*)", line)
    if not m:
        continue
    d: dict = {"fp16": [float(m.group(4))]}
    for cell in m.group(5).split("|"):
        name, val = cell.strip().split()[:2]
        d.setdefault(name, []).append(float(val))
        if name not in names:
            names.append(name)
    rows[(m.group(1), m.group(2), int(m.group(3)))] = d
print("| layer | m | fp16 | " + " | ".join(names) + " |")
print("|---|---|---|" + "---|" * len(names))
for (s, l, m), d in rows.items():
    cells = ["/".join(f"{v:.1f}" for v in d.get(n, [])) for n in ["fp16"] + names]
    print(f"| {l} | {m} | " + " | ".join(cells) + " |")

"""Instruction counts by opcode in one address range of a kernel's SASS (cuobjdump -sass -fun NAME).

    python benchmarks/logs/h200_s22/sass_region.py KERNEL.sass START_HEX END_HEX

Used for the skinny kernel's full-batch loop body (the run_batch copy without per-stripe tests:
the eight LDSM (TB = 2) or four (TB = 1) with no branch between them), whose bounds were read off
the dump by hand; `static_counts.txt` says which ranges.
"""
import collections
import re
import sys

path, lo, hi = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16)
ops: collections.Counter[str] = collections.Counter()
for line in open(path):
    m = re.match(r"\s*/\*([0-9a-f]{4,})\*/\s+(@!?U?P\w+\s+)?([A-Z0-9_.]+)", line)
    if m and lo <= int(m.group(1), 16) < hi:
        ops[m.group(3).split(".")[0]] += 1
print(sum(ops.values()), dict(ops.most_common()))

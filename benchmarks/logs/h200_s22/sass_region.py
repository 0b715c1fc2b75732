"""Instruction counts by opcode in one address range of a kernel's SASS (cuobjdump -sass -fun NAME).

    python benchmarks/logs/h200_s22/sass_region.py KERNEL.sass START_HEX END_HEX

Used for the skinny kernel's full-batch loop body (the run_batch copy without per-stripe tests:
the eight LDSM (TB = 2) or four (TB = 1) with no branch between them), whose bounds were read off
the dump by hand; `static_counts.txt` says which ranges.
"""
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from marlin_quant._sass import functions, opcode  # noqa: E402

path, lo, hi = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16)
ops: collections.Counter[str] = collections.Counter()
for _, body in functions(Path(path).read_text()):
    ops.update(opcode(text).split(".")[0] for address, text in body if lo <= address < hi)
print(sum(ops.values()), dict(ops.most_common()))

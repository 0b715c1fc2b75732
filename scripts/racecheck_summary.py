"""Sort a compute-sanitizer racecheck log into hazards that count and the known false positive.

    python scripts/racecheck_summary.py racecheck.log

racecheck does not order a store into another block's shared memory (``st.shared::cluster``,
the Hopper pairs' hand-over) after that block's earlier writes, even across a release/acquire
cluster barrier: the pattern of the CUDA guide's distributed-shared-memory examples is reported
as a write-after-write race (a 40-line probe reproduces it for a plain store before the
barrier: benchmarks/logs/racecheck_dsmem/).
Hazards with the kernel's one distributed-shared-memory store on either side are counted apart;
any other hazard, or a log without a summary, fails (exit 1).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

KERNEL = Path(__file__).resolve().parent.parent / "csrc" / "marlin_kernel.cu"


def dsmem_store_lines() -> set[int]:
    lines = KERNEL.read_text().splitlines()
    found = {i + 1 for i, line in enumerate(lines) if "st.shared::cluster" in line}
    if not found:
        raise SystemExit(f"no st.shared::cluster store in {KERNEL}: update racecheck_summary.py")
    return found


def classify(log: str, dsmem: set[int]) -> tuple[int, int]:
    """(hazard reports with a DSMEM store on one side, all other hazard reports)."""
    blocks = re.split(r"=+ (?:Error|Warning): Race reported", log)[1:]
    known = other = 0
    for block in blocks:
        body = block.split("\n=========     \n")[0]
        sites = [int(n) for n in re.findall(r"marlin_kernel\.cu:(\d+)", body.split("\n========= \n")[0])]
        if sites and any(s in dsmem for s in sites):
            known += 1
        else:
            other += 1
    return known, other


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    log = Path(sys.argv[1]).read_text(errors="replace")
    if "RACECHECK SUMMARY" not in log:
        print(f"{sys.argv[1]}: no RACECHECK SUMMARY line (did compute-sanitizer run?)")
        return 1
    known, other = classify(log, dsmem_store_lines())
    print(f"racecheck: {other} hazard reports, {known} more on the DSMEM hand-over store (tool false positive)")
    return 1 if other else 0


if __name__ == "__main__":
    raise SystemExit(main())

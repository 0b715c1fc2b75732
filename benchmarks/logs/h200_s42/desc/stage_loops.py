"""Stage loops of two libraries' Hopper kernels: the shortest backward branch holding an HGMMA, its
instruction count, uniform-datapath instructions and HGMMAs.

    python stage_loops.py NEW.so REF.so   (from the repository root; cuobjdump on PATH)
"""
import re
import sys

sys.path.insert(0, "benchmarks/logs/h100_s34/after")
from loopcmp import kernels  # noqa: E402  (its cuobjdump reader)


def stage(code: list[tuple[int, str]]) -> list[str]:
    best: list[str] = []
    for addr, ins in code:
        m = re.search(r"BRA (?:`\()?(?:\S+ )?0x([0-9a-f]+)", ins)
        if m and int(m.group(1), 16) < addr:
            body = [x for a, x in code if int(m.group(1), 16) <= a <= addr]
            if any("HGMMA" in x for x in body) and (not best or len(body) < len(best)):
                best = body
    return best


def counts(loop: list[str]) -> str:
    uniform = sum(bool(re.match(r"(@\S+\s+)?U", x)) for x in loop)
    return f"{len(loop):5d} (U {uniform:3d}, HGMMA {sum('HGMMA' in x for x in loop):3d})"


new, ref = kernels(sys.argv[1]), kernels(sys.argv[2])
for k in sorted(new):
    if "wgmma_gemm" in k and k in ref:
        print(f"{k[22:60]:40s} new {counts(stage(new[k]))}  ref {counts(stage(ref[k]))}")

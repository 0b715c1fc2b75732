"""Static instruction mix of the Hopper kernel's stage loop, from `cuobjdump -sass LIB` output.

    pip download --no-deps nvidia-cuda-cuobjdump   # 13.x wheel; unzip it, bin/cuobjdump runs here
    cuobjdump -sass .dev/head_exp.so > head.sass
    python sass_stage.py head.sass [REGEX]          # REGEX picks kernels, e.g. 'ILi64ELi2ELi6ELi2ELb0'

For each wgmma_gemm_kernel instantiation: the innermost loop that holds HGMMAs (one stage), its
instruction count, the part before the stage's first shared-memory load of weights (copies,
waits, barrier) and the compute part, R2UR and uniform-datapath counts, HGMMAs, warpgroup
waits and local-memory accesses. Static counts: code a warp branches around still counts.
"""

from __future__ import annotations

import collections
import re
import sys


def functions(path: str):
    """(mangled name, [(address, instruction)]) per function of a cuobjdump -sass listing."""
    cur, lines = None, []
    for ln in open(path):
        m = re.search(r"Function : (\S+)", ln)
        if m:
            if cur:
                yield cur, lines
            cur, lines = m.group(1), []
            continue
        m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?);", ln)
        if m and cur:
            lines.append((int(m.group(1), 16), m.group(2).strip()))
    if cur:
        yield cur, lines


def opcode(ins: str) -> str:
    ins = re.sub(r"^@!?U?P\w+\s+", "", ins)
    return ins.split()[0] if ins else ""


def loops(lines):
    """Every backward branch's body: (target, branch address, instructions in between)."""
    for addr, ins in lines:
        m = re.search(r"\bBRA\s+(?:`\()?[^0-9]*0x([0-9a-f]+)", ins)
        if m and int(m.group(1), 16) <= addr:
            tgt = int(m.group(1), 16)
            yield tgt, addr, [(a, i) for a, i in lines if tgt <= a <= addr]


def main() -> int:
    path = sys.argv[1]
    pat = sys.argv[2] if len(sys.argv) > 2 else ""
    for name, lines in functions(path):
        if "wgmma_gemm_kernel" not in name or not re.search(pat, name):
            continue
        body = min((b for _, _, b in loops(lines) if any("HGMMA" in i for _, i in b)), key=len, default=None)
        if body is None:
            continue
        first_hg = next(k for k, (_, i) in enumerate(body) if "HGMMA" in i)
        start = min(k for k, (_, i) in enumerate(body[:first_hg]) if "LDS" in i and "[RZ]" not in i)
        comp = collections.Counter(opcode(i) for _, i in body[start:])
        cfg = "x".join(re.search(r"ILi(\d+)ELi(\d)ELi(\d)ELi(\d)ELb(\d)", name).groups())
        print(f"{cfg:12s} stage {len(body):4d}  before compute {start:4d}  compute {len(body) - start:4d}"
              f"  R2UR {comp.get('R2UR', 0):3d}  uniform {sum(v for k, v in comp.items() if k.startswith('U')):3d}"
              f"  HGMMA {sum(v for k, v in comp.items() if k.startswith('HGMMA')):2d}"
              f"  waits {sorted(set(i for _, i in body if 'WARPGROUP.DEPBAR' in i))}"
              f"  local {sum(('LDL' in i or 'STL' in i) for _, i in lines)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

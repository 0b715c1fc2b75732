"""Static instruction mix of the Hopper kernel's stage loop, from `cuobjdump -sass LIB` output.

    pip install nvidia-cuda-cuobjdump        # in the test extras; or any CUDA toolkit's cuobjdump
    cuobjdump -sass .dev/head_exp.so > head.sass
    python sass_stage.py head.sass [REGEX]   # REGEX picks kernels, e.g. 'ILi64ELi2ELi6ELi2ELb0'

For each wgmma_gemm_kernel instantiation: the innermost loop that holds HGMMAs (one stage), its
instruction count, the part before the stage's first shared-memory load of weights (copies,
waits, barrier) and the compute part, R2UR and uniform-datapath counts, HGMMAs, warpgroup
waits and local-memory accesses. Static counts: code a warp branches around still counts.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from marlin_quant._sass import functions, opcode, stage_loop  # noqa: E402


def main() -> int:
    sass = Path(sys.argv[1]).read_text()
    pat = sys.argv[2] if len(sys.argv) > 2 else ""
    for name, lines in functions(sass):
        if "wgmma_gemm_kernel" not in name or not re.search(pat, name):
            continue
        body = stage_loop(lines)
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
              f"  local {sum(opcode(i).startswith(('LDL', 'STL')) for _, i in lines)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

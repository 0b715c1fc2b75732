"""Whether two kernel libraries give the same bits on the skinny path's shared tiles.

    MARLIN_QUANT_LIB=A.so python same_bits.py dump a.pt
    MARLIN_QUANT_LIB=B.so python same_bits.py dump b.pt
    python same_bits.py compare a.pt b.pt

One process per library (a process loads one). The shapes are the skinny plans' whose tiles are
split between blocks (the summers' path), every group size, m = 1 / 3 / 8; inputs from fixed
seeds. Exit status 1 if any output differs in any bit. SAME_BITS_M (default 1,3,8): the m values
(the twenty-eighth session added 12,16: the same shapes on the 16-token Hopper tiles).
"""

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root

SHAPES = [(4096, 4096), (4096, 12288), (11008, 4096), (3072, 3072), (8192, 3072), (4096, 22016)]
M = [int(m) for m in os.environ.get("SAME_BITS_M", "1,3,8").split(",")]


def dump(path: str) -> None:
    from marlin_quant import ops, packing

    out = {}
    for k, n in SHAPES:
        for gs in (32, 64, 128, -1):
            g = torch.Generator(device="cpu").manual_seed(k * 7 + n + gs)
            codes = torch.randint(0, 16, (k, n), generator=g, dtype=torch.int32).cuda()
            scales = (torch.rand(packing.num_groups(k, gs), n, generator=g) * 0.02 + 0.001).half().cuda()
            B, s = packing.pack(codes, scales, gs)
            for m in M:
                A = torch.randn(m, k, generator=g).half().cuda()
                out[(k, n, gs, m)] = ops.gemm(A, B, s, gs).cpu()
    torch.save(out, path)
    print(f"{len(out)} outputs -> {path}")


def compare(a: str, b: str) -> int:
    x, y = torch.load(a), torch.load(b)
    bad = [key for key in x if not torch.equal(x[key], y[key])]
    for key in bad:
        d = (x[key].float() - y[key].float()).abs().max().item()
        print(f"differs: k, n, groupsize, m = {key}: max |diff| {d:.3g}")
    print(f"{len(x) - len(bad)} of {len(x)} outputs the same bits")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2])
    else:
        sys.exit(compare(sys.argv[2], sys.argv[3]))

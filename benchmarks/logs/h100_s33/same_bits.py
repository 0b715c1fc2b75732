"""Whether two kernel libraries give the same bits on the skinny path's shared tiles.

    MARLIN_QUANT_LIB=A.so python same_bits.py dump a.pt
    MARLIN_QUANT_LIB=B.so python same_bits.py dump b.pt
    python same_bits.py compare a.pt b.pt

One process per library (a process loads one). The shapes are the skinny plans' whose tiles are
split between blocks (the summers' path), every group size, m = 1 / 3 / 8, and the same shapes at
m = 12 / 16 (16-token Hopper tiles, also split); inputs from fixed seeds. Exit status 1 if any
output differs in any bit. (h100_s32/same_bits.py, plus m = 12 / 16.)
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root

SHAPES = [(4096, 4096), (4096, 12288), (11008, 4096), (3072, 3072), (8192, 3072), (4096, 22016)]


def dump(path: str) -> None:
    from marlin_quant import ops, packing

    out = {}
    for k, n in SHAPES:
        for gs in (32, 64, 128, -1):
            g = torch.Generator(device="cpu").manual_seed(k * 7 + n + gs)
            codes = torch.randint(0, 16, (k, n), generator=g, dtype=torch.int32).cuda()
            scales = (torch.rand(packing.num_groups(k, gs), n, generator=g) * 0.02 + 0.001).half().cuda()
            B, s = packing.pack(codes, scales, gs)
            for m in (1, 3, 8, 12, 16):
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

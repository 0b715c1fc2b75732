"""Run one product shape a few times, for profilers (ncu) or a quick per-shape timing.

    python scripts/profile_kernel.py --m 16 --k 4096 --n 12288 [--groupsize 128] [--iters 20]
    ncu --section SpeedOfLight -k regex:marlin python scripts/profile_kernel.py ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marlin_quant import ops, packing  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--k", type=int, default=4096)
    p.add_argument("--n", type=int, default=12288)
    p.add_argument("--groupsize", type=int, default=128)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--smem-limit", type=int, default=0, help="cap shared memory per block (bytes) to try smaller pipelines")
    a = p.parse_args()
    if a.smem_limit:
        facts = ops._device_facts(0)
        ops._device_facts = lambda index: (facts[0], min(facts[1], a.smem_limit), facts[2], facts[3], facts[4])
    codes = torch.randint(0, 16, (a.k, a.n), dtype=torch.int32, device="cuda")
    scales = (torch.rand(packing.num_groups(a.k, a.groupsize), a.n, device="cuda") * 0.01 + 1e-3).half()
    B, s = packing.pack(codes, scales, a.groupsize)
    A = torch.randn(a.m, a.k, dtype=torch.float16, device="cuda")
    ws = ops.make_workspace("cuda")
    f = ops._device_facts(0)
    print(ops.plan_launch(a.m, a.n, a.k, f[0], f[1], f[2], f[4], ops.device_clusters(0) if f[4] else (), a.groupsize))
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(3):
        ops.gemm(A, B, s, a.groupsize, ws)
    torch.cuda.synchronize()
    start.record()
    for _ in range(a.iters):
        ops.gemm(A, B, s, a.groupsize, ws)
    end.record()
    end.synchronize()
    us = start.elapsed_time(end) * 1e3 / a.iters
    nbytes = B.numel() * 4 + s.numel() * 2
    W = torch.randn(a.n, a.k, dtype=torch.float16, device="cuda")
    torch.cuda.synchronize()
    start.record()
    for _ in range(a.iters):
        torch.nn.functional.linear(A, W)
    end.record()
    end.synchronize()
    fp_us = start.elapsed_time(end) * 1e3 / a.iters
    print(f"m={a.m} k={a.k} n={a.n} g={a.groupsize}: {us:.1f} us/call eager ({nbytes / us / 1e6:.2f} TB/s); "
          f"fp16 linear {fp_us:.1f} us/call eager")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Host time of one eager call (what an eager decode pays per linear layer), on a GPU.

    python scripts/bench_host.py [--m 1] [--k 4096] [--n 4096] [--calls 2000] [--json PATH]

Each variant is called back to back ``--calls`` times and timed on the wall clock with one
synchronize at the end; the product is small enough (4096 x 4096 at m = 1: ~7 us of GPU time)
that the host is what limits the rate, so the number is the host cost of a call. Variants:
``ops.gemm`` (the library's entry: checks, then the direct launch in plain eager code),
``torch.ops.marlin_quant.gemm`` (the same through torch's dispatcher, as under torch.compile
or a dispatch mode), ``MarlinLinear`` (the layer, on an (m, k) input and on a (1, m, k) one
as Hugging Face models pass it) and fp16 ``torch.nn.functional.linear`` for scale.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marlin_quant import MarlinLinear, ops, packing  # noqa: E402


def per_call_us(fn, calls: int) -> float:
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t0) / calls * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=1)
    ap.add_argument("--k", type=int, default=4096)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("error: bench_host.py times kernel launches and needs a CUDA GPU; none is visible", file=sys.stderr)
        return 2
    codes = torch.randint(0, 16, (a.k, a.n), dtype=torch.int32, device="cuda")
    scales = (torch.rand(packing.num_groups(a.k, 128), a.n, device="cuda") * 0.01 + 1e-3).half()
    B, s = packing.pack(codes, scales, 128)
    W = packing.dequantize(codes, scales, 128).t().contiguous().half()
    layer = MarlinLinear.from_packed(B, s, 128).cuda()
    A = torch.randn(a.m, a.k, dtype=torch.float16, device="cuda")
    A3 = A.view(1, a.m, a.k)
    variants = {
        "ops.gemm": lambda: ops.gemm(A, B, s, 128),
        "torch.ops.marlin_quant.gemm": lambda: torch.ops.marlin_quant.gemm(A, B, s, 128, None),
        "MarlinLinear": lambda: layer(A),
        "MarlinLinear, (1, m, k) input": lambda: layer(A3),
        "fp16 F.linear": lambda: torch.nn.functional.linear(A, W),
    }
    with torch.inference_mode():
        rows = [{"variant": name, "m": a.m, "k": a.k, "n": a.n, "us_per_call": per_call_us(fn, a.calls)}
                for name, fn in variants.items()]
    print(f"host time per eager call, m={a.m} k={a.k} n={a.n}, {torch.cuda.get_device_name(0)}")
    for r in rows:
        print(f"  {r['variant']:<32}{r['us_per_call']:8.1f} us")
    if a.json:
        a.json.write_text(json.dumps({"device": torch.cuda.get_device_name(0), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

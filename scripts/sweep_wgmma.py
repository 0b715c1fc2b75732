"""Kernel configuration sweep (diagnostic; needs a library built with -DMQ_EXPERIMENT).

    MARLIN_QUANT_LIB=/tmp/libexp.so python scripts/sweep_wgmma.py [--m 64,128,256] \\
        [--configs off,128:2:4:2,64:4:4:2,64:2:6:2] [--sets llama2-7b,llama2-70b | --layers 4096x4096,3584x4608]

A configuration is ntok:ch:stages[:kb] of csrc's kWgConfigs (``off``: the tiled mma.sync kernel),
``sk=MAX_M[:PER_SM[:CHUNKS]]`` (the skinny kernel up to MAX_M tokens, PER_SM blocks per SM, CHUNKS
64-column chunks per tile where the build reads it: benchmarks/logs/h200_s22/skinny_tb2.patch) or ``plan``
(the planner's own choice), optionally with ``@single``: the Hopper path's stream-K ranges run by
single blocks instead of pairs, or ``@pair``: by pairs wherever the tile has the pairs' hand-over
(256 or 512 columns, an even count of 128-k stages), whatever the planner's pairs rules; and then
``/sN``: at most N stream-K ranges per tile (``/s1``: no tile split, no partials), and then ``+post``: group size 128 applied after the MMA on every
Hopper tile built for it (the release's and the experiment-only 32 x 512 and 64 x 256), or
``+pre``: before it everywhere (the release before the twenty-third session); each runs every layer of the sets at every m,
timed as scripts/bench_kernel.py times (CUDA graphs of 60 launches, weights rotated past L2),
with fp16 ``torch.nn.functional.linear`` in the same run; each output is checked against that
fp16 product first. The planner reads ``MQ_FORCE_WG`` / ``MQ_FORCE_SKINNY`` at every plan, so one process sweeps all.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_kernel import LAYER_SETS, _copies_needed, time_graph  # noqa: E402

from marlin_quant import ops, packing  # noqa: E402


def force(cfg: str) -> None:
    """Point the planner at one configuration (see the module docstring for the syntax)."""
    os.environ.pop("MQ_FORCE_WG", None)
    os.environ.pop("MQ_FORCE_SKINNY", None)
    os.environ.pop("MQ_FORCE_PAIR", None)
    os.environ.pop("MQ_FORCE_SPLIT", None)
    os.environ.pop("MQ_WG_POST", None)
    for suffix, value in (("+post", "1"), ("+pre", "0")):
        if cfg.endswith(suffix):
            cfg = cfg[: -len(suffix)]
            os.environ["MQ_WG_POST"] = value
    if "/s" in cfg:
        cfg, split = cfg.rsplit("/s", 1)
        if not split.isdigit() or int(split) < 1:
            raise SystemExit(f"bad configuration suffix /s{split}: want /sN with N >= 1 ranges per tile")
        os.environ["MQ_FORCE_SPLIT"] = split
    if cfg.endswith("@single"):
        cfg = cfg[: -len("@single")]
        os.environ["MQ_FORCE_PAIR"] = "0"
    elif cfg.endswith("@pair"):
        cfg = cfg[: -len("@pair")]
        os.environ["MQ_FORCE_PAIR"] = "2"
    if cfg.startswith("sk="):
        os.environ["MQ_FORCE_SKINNY"] = cfg[3:].replace(":", ",")
    elif cfg != "plan":
        os.environ["MQ_FORCE_WG"] = "off" if cfg == "off" else cfg.replace(":", ",")
    ops.plan_launch.cache_clear()


def parse_layers(spec: str) -> list[tuple[int, int]]:
    """``KxN,KxN`` (``--layers``) as (k, n) pairs."""
    layers = []
    for kn in spec.split(","):
        parts = kn.split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError(f"--layers {spec!r}: give KxN,... with positive K and N (e.g. 4096x4096,3584x4608)")
        layers.append((int(parts[0]), int(parts[1])))
    return layers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", default="64,128,256")
    ap.add_argument("--configs", default="off,128:2:4:2,128:2:6:1,64:4:4:2,64:2:6:2")
    ap.add_argument("--sets", default="llama2-7b,llama2-70b")
    ap.add_argument("--groupsize", type=int, default=128)
    ap.add_argument("--layers", default="", help="KxN,... timed as one set named 'layers' instead of --sets")
    a = ap.parse_args()
    layer_sets = dict(LAYER_SETS)
    if a.layers:
        try:
            layer_sets["layers"] = parse_layers(a.layers)
        except ValueError as exc:
            ap.error(str(exc))
        a.sets = "layers"
    ms = [int(x) for x in a.m.split(",")]
    cfgs = a.configs.split(",")
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    ws = ops.make_workspace("cuda")
    totals: dict = {}
    for name in a.sets.split(","):
        for k, n in layer_sets[name]:
            codes = torch.randint(0, 16, (k, n), dtype=torch.int32, device="cuda")
            scales = (torch.rand(packing.num_groups(k, a.groupsize), n, device="cuda") * 0.01 + 1e-3).half()
            B, s = packing.pack(codes, scales, a.groupsize)
            W = packing.dequantize(codes, scales, a.groupsize).t().contiguous().half()
            del codes
            nq = _copies_needed(B.numel() * 4 + s.numel() * 2, l2)
            Bs, ss = [B] + [B.clone() for _ in range(nq - 1)], [s] + [s.clone() for _ in range(nq - 1)]
            nw = _copies_needed(W.numel() * 2, l2)
            Ws = [W] + [W.clone() for _ in range(nw - 1)]
            for m in ms:
                A = torch.randn(m, k, dtype=torch.float16, device="cuda")
                ref = torch.nn.functional.linear(A, W).float()
                tf = time_graph([lambda i=i: torch.nn.functional.linear(A, Ws[i % nw]) for i in range(60)])
                totals.setdefault((name, m, "fp16"), 0.0)
                totals[(name, m, "fp16")] += tf
                line = [f"{name} {k}x{n} m={m}: fp16 {tf * 1e6:7.1f}"]
                for col, cfg in enumerate(cfgs):  # a configuration may be listed twice (A/B/A)
                    force(cfg)
                    try:
                        C = ops.gemm(A, B, s, a.groupsize, ws).float()
                    except (RuntimeError, ValueError) as exc:
                        line.append(f"{cfg} n/a ({exc})")
                        continue
                    rel = ((C - ref).norm() / ref.norm()).item()
                    bad = "" if rel < 3e-3 and torch.isfinite(C).all() else f" WRONG rel={rel:.2e}"
                    tq = time_graph([lambda i=i: ops.gemm(A, Bs[i % nq], ss[i % nq], a.groupsize, ws) for i in range(60)])
                    totals.setdefault((name, m, col), 0.0)
                    totals[(name, m, col)] += tq
                    line.append(f"{cfg} {tq * 1e6:7.1f}{bad}")
                print(" | ".join(line), flush=True)
            del Bs, ss, Ws, B, s, W
            torch.cuda.empty_cache()
    print("\ntotals over each set (us; speedup over fp16)")
    for name in a.sets.split(","):
        for m in ms:
            tf = totals[(name, m, "fp16")]
            cells = [f"{cfg} {totals[(name, m, col)] * 1e6:7.1f} ({tf / totals[(name, m, col)]:.2f}x)"
                     for col, cfg in enumerate(cfgs) if (name, m, col) in totals]
            print(f"{name:<11} m={m:<5} fp16 {tf * 1e6:7.1f} | " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

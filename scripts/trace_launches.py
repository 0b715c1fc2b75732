"""Where a launch's time goes: a timeline of back-to-back launches from a -DMQ_TRACE library.

    nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a \\
        -DMQ_TRACE csrc/marlin_kernel.cu -o /tmp/trace.so
    MARLIN_QUANT_LIB=/tmp/trace.so python scripts/trace_launches.py --m 1,16 [--layers 4096x4096]

A diagnostic, not a benchmark: thread 0 of every block stamps %globaltimer on entry, after
griddepcontrol.wait (release), when its first stage has landed, before its last tile segment's
fixup, after a Hopper pair's last hand-over, after a summer's wait, after a summer's partial
adds and its C stores, and at exit. The launches run as in scripts/bench_kernel.py (one
CUDA graph of 60 launches, weights rotated past L2); the table gives medians over the middle
launches, in microseconds from the launch's first release:
  entry      first / last block entered (negative: resident before the previous launch ended)
  first      first stage landed, median block
  loop_end   main loop done (median / last block)
  xchg       Hopper pairs: the last segment's hand-over done (median block)
  summer     last summer's wait done
  exit       last block exited
  next       the next launch's first release (the period; with --gap it includes the plain
             kernel run between launches, so that no launch starts before the last has ended)
  lx_*       the block that exits last: its main loop end and (a summer) its wait's end, its
             partials added and its C stores issued (lx_loop, lx_spin, lx_added, lx_stored)
  cross/rest skinny launches: main loop end of the median block whose range crosses a tile
             boundary (it also sums the tile it ends in) and of the median other block
  sum_*      summers (Hopper; skinny since the thirty-fourth session), median durations (not
             times): the wait's end to the partials added (read), to the C stores issued
             (store), to the block's exit (exit)
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marlin_quant import ops, packing  # noqa: E402

L, NB, SLOTS = 64, 1024, 10


def read_trace(lib) -> torch.Tensor:
    buf = torch.zeros(L * NB * SLOTS, dtype=torch.int64)
    err = lib.mq_trace_read(ctypes.c_void_p(buf.data_ptr()), ctypes.c_longlong(buf.numel() * 8))
    if err:
        raise RuntimeError(f"mq_trace_read: {err}")
    return buf.view(L, NB, SLOTS)


def trace_layer(lib, k: int, n: int, m: int, groupsize: int, calls: int = 60, dump: Path | None = None,
                gap: bool = False) -> list[dict]:
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    gen = torch.Generator().manual_seed(k * 31 + n)
    codes = torch.randint(0, 16, (k, n), generator=gen, dtype=torch.int32).cuda()
    scales = (torch.rand(packing.num_groups(k, groupsize), n, generator=gen) * 0.01 + 1e-3).half().cuda()
    B, s = packing.pack(codes, scales, groupsize)
    nq = max(2, -(-4 * l2 // (B.numel() * 4)))
    Bs = [B] + [B.clone() for _ in range(nq - 1)]
    ss = [s] + [s.clone() for _ in range(nq - 1)]
    ws = ops.make_workspace("cuda")
    props = torch.cuda.get_device_properties(0)
    plan = ops.plan_launch(m, n, k, props.multi_processor_count, props.shared_memory_per_block_optin,
                           props.shared_memory_per_multiprocessor, ops.device_features(0), ops.device_clusters(0),
                           groupsize)
    crosses = None
    if plan.kernel == "skinny":
        # Block b runs range blocks - 1 - b of upb stripes (the planner's upb: the smallest
        # multiple of 8 that covers the units in this many blocks).
        stripes, tiles = k // 16, -(-n // plan.tile_columns)
        total = tiles * stripes
        upb = -(-(-(-total // plan.blocks)) // 8) * 8
        crosses = torch.tensor([
            ((plan.blocks - 1 - b) * upb) // stripes != (min((plan.blocks - b) * upb, total) - 1) // stripes
            for b in range(plan.blocks)])
    A = torch.randn(m, k, dtype=torch.float16, device="cuda")
    spacer = torch.zeros(256, device="cuda") if gap else None
    ops.gemm(A, Bs[0], ss[0], groupsize, ws)
    torch.cuda.synchronize()
    stream = torch.cuda.Stream()
    graph = torch.cuda.CUDAGraph()
    lib.mq_trace_reset()
    with torch.cuda.graph(graph, stream=stream):
        for i in range(calls):
            ops.gemm(A, Bs[i % nq], ss[i % nq], groupsize, ws)
            if gap:
                spacer.add_(1)  # a plain kernel between launches: none starts before the last ends
    for _ in range(3):
        graph.replay()
    torch.cuda.synchronize()
    lib.mq_trace_reset()  # clears the stamps; the ids were fixed at capture
    graph.replay()
    torch.cuda.synchronize()
    t = read_trace(lib)
    if dump is not None:
        # Raw stamps of the first 16 launches (launch, block, slot; slot 7 is the SM), for
        # per-block analysis.
        dump.mkdir(parents=True, exist_ok=True)
        torch.save(t[:16, :320].clone(), dump / f"{k}x{n}_m{m}.pt")
    launches = []
    for i in range(min(calls, L)):
        rec = t[i]
        live = rec[:, 0] > 0
        r = rec[live].double()
        if r.numel() == 0:
            continue
        launches.append(r)
    rows = []
    for i in range(5, len(launches) - 5):
        r, nxt = launches[i], launches[i + 1]
        t0 = r[:, 1].min()
        us = lambda x: float((x - t0) / 1e3)  # noqa: E731
        summers = r[:, 4][r[:, 4] > 0]
        lx = r[int(r[:, 3].argmax())]  # the block that exits last
        rows.append(dict(
            blocks=r.shape[0],
            entry_first=us(r[:, 0].min()), entry_last=us(r[:, 0].max()),
            release_last=us(r[:, 1].max()),
            first=us(r[:, 5][r[:, 5] > 0].median()) if (r[:, 5] > 0).any() else float("nan"),
            loop_med=us(r[:, 2].median()), loop_last=us(r[:, 2].max()),
            summer=us(summers.max()) if summers.numel() else float("nan"),
            exit_med=us(r[:, 3].median()), exit_last=us(r[:, 3].max()),
            next=us(nxt[:, 1].min()),
            xchg=us(r[:, 6][r[:, 6] > 0].median()) if (r[:, 6] > 0).any() else float("nan"),
            lx_loop=us(lx[2]), lx_spin=us(lx[4]) if lx[4] > 0 else float("nan"),
            lx_added=us(lx[8]) if lx[8] > 0 else float("nan"), lx_stored=us(lx[9]) if lx[9] > 0 else float("nan"),
            sms=int(torch.unique(r[:, 7]).numel()),
            sum_read=_span(r, 4, 8), sum_store=_span(r, 8, 9), sum_exit=_span(r, 9, 3),
            cross=us(r[:, 2][crosses].median()) if crosses is not None and crosses.any() else float("nan"),
            rest=us(r[:, 2][~crosses].median()) if crosses is not None and (~crosses).any() else float("nan"),
        ))
    return rows


def _span(r: torch.Tensor, a: int, b: int) -> float:
    """Median us from slot a to slot b over the blocks that stamped both (Hopper summers)."""
    both = (r[:, a] > 0) & (r[:, b] > 0)
    return float(((r[:, b] - r[:, a])[both]).median() / 1e3) if both.any() else float("nan")


def _median(xs: list[float]) -> float:
    xs = [x for x in xs if x == x]  # a launch without summers has NaN there
    return statistics.median(xs) if xs else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", default="1,16")
    ap.add_argument("--layers", default="4096x12288,4096x4096,4096x22016,11008x4096",
                    help="comma-separated KxN")
    ap.add_argument("--groupsize", type=int, default=128)
    ap.add_argument("--dump", type=Path, default=None, help="save every layer's raw stamps here (.pt)")
    ap.add_argument("--gap", action="store_true",
                    help="a small kernel between launches, so no launch overlaps the next (no early start)")
    args = ap.parse_args(argv)
    lib = ops._load_library()
    try:
        lib.mq_trace_reset.restype = ctypes.c_int
        lib.mq_trace_read.restype = ctypes.c_int
    except AttributeError:
        print("trace_launches: the library was not built with -DMQ_TRACE", file=sys.stderr)
        return 1
    cols = ["blocks", "sms", "entry_first", "entry_last", "release_last", "first", "loop_med", "loop_last",
            "xchg", "summer", "exit_med", "exit_last", "next", "lx_loop", "lx_spin", "lx_added", "lx_stored",
            "cross", "rest", "sum_read", "sum_store", "sum_exit"]
    print(f"{'layer':>12}{'m':>5} " + "".join(f"{c:>13}" for c in cols))
    for spec in args.layers.split(","):
        k, n = (int(x) for x in spec.split("x"))
        for m in (int(x) for x in args.m.split(",")):
            rows = trace_layer(lib, k, n, m, args.groupsize, dump=args.dump, gap=args.gap)
            med = {c: _median([r[c] for r in rows]) for c in cols}
            print(f"{spec:>12}{m:>5} " + "".join(f"{med[c]:>13.2f}" for c in cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

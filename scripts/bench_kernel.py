"""Kernel speed on the GPU: Marlin W4A16 vs torch fp16 matmul, as ratios measured in one run.

    python scripts/bench_kernel.py [--json PATH] [--sets llama2-7b,llama2-70b] [--m 1,16,64]

For each layer set it reports, per m, the total over its layers: kernel microseconds, fp16
microseconds (``torch.nn.functional.linear``), speedup, and bandwidth fraction = bytes of 4-bit
weights + scales / kernel time / the device's copy bandwidth measured in the same run.
Timing: CUDA graphs of many launches, weights rotated over several copies so that more than
twice the L2 is touched between two uses of one copy (they stream from DRAM). Each timing
replays its own graph for 0.05 s before it samples (the clocks settle on what is being timed),
and the kernel and fp16 take turns over three rounds (median of each).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marlin_quant import ops, packing  # noqa: E402

LAYER_SETS = {
    "llama2-7b": [(4096, 12288), (4096, 4096), (4096, 22016), (11008, 4096)],
    "llama2-70b": [(8192, 10240), (8192, 8192), (8192, 57344), (28672, 8192)],
    # Llama-3.2-3B: hidden 3072, 8 KV heads of 128 (fused q/k/v 5120), MLP 8192. Its q/k/v and
    # o layers are small enough that two skinny blocks per SM would each stream one batch.
    "llama3.2-3b": [(3072, 5120), (3072, 3072), (3072, 16384), (8192, 3072)],
    "smollm2-135m": [(576, 960), (576, 576), (576, 3072), (1536, 576)],
    # Llama-3-8B (and Llama-3.1-8B): hidden 4096, 8 KV heads of 128 (fused q/k/v 6144), MLP 14336.
    "llama3-8b": [(4096, 6144), (4096, 4096), (4096, 28672), (14336, 4096)],
    # Qwen2-7B: hidden 3584, 4 KV heads of 128 (fused q/k/v 4608), MLP 18944.
    "qwen2-7b": [(3584, 4608), (3584, 3584), (3584, 37888), (18944, 3584)],
}
DEFAULT_M = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass
class Row:
    model: str
    m: int
    groupsize: int
    kernel_us: float
    fp16_us: float
    speedup: float
    bw_frac: float


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


SETTLE_S = 0.05  # seconds each timing first runs what it times (see graph_timer)


def _run_for(fn, seconds: float) -> None:
    """Run fn (then synchronize) over and over, at least once, until `seconds` have passed."""
    t0 = time.perf_counter()
    while True:
        fn()
        torch.cuda.synchronize()
        if time.perf_counter() - t0 >= seconds:
            return


def copy_bandwidth(nbytes: int = 1 << 30, iters: int = 20) -> float:
    """Device copy bandwidth in bytes/s, counting bytes read plus bytes written."""
    src = torch.empty(nbytes // 2, dtype=torch.float16, device="cuda").normal_()
    dst = torch.empty_like(src)
    # Settled like the kernel timings (graph_timer), so the copy bandwidth and the times it is
    # compared with see the same clocks.
    _run_for(lambda: dst.copy_(src), SETTLE_S)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(iters):
        start.record()
        dst.copy_(src)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return 2 * nbytes / _median(times)


def _copies_needed(nbytes: int, l2: int) -> int:
    return max(2, -(-4 * l2 // max(nbytes, 1)))


def graph_timer(fn_list, reps: int = 5, settle_s: float = SETTLE_S):
    """Capture fn_list (each fn once) in a CUDA graph; return a function that replays it for
    settle_s first, then gives the median seconds per fn over reps replays.

    The settling replays matter at large m: the GPU runs at its power cap there and its clocks
    follow what ran in the last tens of milliseconds, so without them a kernel timed right after
    fp16 read up to 15% slower than the same kernel timed after itself or after a pause (H200,
    benchmarks/logs/timing_order/)."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for fn in fn_list:
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for fn in fn_list:
            fn()

    def timed() -> float:
        _run_for(graph.replay, settle_s)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        samples = []
        for _ in range(reps):
            start.record()
            graph.replay()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / 1e3 / len(fn_list))
        return _median(samples)

    return timed


def time_graph(fn_list, reps: int = 5) -> float:
    """Median seconds per call of a CUDA graph that runs every fn in fn_list once."""
    return graph_timer(fn_list, reps)()


def time_pair(a_fns, b_fns, rounds: int = 3) -> tuple[float, float]:
    """Median seconds per call of a and of b, over rounds that alternate which runs first."""
    ta, tb = graph_timer(a_fns), graph_timer(b_fns)
    a, b = [], []
    for r in range(rounds):
        if r % 2 == 0:
            a.append(ta())
            b.append(tb())
        else:
            b.append(tb())
            a.append(ta())
    return _median(a), _median(b)


def bench_layer(k: int, n: int, ms, groupsize: int, l2: int, calls: int = 60) -> dict[int, tuple[float, float]]:
    gen = torch.Generator().manual_seed(k * 31 + n)
    codes = torch.randint(0, 16, (k, n), generator=gen, dtype=torch.int32).cuda()
    scales = (torch.rand(packing.num_groups(k, groupsize), n, generator=gen) * 0.01 + 1e-3).half().cuda()
    B, s = packing.pack(codes, scales, groupsize)
    q_bytes = B.numel() * 4 + s.numel() * 2
    nq = _copies_needed(q_bytes, l2)
    Bs = [B] + [B.clone() for _ in range(nq - 1)]
    ss = [s] + [s.clone() for _ in range(nq - 1)]
    W = packing.dequantize(codes, scales, groupsize).t().contiguous().half()
    del codes
    nw = _copies_needed(W.numel() * 2, l2)
    Ws = [W] + [W.clone() for _ in range(nw - 1)]
    ws = ops.make_workspace("cuda")
    out: dict[int, tuple[float, float]] = {}
    for m in ms:
        A = torch.randn(m, k, dtype=torch.float16, device="cuda")
        ops.gemm(A, Bs[0], ss[0], groupsize, ws)  # compile/plan before capture
        q_fns = [lambda i=i: ops.gemm(A, Bs[i % nq], ss[i % nq], groupsize, ws) for i in range(calls)]
        f_fns = [lambda i=i: torch.nn.functional.linear(A, Ws[i % nw]) for i in range(calls)]
        out[m] = time_pair(q_fns, f_fns)
    del Bs, ss, Ws
    torch.cuda.empty_cache()
    return out


def run(sets, ms, groupsize: int = 128, per_layer: bool = False) -> tuple[list[Row], float]:
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    bw = copy_bandwidth()
    rows: list[Row] = []
    for name in sets:
        totals = {m: [0.0, 0.0] for m in ms}
        q_bytes = 0
        for k, n in LAYER_SETS[name]:
            res = bench_layer(k, n, ms, groupsize, l2)
            if per_layer:
                for m, (tq, tf) in res.items():
                    print(f"  {name} k={k} n={n} m={m}: kernel {tq * 1e6:.1f} us, fp16 {tf * 1e6:.1f} us")
            q_bytes += k * n // 2 + packing.num_groups(k, groupsize) * n * 2
            for m, (tq, tf) in res.items():
                totals[m][0] += tq
                totals[m][1] += tf
        for m in ms:
            tq, tf = totals[m]
            rows.append(Row(name, m, groupsize, tq * 1e6, tf * 1e6, tf / tq, q_bytes / tq / bw))
    return rows, bw


def print_table(rows: list[Row], bw: float, device: str) -> None:
    print(f"device: {device}; measured copy bandwidth {bw / 1e12:.2f} TB/s (read + write)")
    print(f"{'model':<14}{'m':>6}{'g':>5}{'kernel us':>11}{'fp16 us':>10}{'speedup':>9}{'bw frac':>9}")
    for r in rows:
        print(f"{r.model:<14}{r.m:>6}{r.groupsize:>5}{r.kernel_us:>11.1f}{r.fp16_us:>10.1f}{r.speedup:>8.2f}x{r.bw_frac:>9.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the rows (and device facts) as JSON here")
    parser.add_argument("--sets", default="llama2-7b,llama2-70b", help=f"comma-separated, of {', '.join(LAYER_SETS)}")
    parser.add_argument("--m", default=",".join(map(str, DEFAULT_M)), help="comma-separated batch sizes")
    parser.add_argument("--groupsize", type=int, default=128)
    parser.add_argument("--per-layer", action="store_true", help="also print each layer's times")
    args = parser.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    for s in sets:
        if s not in LAYER_SETS:
            parser.error(f"unknown layer set {s!r}; choose from {', '.join(LAYER_SETS)}")
        bad = [k for k, _ in LAYER_SETS[s] if args.groupsize != -1 and k % args.groupsize]
        if bad:
            fits = [g for g in (128, 64, 32) if all(k % g == 0 for k, _ in LAYER_SETS[s])]
            parser.error(f"layer set {s} has k={bad[0]}, not divisible by --groupsize {args.groupsize}; "
                         f"use --groupsize {fits[0] if fits else -1} (or -1) for it")
    ms = [int(x) for x in args.m.split(",")]
    if not ops.kernel_available():
        print("bench_kernel: needs a CUDA GPU (sm_80+) and the built kernel library", file=sys.stderr)
        return 1
    rows, bw = run(sets, ms, args.groupsize, args.per_layer)
    device = torch.cuda.get_device_name(0)
    print_table(rows, bw, device)
    if args.json:
        payload = {"device": device, "copy_bandwidth_Bps": bw, "torch": torch.__version__,
                   "rows": [asdict(r) for r in rows]}
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps(payload, indent=1))
        tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The decode step of bench_e2e (Llama-2-7B shapes, 4 layers, one new token per sequence against a
static KV cache, captured as one CUDA graph and replayed), Marlin only, a few rounds: whichever
marlin_quant is first on sys.path is measured, so the same script times the release before
(PYTHONPATH=.dev/old39) and this tree (PYTHONPATH=.). The session's run also tried to count the
graph's memset nodes from a DOT dump (torch wrote none: "n/a" in its logs); that part is gone.

    python e2e_step.py --batches 1,16 --rounds 3
"""

import argparse

import torch

import marlin_quant
from marlin_quant import bench_e2e


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--layers", type=int, default=4)
    args = ap.parse_args()
    print(f"marlin_quant from {marlin_quant.__file__}")
    _, q = bench_e2e.build(args.layers, "cuda")
    for b in (int(x) for x in args.batches.split(",")):
        times = []
        for _ in range(args.rounds):
            times.append(bench_e2e.decode_step_ms(q, b, "cuda", steps=200))
        print(f"batch {b}: marlin decode step ms " + " / ".join(f"{t:.4f}" for t in times), flush=True)


if __name__ == "__main__":
    main()

"""Speed and memory of the compression pipeline on a Llama-2-7B-shaped model with random weights.

Default: 32 layers, hidden 4096, intermediate 11008, 128 calibration samples x 2048 tokens,
4-bit group size 128 with clipping, on the GPU. Prints the total time, the peak GPU memory and
the per-layer time split (forward, Hessian, solve, clip search); ``--json`` writes them too.

    python scripts/bench_gptq.py --json bench.json
    python scripts/bench_gptq.py --layers 2 --hidden 256 --intermediate 512 --heads 4 \\
        --nsamples 4 --seqlen 128 --device cpu          # a quick check without a GPU
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marlin_quant import pipeline  # noqa: E402
from marlin_quant.config import QuantConfig  # noqa: E402

log = logging.getLogger("bench_gptq")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Time the GPTQ pipeline on a random Llama-2-7B-shaped model.")
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--intermediate", type=int, default=11008)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--nsamples", type=int, default=128)
    p.add_argument("--seqlen", type=int, default=2048)
    p.add_argument("--groupsize", type=int, default=128)
    p.add_argument("--no-clip", action="store_true", help="absmax scales instead of the clip search")
    p.add_argument("--act-order", action="store_true")
    p.add_argument("--no-true-sequential", action="store_true")
    p.add_argument("--batch-tokens", type=int, default=QuantConfig().batch_tokens)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", choices=("float16", "bfloat16", "float32"), default=None,
                   help="model dtype (default float16 on CUDA, float32 on CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    return p.parse_args(argv)


def random_llama(args: argparse.Namespace, dtype: torch.dtype):
    """A LlamaForCausalLM of the requested shape with N(0, 0.02) weights, built on the CPU."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.intermediate,
                      num_hidden_layers=args.layers, num_attention_heads=args.heads,
                      num_key_value_heads=args.heads, max_position_embeddings=max(4096, args.seqlen))
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    model = model.to_empty(device="cpu").to(dtype)
    gen = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32).mul_(0.02).to(dtype))
    # to_empty leaves buffers (the rotary inverse frequencies) uninitialised: build that one anew
    model.model.rotary_emb = type(model.model.rotary_emb)(config=cfg)
    return model.eval()


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    dtype = getattr(torch, args.dtype) if args.dtype else (torch.float16 if args.device.startswith("cuda") else torch.float32)
    t = time.perf_counter()
    model = random_llama(args, dtype)
    log.info("built a random %d-layer model (hidden %d, intermediate %d) in %.1f s", args.layers, args.hidden,
             args.intermediate, time.perf_counter() - t)
    gen = torch.Generator().manual_seed(args.seed + 1)
    samples = [torch.randint(0, args.vocab, (1, args.seqlen), generator=gen) for _ in range(args.nsamples)]
    config = QuantConfig(groupsize=args.groupsize, clip=not args.no_clip, act_order=args.act_order,
                         true_sequential=not args.no_true_sequential, nsamples=args.nsamples,
                         seqlen=args.seqlen, seed=args.seed, batch_tokens=args.batch_tokens,
                         blocksize=max(128, args.groupsize))
    res = pipeline.quantize_model(model, samples, config, device=args.device, progress=True)

    per_layer = res.stats["per_layer"]
    parts = ("forward", "hessian", "solve", "clip")
    totals = {p: sum(layer[p] for layer in per_layer) for p in parts}
    total = res.stats["total_seconds"]
    peak = res.stats["peak_gpu_bytes"]
    lines = [
        f"model: {args.layers} layers, hidden {args.hidden}, intermediate {args.intermediate}, {dtype}",
        f"calibration: {args.nsamples} x {args.seqlen} tokens; 4-bit g{args.groupsize}, clip={config.clip}, "
        f"act_order={config.act_order}, true_sequential={config.true_sequential}",
        f"device: {torch.cuda.get_device_name(args.device) if args.device.startswith('cuda') else platform.processor() or 'cpu'}",
        "",
        "| part | per layer (s) | total (s) | share |",
        "|---|---|---|---|",
    ]
    for p in parts:
        lines.append(f"| {p} | {totals[p] / len(per_layer):.3f} | {totals[p]:.1f} | {100 * totals[p] / total:.0f}% |")
    other = total - sum(totals.values())
    lines.append(f"| other (input capture, transfers) | {other / len(per_layer):.3f} | {other:.1f} | {100 * other / total:.0f}% |")
    lines.append(f"| **total** | {total / len(per_layer):.3f} | {total:.1f} | 100% |")
    lines.append("")
    lines.append(f"peak GPU memory: {peak / 2**30:.2f} GiB" if peak is not None else "peak GPU memory: n/a (CPU)")
    report = "\n".join(lines)
    print(report)
    out = {"args": vars(args) | {"json": str(args.json) if args.json else None}, "config": config.to_dict(),
           "total_seconds": total, "peak_gpu_bytes": peak, "per_part_seconds": totals,
           "per_layer": per_layer, "report": report}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))
    return out


if __name__ == "__main__":
    main()

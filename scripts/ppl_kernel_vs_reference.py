"""Perplexity of one quantized directory through the Marlin CUDA kernel and through the CPU
reference path, over the same windows of the same text, in one run (needs a GPU).

    python scripts/ppl_kernel_vs_reference.py QUANT_DIR [--text stdlib|FILE] [--seqlen 512]
        [--max-windows 16] [--json PATH] [--tolerance 0.005]

Uses only the library (no CLI dependencies). Exit code 0 when the relative difference is within
the tolerance, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marlin_quant import calibration, evaluate, load, models, ops  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", type=Path)
    p.add_argument("--text", default="stdlib", help="'stdlib' (held-out docstrings) or a text file")
    p.add_argument("--seqlen", type=int, default=512)
    p.add_argument("--max-windows", type=int, default=16)
    p.add_argument("--tolerance", type=float, default=0.005)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--devices", default="cuda,cpu", help="the two devices compared (cpu,cpu: a smoke run)")
    args = p.parse_args(argv)
    first, second = args.devices.split(",")
    if "cuda" in (first, second) and not ops.kernel_available():
        print("needs a CUDA GPU (sm_80+) and the built kernel library (python scripts/build_kernels.py)", file=sys.stderr)
        return 1
    if args.text == "stdlib":
        text = "\n\n".join(calibration.stdlib_documents("evaluation"))
    else:
        text = Path(args.text).read_text(errors="replace")
    tokenizer = models.load_tokenizer(models.ModelSource(args.path))
    ids = evaluate.tokenize(tokenizer, text)
    results = {}
    for key, device in (("kernel", first), ("reference", second)):
        model = load(args.path, device=device)
        t0 = time.perf_counter()
        results[key] = {
            "perplexity": evaluate.perplexity(model, ids, seqlen=args.seqlen, max_windows=args.max_windows,
                                              device=device),
            "seconds": time.perf_counter() - t0,
            "dtype": str(next(p for p in model.parameters() if p.is_floating_point()).dtype),
        }
        del model
        results[key]["device"] = device
        print(f"{key} ({device}): ppl {results[key]['perplexity']:.4f} ({results[key]['seconds']:.1f} s)", flush=True)
    rel = abs(results["kernel"]["perplexity"] - results["reference"]["perplexity"]) / results["reference"]["perplexity"]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    payload = {"path": str(args.path), "gpu": gpu, "seqlen": args.seqlen,
               "windows": min(args.max_windows, ids.shape[1] // args.seqlen), "kernel": results["kernel"],
               "reference": results["reference"], "relative_difference": rel, "tolerance": args.tolerance}
    print(f"relative difference {100 * rel:.3f}% (tolerance {100 * args.tolerance:.2f}%)")
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2))
    return 0 if rel <= args.tolerance else 1


if __name__ == "__main__":
    raise SystemExit(main())

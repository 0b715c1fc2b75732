"""Build the CUDA kernel library (csrc/ -> marlin_quant/_lib/libmarlin_quant_kernels.so) with nvcc.

    python scripts/build_kernels.py [--arch 80,86,89,90a] [--out PATH]

The library has a C ABI and links the CUDA runtime statically, so one build serves every torch
version. setup.py calls the same function during `pip install`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from marlin_quant._build import DEFAULT_ARCHS, build_kernel_library  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default=",".join(DEFAULT_ARCHS), help="comma-separated compute capabilities")
    parser.add_argument("--out", type=Path, default=None, help="output .so path")
    parser.add_argument("--verbose", action="store_true", help="print ptxas resource usage")
    args = parser.parse_args()
    out = build_kernel_library(archs=args.arch.split(","), out=args.out, verbose=args.verbose)
    print(f"built {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

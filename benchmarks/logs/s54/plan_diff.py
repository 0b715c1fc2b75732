"""Which plans two kernel libraries differ on, over every benchmark layer set, m = 1-512 and every
group size the layer's k allows (plan_launch only; runs on a CPU):
    python benchmarks/logs/s54/plan_diff.py [OLD.so NEW.so]   (default .dev/head54_pip.so .dev/cand54_pip.so)
plan_diff.txt is its output for the release (44bef30's pip library) against cand.patch's."""
import collections
import os
import sys

sys.path.insert(0, "scripts")
from bench_kernel import LAYER_SETS  # noqa: E402


def plans(lib: str) -> dict:
    """(set, k, n, m, group size) -> the H100's plan on library `lib`."""
    os.environ["MARLIN_QUANT_LIB"] = lib
    import marlin_quant.ops as ops
    ops._lib = None
    ops.plan_launch.cache_clear()
    out = {}
    for name, layers in LAYER_SETS.items():
        for k, n in layers:
            for m in range(1, 513):
                for g in (128, 64, 32, -1):
                    if g != -1 and k % g:
                        continue
                    out[(name, k, n, m, g)] = ops.plan_launch(m, n, k, 132, 232448, 233472, ops.FEATURE_WGMMA, groupsize=g)
    return out


if __name__ == "__main__":
    old, new = sys.argv[1:3] if len(sys.argv) == 3 else (".dev/head54_pip.so", ".dev/cand54_pip.so")
    a = plans(old)
    b = plans(new)
    diff = [key for key in a if a[key] != b[key]]
    bench_ms = {1, 2, 4, 8, 16, 32, 64, 128, 256}
    print("differing plans:", len(diff), "of", len(a))
    print("on benchmark rows (g128, m powers of two <= 256):", [d for d in diff if d[4] == 128 and d[3] in bench_ms])
    print(collections.Counter((d[4], "129-192" if d[3] <= 192 else "193-256" if d[3] <= 256 else "257-448" if d[3] <= 448
                               else ">448") for d in diff))
    print(sorted({(d[1], d[2]) for d in diff}))

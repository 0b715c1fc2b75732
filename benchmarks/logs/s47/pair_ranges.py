"""Which of the benchmark sets' paired Hopper plans have pair ranges that split a tile into whole
ranges, on an H100 (132 SMs, 66 clusters of two): per layer and m, ranges per tile (k_iters / upb),
printed where the plan pairs. Run where the library is built (no GPU needed)."""
import sys
sys.path.insert(0, "scripts")
from bench_kernel import LAYER_SETS
from marlin_quant import ops

FACTS = (132, 232448, 233472, ops.FEATURE_WGMMA)
CLUSTERS = (0, 0, 66, 39, 30, 22, 17, 15, 15)
ms = [int(x) for x in sys.argv[1].split(",")] if len(sys.argv) > 1 else [9, 16, 17, 24, 32, 33, 48, 64, 65, 96, 128, 129, 192, 256]
seen = set()
for name, layers in LAYER_SETS.items():
    for k, n in layers:
        if k % 128:
            continue
        if (k, n) in seen:
            continue
        seen.add((k, n))
        row = []
        for m in ms:
            p = ops.plan_launch(m, n, k, *FACTS, CLUSTERS, 128)
            if p.cluster != 2:
                row.append(f"m={m}:-")
                continue
            tiles = p.tickets // 2
            k_iters = k // (64 * p.stripes // 4)
            total = tiles * k_iters
            upb = -(-total // min(66, total))
            upb += upb & 1
            aligned = k_iters % upb == 0 or upb % k_iters == 0
            row.append(f"m={m}:{p.m_blocks*16}x{p.tile_columns} {k_iters / upb:.2f}{'' if aligned else '*'}")
        print(f"{name:12s} {k}x{n}: " + "  ".join(row))

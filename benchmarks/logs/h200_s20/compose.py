"""The shipped hybrid's expected totals from per-layer sweeps of its two parents (call 2, one round).

Every sm_90a kernel of the shipped library is instruction-for-instruction HEAD's (128-token tiles)
or the depth build's (64-token tiles) (sass_same_shipped.txt), so each layer's time is that of
the parent whose kernel the planner picks for it. Not a measurement of the hybrid itself.
"""
import re
from pathlib import Path

from marlin_quant import ops

here = Path(__file__).parent
LINE = re.compile(r"(\S+) (\d+)x(\d+) m=(\d+): fp16\s+([\d.]+) \| plan\s+([\d.]+)")


def layers(log):
    return {(s, int(k), int(n), int(m)): float(t) for s, k, n, m, _, t in LINE.findall((here / log).read_text())}


head, depth = layers("sweep_head.log"), layers("sweep_depth.log")
totals = {}
for (s, k, n, m), t_head in head.items():
    plan = ops.plan_launch(m, n, k, 132, 232448, 233472, ops.FEATURE_WGMMA, (0, 132, 66, 44, 33, 26, 22, 18, 16))
    ntok = 16 * plan.m_blocks
    t = t_head if ntok == 128 else depth[(s, k, n, m)]
    tot = totals.setdefault((s, m), [0.0, 0.0, 0.0])
    tot[0] += t_head; tot[1] += depth[(s, k, n, m)]; tot[2] += t
    print(f"{s:11s} {k}x{n} m={m:<4d} {plan.kernel} {ntok}x{plan.tile_columns}: head {t_head:6.1f} depth {depth[(s, k, n, m)]:6.1f} -> {t:6.1f}")
print("\nset         m     head   depth  hybrid (composed)")
for (s, m), (a, b, c) in totals.items():
    print(f"{s:11s} {m:<4d} {a:7.1f} {b:7.1f} {c:7.1f}")

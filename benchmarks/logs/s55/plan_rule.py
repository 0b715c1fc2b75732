"""Checks on a CPU that this release's library plans every (benchmark set layer, m = 1-512, group
size) case as d2ecae6's did, except groups of 64 / 32 at m = 257-320 below 2^25 weights where k is
a multiple of 128, which must now take 64 x 256 tiles (scales before the MMA):
    python benchmarks/logs/s55/plan_rule.py OLD.so NEW.so   (d2ecae6's, this tree's pip library)"""
import sys

sys.path.insert(0, "benchmarks/logs/s54")
from plan_diff import plans  # noqa: E402

old, new = plans(sys.argv[1]), plans(sys.argv[2])
bad = moved = 0
for key, plan in new.items():
    name, k, n, m, g = key
    rule = g in (64, 32) and 257 <= m <= 320 and n * k < 2**25 and k % 128 == 0
    if rule:
        ok = (plan.kernel, plan.m_blocks * 16, plan.tile_columns, plan.scales_after_mma) == ("wgmma", 64, 256, False)
        moved += old[key] != plan
    else:
        ok = plan == old[key]
    if not ok:
        bad += 1
        print("not as the rule says:", key, old[key], plan)
print(f"{len(new)} cases, {moved} moved by the rule, {bad} not as the rule says")

"""Whether the shipped library plans every case as one of the two libraries that ran on the H100
(s54/one/: the candidate, cand.patch; the release before, 44bef30): groups of 128 and per channel
as the candidate, groups of 64 and 32 as the release before, over every benchmark layer set,
m = 1-512 and every group size the layer's k allows (plan_launch only; runs on a CPU):
    python benchmarks/logs/s54/plan_subset.py SHIPPED.so   (against .dev/head54_pip.so, .dev/cand54_pip.so)"""
import sys

sys.path.insert(0, "benchmarks/logs/s54")
from plan_diff import plans  # noqa: E402

shipped, release, cand = plans(sys.argv[1]), plans(".dev/head54_pip.so"), plans(".dev/cand54_pip.so")
bad = [key for key in shipped if shipped[key] != (cand if key[4] in (128, -1) else release)[key]]
moved = sum(shipped[key] != release[key] for key in shipped)
print(f"{len(shipped)} cases; {moved} planned differently from the release before; "
      f"{len(bad)} not as the library of their group size: {bad[:5]}")
raise SystemExit(1 if bad else 0)

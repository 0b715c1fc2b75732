"""Per-layer A/B from call_lib's bench logs: REL (the release before) against PIP (this library).
Usage: python ab_layers.py DIR... ; prints layer, m, group, before / after us and the ratio."""
import re, sys, glob, os
row = re.compile(r"^\s*(\S+) k=(\d+) n=(\d+) m=(\d+): kernel ([\d.]+) us")
for d in sys.argv[1:]:
    for rel in sorted(glob.glob(os.path.join(d, "bench*_rel_g*_*.log"))):
        pip = rel.replace("_rel_", "_pip_")
        if not os.path.exists(pip):  # a round cut by the call's time guard
            continue
        g = re.search(r"_g(-?\d+)_", rel).group(1)
        a = {m.group(1, 2, 3, 4): float(m.group(5)) for m in map(row.match, open(rel)) if m}
        b = {m.group(1, 2, 3, 4): float(m.group(5)) for m in map(row.match, open(pip)) if m}
        for key in a:
            s, k, n, m = key
            w = int(k) * int(n)
            print(f"{d.split(os.sep)[0]:6} g{g:>3} {s:12} {k:>5}x{n:<5} m={m:>3} w/2^25={w / 2**25:5.2f}  {a[key]:7.1f} / {b[key]:7.1f}  {b[key] / a[key]:.3f}")

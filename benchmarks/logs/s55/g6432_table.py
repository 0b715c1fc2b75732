"""Groups of 64 / 32 past m = 256: 64 x 256 forced against the plan (128 x 256), every round of
the sweeps in g6432/ and two/x/ (one H100 start); prints the mean ratio forced / plan."""
import re, glob, collections
pat = re.compile(r"layers (\d+x\d+) m=(\d+): fp16\s+[\d.]+ \| plan\s+([\d.]+) \| 64:2:6:2\s+([\d.]+)")
r = collections.defaultdict(list)
for f in glob.glob("g6432/*.log") + glob.glob("two/x/sweep_small_g*.log"):
    g = re.search(r"_g(\d+)", f).group(1)
    for line in open(f):
        m = pat.search(line)
        if m:
            r[(g, m.group(1), int(m.group(2)))].append(float(m.group(4)) / float(m.group(3)))
ms = sorted({k[2] for k in r})
for g in ("64", "32"):
    print(f"groups of {g}: forced / plan (rounds)")
    print(f"{'layer':12} {'w/2^25':>6} " + " ".join(f"{m:>9}" for m in ms))
    for layer in sorted({k[1] for k in r if k[0] == g}, key=lambda s: eval(s.replace('x', '*'))):
        w = eval(layer.replace("x", "*")) / 2**25
        cells = []
        for m in ms:
            v = r.get((g, layer, m))
            cells.append(f"{sum(v)/len(v):.3f}({len(v)})" if v else " " * 8)
        print(f"{layer:12} {w:6.2f} " + " ".join(f"{c:>9}" for c in cells))

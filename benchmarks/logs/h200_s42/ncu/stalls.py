"""Warp-stall samples of ncu source pages (SASS csv.gz): totals by reason and the top instructions.

    python stalls.py ncu_m16_4096_22016.csv.gz ...
"""
import csv, gzip, sys, collections
for fn in sys.argv[1:]:
    rows = list(csv.reader(gzip.open(fn, 'rt')))
    hdr = rows[1]; data = rows[2:]
    idx = {h: i for i, h in enumerate(hdr)}
    tot = collections.Counter(); samples = 0
    top = []
    for r in data:
        try:
            s = int(r[idx["Warp Stall Sampling (All Samples)"]] or 0)
        except ValueError:  # a row that is not an instruction
            continue
        samples += s
        top.append((s, r[idx["Address"]], r[idx["Source"]][:60]))
        for h in hdr:
            if h.startswith("stall_") and "Not Issued" not in h:
                v = r[idx[h]]
                if v: tot[h] += int(v)
    print("####", fn, "samples", samples)
    for k, v in tot.most_common(8): print(f"  {k:24s} {v:8d} {v/samples:.3f}")
    top.sort(reverse=True)
    for s, a, src in top[:12]: print(f"    {s:6d} {s/samples:.3f} {a} {src}")

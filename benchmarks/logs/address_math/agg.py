import csv,sys,collections
f=sys.argv[1]
rows=list(csv.reader(open(f)))
hdr=rows[1]; data=rows[2:]
iss=hdr.index("Warp Stall Sampling (All Samples)"); iex=hdr.index("Instructions Executed"); isrc=hdr.index("Source")
stall_cols=[i for i,h in enumerate(hdr) if h.startswith("stall_") and "Not Issued" not in h]
tot=sum(float(r[iss] or 0) for r in data)
by=collections.defaultdict(lambda:[0,0,collections.Counter(),0])
for r in data:
    e=int(float(r[iex] or 0)); s=float(r[iss] or 0)
    b=by[e]; b[0]+=s; b[1]+=1; b[3]+=e
    for i in stall_cols: b[2][hdr[i][6:]]+=float(r[i] or 0)
for e,(s,n,c,_) in sorted(by.items(), key=lambda x:-x[1][0])[:14]:
    print(f"ex={e:>8} n_instr={n:5d} samples={s:6.0f} {100*s/tot:5.1f}%  {c.most_common(5)}")

import csv,sys
f=sys.argv[1]
rows=list(csv.reader(open(f)))
hdr=rows[1]; data=rows[2:]
ia=hdr.index("Address"); isrc=hdr.index("Source"); iss=hdr.index("Warp Stall Sampling (All Samples)"); iex=hdr.index("Instructions Executed")
stall_cols=[i for i,h in enumerate(hdr) if h.startswith("stall_") and "Not Issued" not in h]
tot=sum(float(r[iss] or 0) for r in data)
print("total samples",tot, "instructions", len(data))
# aggregate by stall reason
agg={hdr[i]:sum(float(r[i] or 0) for r in data) for i in stall_cols}
print(sorted(agg.items(), key=lambda x:-x[1])[:10])
top=sorted(data,key=lambda r:-float(r[iss] or 0))[:int(sys.argv[2]) if len(sys.argv)>2 else 40]
for r in top:
    st=sorted(((hdr[i][6:],float(r[i] or 0)) for i in stall_cols), key=lambda x:-x[1])[:3]
    print(f"{r[ia]:>6} {float(r[iss]):7.0f} {100*float(r[iss])/tot:5.1f}% ex={r[iex]:>9} {r[isrc][:60]:60} {st}")

"""Stage loops of two libraries' Hopper kernels: the shortest backward branch holding an HGMMA, its
instruction count, uniform-datapath instructions and HGMMAs.

    python stage_loops.py NEW.so REF.so   (from the repository root; cuobjdump on PATH)
"""
import re, sys
# loopcmp.py's SASS reader, without its table (the part before its main code).
src = open("benchmarks/logs/h100_s34/after/loopcmp.py").read().split("\nnew, ref =")[0]
ns = {}; exec(src, ns)
def stage(code):
    best=None
    for i,(addr,ins) in enumerate(code):
        m=re.search(r"BRA (?:`\()?(?:\S+ )?0x([0-9a-f]+)", ins)
        if m:
            t=int(m.group(1),16)
            if t<addr:
                body=[x for a,x in code if t<=a<=addr]
                if any("HGMMA" in x for x in body) and (best is None or len(body)<len(best)): best=body
    return best or []
new, ref = ns['kernels'](sys.argv[1]), ns['kernels'](sys.argv[2])
for k in sorted(new):
    if 'wgmma_gemm' not in k or k not in ref: continue
    a, b = stage(new[k]), stage(ref[k])
    u = lambda l: sum(bool(re.match(r"(@\S+\s+)?U", x)) for x in l)
    h = lambda l: sum("HGMMA" in x for x in l)
    print(f"{k[22:60]:40s} new {len(a):5d} (U {u(a):3d}, HGMMA {h(a):3d})  ref {len(b):5d} (U {u(b):3d}, HGMMA {h(b):3d})")

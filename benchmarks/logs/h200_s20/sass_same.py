"""Which kernels of one library are instruction-for-instruction those of another (sm_90a SASS).

    python benchmarks/logs/h200_s20/sass_same.py [--skinny-tb1] NEW.so REF.so [REF2.so ...]

For each kernel of NEW's sm_90a image, names the reference libraries whose kernel of the same name
has the same instruction sequence (addresses dropped; branch targets compared as offsets). A kernel
matching a library that passed the GPU checks runs that library's checked machine code.
--skinny-tb1: NEW's skinny kernels carry a token-group count as their last template argument
(h200_s22/skinny_tb2.patch); its TB = 1 kernels are compared under the reference's names.
"""
import sys
from pathlib import Path

from marlin_quant import _sass


def kernels(lib: str) -> dict[str, list[str]]:
    sass = _sass.disassemble(Path(lib), _sass.find_cuobjdump())
    out = {}
    for name, body in _sass.functions(sass, "sm_90a"):
        out[name] = [text for _, text in body]
    return out


args = sys.argv[1:]
tb1 = "--skinny-tb1" in args
args = [a for a in args if a != "--skinny-tb1"]
new, refs = kernels(args[0]), {r: kernels(r) for r in args[1:]}
for name, body in sorted(new.items()):
    ref_name = name.replace("ELi1EEEvNS_8SkParamsE", "EEEvNS_8SkParamsE") if tb1 else name
    same = [Path(r).name for r, k in refs.items() if k.get(ref_name) == body]
    print(f"{len(body):6d} instrs  {' '.join(same) or 'NO MATCH':30s} {name[:100]}")

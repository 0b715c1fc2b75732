"""Which kernels of one library are instruction-for-instruction those of another (sm_90a SASS).

    python benchmarks/logs/h200_s20/sass_same.py NEW.so REF.so [REF2.so ...]

For each kernel of NEW's sm_90a image, names the reference libraries whose kernel of the same name
has the same instruction sequence (addresses dropped; branch targets compared as offsets). A kernel
matching a library that passed the GPU checks runs that library's checked machine code.
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


new, refs = kernels(sys.argv[1]), {r: kernels(r) for r in sys.argv[2:]}
for name, body in sorted(new.items()):
    same = [Path(r).name for r, k in refs.items() if k.get(name) == body]
    print(f"{len(body):6d} instrs  {' '.join(same) or 'NO MATCH':30s} {name[:100]}")

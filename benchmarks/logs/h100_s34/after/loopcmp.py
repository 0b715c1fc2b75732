"""Main loops of two libraries' kernels, side by side: python loopcmp.py NEW.so REF.so [REGEX].

For each kernel (cuobjdump -sass), the longest backward branch is taken as its main loop; the
table gives its instruction count and how many S2R, LDL/STL and BAR it holds, in each library.
Kernels whose whole SASS is the same in both are left out."""

import re
import subprocess
import sys
from collections import defaultdict


def kernels(so: str) -> dict[str, list[tuple[int, str]]]:
    out = subprocess.run(["cuobjdump", "-sass", so], capture_output=True, text=True, check=True).stdout
    ks: dict[str, list[tuple[int, str]]] = defaultdict(list)
    name = None
    for line in out.splitlines():
        m = re.match(r"\s+Function : (\S+)", line)
        if m:
            name = m.group(1)
            continue
        m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
        if m and name:
            ks[name].append((int(m.group(1), 16), m.group(2).strip()))
    return ks


def main_loop(code: list[tuple[int, str]]) -> list[str]:
    best = (0, 0, 0)
    for i, (addr, ins) in enumerate(code):
        m = re.search(r"BRA (?:`\()?(?:\S+ )?0x([0-9a-f]+)", ins)
        if m:
            target = int(m.group(1), 16)
            if target < addr and addr - target > best[0]:
                best = (addr - target, target, addr)
    _, lo, hi = best
    return [ins for a, ins in code if lo <= a <= hi]


def stats(loop: list[str]) -> str:
    s2r = sum("S2R" in x for x in loop)
    local = sum(bool(re.search(r"\b(LDL|STL)\b", x)) for x in loop)
    bar = sum("BAR" in x for x in loop)
    return f"{len(loop):5d} {s2r:3d} {local:3d} {bar:3d}"


def main() -> None:
    new, ref = kernels(sys.argv[1]), kernels(sys.argv[2])
    pat = re.compile(sys.argv[3] if len(sys.argv) > 3 else ".")
    print(f"{'kernel':60s} {'new: loop S2R L/S BAR':>22s}   {'ref: loop S2R L/S BAR':>22s}")
    for k in sorted(new):
        if not pat.search(k) or k not in ref:
            continue
        if [i for _, i in new[k]] == [i for _, i in ref[k]]:
            continue
        print(f"{k[:60]:60s} {stats(main_loop(new[k])):>22s}   {stats(main_loop(ref[k])):>22s}")


if __name__ == "__main__":
    main()

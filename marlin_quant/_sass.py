"""Reading the kernel library's machine code (`cuobjdump -sass`), without a GPU.

ptxas decides things about the Hopper path's stage loop that no test on a GPU would name but
every benchmark pays for: whether the tensor pipe is drained at every stage, whether registers
go to local memory. Both can be read off the SASS of the sm_90a image; CI does that
(tests/test_kernel_build.py) with cuobjdump and nvdisasm from NVIDIA's wheels (test extras).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

_FUNCTION = re.compile(r"Function : (\S+)")
_CODE_FOR = re.compile(r"code for (sm_\w+)")
_INSTRUCTION = re.compile(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?);")
_DEPBAR = re.compile(r"WARPGROUP\.DEPBAR\.LE\s+gsb0,\s*(0x[0-9a-f]+)")
_BRANCH = re.compile(r"\bBRA\s+(?:`\()?[^0-9]*0x([0-9a-f]+)")

Instruction = tuple[int, str]  # (address, text)


def find_cuobjdump() -> str | None:
    """cuobjdump from PATH, CUDA_HOME, or NVIDIA's wheels (nvidia-cuda-cuobjdump and
    nvidia-cuda-nvdisasm: nvidia/cu*/bin), where an nvdisasm sits beside it or on PATH (cuobjdump
    runs it for -sass); None otherwise."""
    candidates = [shutil.which("cuobjdump")]
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if cuda_home:
        candidates.append(str(Path(cuda_home) / "bin" / "cuobjdump"))
    try:
        import nvidia  # namespace package of NVIDIA's wheels

        candidates += [str(c) for root in nvidia.__path__ for c in sorted(Path(root).glob("cu*/bin/cuobjdump"))]
    except ImportError:
        pass
    for c in candidates:
        if c and os.access(c, os.X_OK) and (os.access(Path(c).with_name("nvdisasm"), os.X_OK) or shutil.which("nvdisasm")):
            return c
    return None


def disassemble(library: Path, cuobjdump: str) -> str:
    """The SASS of every kernel in `library` (cuobjdump runs the nvdisasm beside it)."""
    env = dict(os.environ, PATH=str(Path(cuobjdump).parent) + os.pathsep + os.environ.get("PATH", ""))
    run = subprocess.run([cuobjdump, "-sass", str(library)], capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"cuobjdump -sass {library} failed: {run.stderr.strip()}")
    return run.stdout


def functions(sass: str, arch: str | None = None) -> Iterator[tuple[str, list[Instruction]]]:
    """(mangled name, instructions) per function of a cuobjdump -sass listing; with `arch`
    ("sm_90a"), only the functions of that architecture's images."""
    name, body, here = None, [], None
    for line in sass.splitlines():
        m = _CODE_FOR.search(line)
        if m:
            here = m.group(1)
            continue
        m = _FUNCTION.search(line)
        if m:
            if name:
                yield name, body
            name, body = (m.group(1) if arch is None or here == arch else None), []
            continue
        m = _INSTRUCTION.match(line)
        if m and name:
            body.append((int(m.group(1), 16), m.group(2).strip()))
    if name:
        yield name, body


def unguarded(instruction: str) -> str:
    """The instruction without its predicate guard (`@P0`, `@!UP1`)."""
    return re.sub(r"^@!?U?P\w+\s+", "", instruction)


def opcode(instruction: str) -> str:
    """The opcode with its modifiers, without a predicate guard."""
    text = unguarded(instruction)
    return text.split()[0] if text else ""


def loops(body: list[Instruction]) -> Iterator[list[Instruction]]:
    """The instructions from each backward branch's target to the branch."""
    for addr, text in body:
        m = _BRANCH.search(text)
        if m and int(m.group(1), 16) <= addr:
            target = int(m.group(1), 16)
            yield [(a, t) for a, t in body if target <= a <= addr]


def stage_loop(body: list[Instruction]) -> list[Instruction] | None:
    """The innermost loop that issues warpgroup MMAs: one stage of the Hopper path."""
    return min((lp for lp in loops(body) if any("HGMMA" in t for _, t in lp)), key=len, default=None)


def mma_groups_in_flight(stage: list[Instruction]) -> int | None:
    """How many warpgroup MMA groups a stage loop leaves in flight at its waits: the smallest N of
    its `WARPGROUP.DEPBAR.LE gsb0, N` (None: the loop never waits)."""
    levels = [int(m.group(1), 16) for _, t in stage if (m := _DEPBAR.search(t))]
    return min(levels, default=None)


_RUNTIME_PRODUCT = re.compile(r"^IMAD(\.WIDE(\.U32)?)?\s+R\w+,\s*(P\d,\s*)?R\w+(\.reuse)?,\s*UR\d+")


def runtime_products(stage: list[Instruction]) -> int:
    """Integer multiplies in a stage loop by a value known only at run time, held in a uniform
    register (`IMAD Rd, Ra, URb, ...`, `IMAD.WIDE`): in the Hopper path these are the copies'
    row strides (k / 8, n / 2) times the stage's row, the address math that running copy pointers
    take out of the loop (benchmarks/KERNEL_NOTES.md, twenty-second session)."""
    return sum(1 for _, t in stage if _RUNTIME_PRODUCT.match(unguarded(t)))


# A Hopper kernel that applies group scales after the MMA (wgmma_gemm_kernel's last flag, POST).
POST_KERNEL = re.compile(r"wgmma_gemm_kernelILi\d+ELi\d+ELi\d+ELi\d+ELb[01]ELb1E")


def sass_findings(sass: str) -> tuple[list[str], int]:
    """What in the Hopper path's SASS (the sm_90a image) would slow it, and how many of its
    kernels were read. (Other images hold the same kernels as empty stubs.)

    A stage loop that waits for every warpgroup MMA (`WARPGROUP.DEPBAR.LE gsb0, 0x0`) drains the
    tensor pipe once a stage: ptxas inserts that wait where the loop's edges disagree on how
    many MMA groups are in flight (why each tile segment's first stage is peeled;
    benchmarks/KERNEL_NOTES.md, fifth session). Kernels with group scales after the MMA (POST,
    the last template flag) wait so once a stage by design, to fold the stage's sums, and may
    not wait more. Local memory (LDL/STL) in a Hopper kernel means spilled registers.
    """
    found, read = [], 0
    for name, body in functions(sass, arch="sm_90a"):
        if "wgmma_gemm_kernel" not in name:
            continue
        read += 1
        stage = stage_loop(body)
        if stage is None:
            found.append(f"{name}: no loop issues HGMMA")
            continue
        drains = sum(1 for _, t in stage if (m := _DEPBAR.search(t)) and int(m.group(1), 16) == 0)
        if drains > (1 if POST_KERNEL.search(name) else 0):
            found.append(f"{name}: its stage loop waits for every wgmma group {drains} times")
        local = sum(1 for _, t in body if opcode(t).startswith(("LDL", "STL")))
        if local:
            found.append(f"{name}: {local} local-memory instructions (spilled registers)")
    return found, read

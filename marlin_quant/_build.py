"""Compile csrc/ with nvcc into the kernel shared library (used by setup.py and scripts/)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

DEFAULT_ARCHS = ("80", "86", "89", "90a")
SOURCES = ("marlin_kernel.cu",)
LIB_NAME = "libmarlin_quant_kernels.so"


def find_nvcc() -> str | None:
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if cuda_home and (Path(cuda_home) / "bin" / "nvcc").exists():
        return str(Path(cuda_home) / "bin" / "nvcc")
    found = shutil.which("nvcc")
    if found:
        return found
    default = Path("/usr/local/cuda/bin/nvcc")
    return str(default) if default.exists() else None


def _gencode(arch: str) -> list[str]:
    arch = arch.strip()
    return ["-gencode", f"arch=compute_{arch},code=sm_{arch}"]


def build_kernel_library(
    archs: "list[str] | tuple[str, ...]" = DEFAULT_ARCHS,
    out: Path | None = None,
    csrc: Path | None = None,
    verbose: bool = False,
    ptxas_log: Path | None = None,
) -> Path:
    """Compile and write the library atomically (temp file, then rename). Raises on failure.

    ptxas_log: also write nvcc's and ptxas's report (resource usage per kernel, performance
    warnings) there, for ptxas_findings.
    """
    nvcc = find_nvcc()
    if nvcc is None:
        raise RuntimeError("nvcc was not found; install the CUDA toolkit or set CUDA_HOME")
    root = Path(__file__).resolve().parent.parent
    csrc = csrc or root / "csrc"
    out = out or Path(__file__).resolve().parent / "_lib" / LIB_NAME
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        tmp_out = Path(tmp) / LIB_NAME
        # --threads 0: one nvcc thread per target architecture (as many as there are cores), so a
        # four-architecture build takes about as long as its slowest architecture.
        cmd = [nvcc, "-O3", "-std=c++17", "-shared", "-Xcompiler", "-fPIC", "-lineinfo", "--threads", "0"]
        for arch in archs:
            cmd += _gencode(arch)
        if verbose or ptxas_log is not None:
            cmd += ["-Xptxas", "-v"]
        cmd += [str(csrc / s) for s in SOURCES] + ["-o", str(tmp_out)]
        if ptxas_log is None:
            subprocess.run(cmd, check=True)
        else:
            run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if verbose:
                print(run.stdout, end="")
            tmp_log = Path(tmp) / "ptxas.log"
            tmp_log.write_text(run.stdout)
            if run.returncode != 0:
                raise RuntimeError(f"nvcc failed (exit {run.returncode}):\n{run.stdout[-4000:]}")
            os.replace(tmp_log, ptxas_log)
        os.replace(tmp_out, out)
    return out


# ptxas's performance warning for warpgroup MMAs it had to serialize (C7510-C7520: operands
# defined inside the wgmma pipeline, register pressure, ...): each wgmma then waits for the one
# before it (the skinny-kernel wgmma experiment, serialized, ran 24-32% slower; KERNEL_NOTES.md).
_SERIALIZED = re.compile(r"\((C75\d\d)\) Potential Performance Loss: wgmma\.mma_async instructions are serialized"
                         r".*?function '(\S+)'")
_ENTRY = re.compile(r"Compiling entry function '(\S+)' for '(sm_\w+)'")
_SPILL = re.compile(r"(\d+) bytes spill stores, (\d+) bytes spill loads")


def ptxas_findings(log: str) -> list[str]:
    """What in a `-Xptxas -v` report would slow the Hopper path: a serialized wgmma anywhere, or
    a Hopper-path kernel (wgmma_gemm_kernel) that spills registers to local memory. Empty when
    there is nothing. (Some skinny and tiled variants spill a few bytes by design; not listed.)"""
    found = [f"{m.group(1)}: ptxas serialized the wgmmas of {m.group(2)}" for m in _SERIALIZED.finditer(log)]
    entry = None
    for line in log.splitlines():
        m = _ENTRY.search(line)
        if m:
            entry = m.group(1)
            continue
        m = _SPILL.search(line)
        if m and entry:  # the entry's own line comes first after it
            if "wgmma_gemm_kernel" in entry and (int(m.group(1)) or int(m.group(2))):
                found.append(f"{entry} spills {m.group(1)} bytes (stores), {m.group(2)} (loads)")
            entry = None
    return found

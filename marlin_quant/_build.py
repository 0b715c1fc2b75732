"""Compile csrc/ with nvcc into the kernel shared library (used by setup.py and scripts/)."""

from __future__ import annotations

import os
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
) -> Path:
    """Compile and write the library atomically (temp file, then rename). Raises on failure."""
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
        if verbose:
            cmd += ["-Xptxas", "-v"]
        cmd += [str(csrc / s) for s in SOURCES] + ["-o", str(tmp_out)]
        subprocess.run(cmd, check=True)
        os.replace(tmp_out, out)
    return out

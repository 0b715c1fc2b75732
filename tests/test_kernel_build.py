"""The kernel library's compile report: ptxas must not serialize the Hopper path's warpgroup MMAs
and its kernels must not spill (see marlin_quant/_build.py's ptxas_findings). Needs no GPU: ptxas
reports both when it compiles for sm_90a, which CI does."""

import pytest
from conftest import PTXAS_LOG

from marlin_quant import _build

# Excerpts of real -Xptxas -v reports (nvcc 13.0): a rejected experiment whose copies sat between
# a stripe's wgmmas, and a kernel's resource lines.
SERIALIZED = (
    "ptxas info    : (C7513) Potential Performance Loss: wgmma.mma_async instructions are serialized due "
    "to non wgmma instructions defining input registers of a wgmma between start and end of the "
    "pipeline stage in the function '_ZN2mq17wgmma_gemm_kernelILi64ELi2ELi6ELi2ELb0EEEvNS_8WgParamsE'\n"
)


def entry(name: str, spill_stores: int, spill_loads: int, arch: str = "sm_90a") -> str:
    return (
        f"ptxas info    : Compiling entry function '{name}' for '{arch}'\n"
        f"ptxas info    : Function properties for {name}\n"
        f"    0 bytes stack frame, {spill_stores} bytes spill stores, {spill_loads} bytes spill loads\n"
        "ptxas info    : Used 226 registers, used 1 barriers\n"
    )


HOPPER = "_ZN2mq17wgmma_gemm_kernelILi64ELi4ELi4ELi2ELb0EEEvNS_8WgParamsE"
SKINNY = "_ZN2mq18skinny_gemm_kernelILi8ELi2ELi8ELi128EEEvNS_8SkParamsE"


def test_findings_name_serialized_wgmmas_and_hopper_spills():
    assert _build.ptxas_findings(entry(HOPPER, 0, 0) + entry(SKINNY, 8, 8)) == []
    found = _build.ptxas_findings(SERIALIZED + entry(HOPPER, 16, 24))
    assert len(found) == 2
    assert found[0].startswith("C7513") and "ILi64ELi2ELi6ELi2ELb0" in found[0]
    assert HOPPER in found[1] and "16 bytes" in found[1]
    # A spill line belongs to the entry just compiled, not to a later one.
    assert _build.ptxas_findings(entry(SKINNY, 8, 8) + entry(HOPPER, 0, 0)) == []


def test_library_compiles_without_serialized_wgmmas_or_hopper_spills(kernel_library):
    log = kernel_library.parent / PTXAS_LOG
    if not log.exists():
        pytest.skip("the kernel library was reused, not compiled by this run (CI=1 compiles it)")
    text = log.read_text()
    assert "wgmma_gemm_kernel" in text, "the sm_90a Hopper path was not compiled"
    assert _build.ptxas_findings(text) == []

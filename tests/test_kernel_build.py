"""The kernel library's compile report and machine code: ptxas must not serialize the Hopper
path's warpgroup MMAs, its kernels must not spill, and its stage loop must not drain the tensor
pipe (marlin_quant/_build.py's ptxas_findings, marlin_quant/_sass.py's sass_findings) and must
keep the number of wgmma groups in flight that was measured fastest for its tile. Needs no
GPU: CI compiles the sm_90a image and reads it with cuobjdump (NVIDIA's cuobjdump and nvdisasm
wheels, in the test extras)."""

import re

import pytest
from conftest import PTXAS_LOG

from marlin_quant import _build, _sass

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


@pytest.fixture
def ptxas_log(kernel_library):
    """The ptxas report of the kernel library this run compiled (CI=1 compiles one)."""
    log = kernel_library.parent / PTXAS_LOG
    if not log.exists():
        pytest.skip("the kernel library was reused, not compiled by this run (CI=1 compiles it)")
    return log


def test_library_compiles_without_serialized_wgmmas_or_hopper_spills(ptxas_log):
    text = ptxas_log.read_text()
    assert "wgmma_gemm_kernel" in text, "the sm_90a Hopper path was not compiled"
    assert _build.ptxas_findings(text) == []


# A stage loop as cuobjdump prints it (addresses in hex; the branch closes the loop).
def sass_function(name: str, wait: str, local: bool = False, arch: str = "sm_90a") -> str:
    lines = [
        "0x0100 LDS.64 R96, [R118]",
        "0x0110 WARPGROUP.ARRIVE",
        "0x0120 HGMMA.64x64x16.F32 R24, R92, gdesc[UR24], R24",
        "0x0130 HGMMA.64x64x16.F32 R56, R96, gdesc[UR24], R56, gsb0",
        f"0x0140 WARPGROUP.DEPBAR.LE gsb0, {wait}",
        "0x0150 @!P0 BRA 0x100",
        "0x0160 STL [R1], R2" if local else "0x0160 EXIT",
    ]
    listing = [f"\tcode for {arch}", f"\t\tFunction : {name}"]
    for line in lines:
        address, text = line.split(" ", 1)
        listing.append(f"        /*{address[2:]}*/                   {text} ;")
    return "\n".join(listing) + "\n"


def test_sass_findings_name_drained_stages_and_local_memory():
    assert _sass.sass_findings(sass_function(HOPPER, "0x1")) == ([], 1)
    found, read = _sass.sass_findings(sass_function(HOPPER, "0x0") + sass_function(SKINNY, "0x0"))
    assert read == 1 and len(found) == 1 and "waits for every wgmma group" in found[0]
    found, _ = _sass.sass_findings(sass_function(HOPPER, "0x1", local=True))
    assert len(found) == 1 and "local-memory" in found[0]
    # Other architectures' images hold the Hopper kernel as an empty stub: not read.
    stub = "\tcode for sm_80\n\t\tFunction : " + HOPPER + "\n        /*0000*/                   EXIT ;\n"
    assert _sass.sass_findings(stub + sass_function(HOPPER, "0x1")) == ([], 1)


@pytest.fixture(scope="module")
def library_sass(kernel_library):
    cuobjdump = _sass.find_cuobjdump()
    if cuobjdump is None:
        pytest.skip("no cuobjdump with nvdisasm (pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm)")
    return _sass.disassemble(kernel_library, cuobjdump)


def test_library_stage_loops_keep_the_tensor_pipe_fed(library_sass, ptxas_log):
    found, read = _sass.sass_findings(library_sass)
    assert read >= 24, f"read {read} Hopper-path kernels; the sm_90a image has 24"
    assert found == []


# wgmma groups a stage loop leaves in flight, by tile height: measured on the H200
# (benchmarks/KERNEL_NOTES.md, fifteenth session): four on 64-token tiles made the 7B set at
# m = 33-64 2% faster, on 128-token tiles m = 256 3.5% slower. 32-token tiles were measured with
# four (sixteenth session), 16-token tiles too (twenty-first).
IN_FLIGHT = {16: 3, 32: 3, 64: 3, 128: 1}
# Tiles with group scales after the MMA (_sass.POST_KERNEL) wait for every group once a stage,
# after its first stripe's dequantization, to fold the stage's sums.


def test_library_stage_loops_keep_the_measured_wgmma_depth(library_sass):
    depth = {}
    for name, body in _sass.functions(library_sass, arch="sm_90a"):
        if "wgmma_gemm_kernel" in name:
            ntok = int(re.search(r"wgmma_gemm_kernelILi(\d+)E", name).group(1))
            stage = _sass.stage_loop(body)
            wanted = 0 if _sass.POST_KERNEL.search(name) else IN_FLIGHT[ntok]
            depth[name] = (wanted, stage and _sass.mma_groups_in_flight(stage))
    assert len(depth) >= 16
    assert sum(1 for name in depth if _sass.POST_KERNEL.search(name)) == 6, \
        "16 x 128, 16 x 256, 16 x 512, 32 x 128, 32 x 256 and 64 x 256 scale after the MMA"
    assert {n: d for n, d in depth.items() if d[0] != d[1]} == {}, "(wanted, found) groups in flight"


# Running copy pointers (csrc, wgmma_gemm_kernel: RUN): every Hopper tile but the 64 x 512 ones
# (at 255 registers they spilled with them) advances its copy pointers instead of multiplying the
# stage's row by the row strides again. What a stage loop keeps: the activations' row product in
# the branch that moves the loads to the next tile (3 instructions, a 64-bit product). Before them
# the 16 x 512 tile's loop held 30 (823 instructions a stage, 742 after; H100: the 70B set at
# m = 16 and 128 2-6% faster, benchmarks/KERNEL_NOTES.md, twenty-second session).
MAX_RUNTIME_PRODUCTS = 3


def test_library_stage_loops_advance_their_copy_pointers(library_sass):
    products = {}
    for name, body in _sass.functions(library_sass, arch="sm_90a"):
        if "wgmma_gemm_kernel" in name and not re.search(r"wgmma_gemm_kernelILi64ELi4E", name):
            products[name] = _sass.runtime_products(_sass.stage_loop(body) or [])
    assert len(products) >= 14
    assert {n: c for n, c in products.items() if c > MAX_RUNTIME_PRODUCTS} == {}, "multiplies by a row stride in the stage loop"


def test_runtime_products_count_multiplies_by_uniform_registers():
    stage = [(0, "@!P2 IMAD R81, R81, UR4, R57"), (16, "IMAD.WIDE.U32 R56, R59, UR8, R56"),
             (32, "IMAD.MOV.U32 R57, RZ, RZ, R209"), (48, "IMAD R60, R12.reuse, 0x8, R13"),
             (64, "IMAD.U32 R82, RZ, RZ, UR22"), (80, "IMAD R58, R59.reuse, UR9, R58")]
    assert _sass.runtime_products(stage) == 3


def test_groups_in_flight_is_the_loops_smallest_wait():
    stage = [(0, "WARPGROUP.DEPBAR.LE gsb0, 0x3"), (16, "HGMMA.64x64x16.F32 R24, gdesc[UR4], R24"),
             (32, "@P0 WARPGROUP.DEPBAR.LE gsb0, 0x1")]
    assert _sass.mma_groups_in_flight(stage) == 1
    assert _sass.mma_groups_in_flight(stage[1:2]) is None


def test_a_full_wait_is_allowed_once_a_stage_where_scales_follow_the_mma():
    def kernel(name, drains):
        lines = [f"        /*{16 * i:04x}*/                   WARPGROUP.DEPBAR.LE gsb0, 0x0 ;" for i in range(drains)]
        lines += [f"        /*{16 * drains:04x}*/                   HGMMA.64x32x16.F32 R24, gdesc[UR4], R24 ;",
                  f"        /*{16 * drains + 16:04x}*/                   @P0 BRA 0x0 ;"]
        return "\t\tFunction : " + name + "\n" + "\n".join(lines) + "\n"
    post = "_ZN2mq17wgmma_gemm_kernelILi64ELi2ELi6ELi2ELb0ELb1EEEvNS_8WgParamsE"
    pre = "_ZN2mq17wgmma_gemm_kernelILi64ELi2ELi6ELi2ELb0ELb0EEEvNS_8WgParamsE"
    sass = "\tcode for sm_90a\n" + kernel(post, 1) + kernel(pre, 0)
    assert _sass.sass_findings(sass) == ([], 2)
    found, read = _sass.sass_findings("\tcode for sm_90a\n" + kernel(post, 2) + kernel(pre, 1))
    assert read == 2 and found == [f"{post}: its stage loop waits for every wgmma group 2 times",
                                   f"{pre}: its stage loop waits for every wgmma group 1 times"]


def test_a_hopper_kernel_without_an_mma_loop_is_named():
    flat = "\tcode for sm_90a\n\t\tFunction : " + HOPPER + "\n        /*0000*/                   EXIT ;\n"
    found, read = _sass.sass_findings(flat)
    assert read == 1 and found == [f"{HOPPER}: no loop issues HGMMA"]


def test_failed_build_raises_with_the_compiler_output_and_writes_nothing(tmp_path):
    if _build.find_nvcc() is None:
        pytest.skip("needs nvcc")
    csrc = tmp_path / "csrc"
    csrc.mkdir()
    (csrc / _build.SOURCES[0]).write_text("this is not CUDA\n")
    out, log = tmp_path / "lib" / _build.LIB_NAME, tmp_path / "lib" / PTXAS_LOG
    with pytest.raises(RuntimeError, match="nvcc failed") as failure:
        _build.build_kernel_library(archs=("80",), out=out, csrc=csrc, ptxas_log=log)
    assert "error" in str(failure.value)  # the compiler's own message comes with it
    assert not out.exists() and not log.exists()
    assert list(out.parent.iterdir()) == []  # no temporary directory left either


def test_disassembling_a_file_that_is_not_a_library_raises(tmp_path):
    cuobjdump = _sass.find_cuobjdump()
    if cuobjdump is None:
        pytest.skip("no cuobjdump with nvdisasm")
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"not an ELF file")
    with pytest.raises(RuntimeError, match="cuobjdump -sass .*junk.so failed"):
        _sass.disassemble(junk, cuobjdump)

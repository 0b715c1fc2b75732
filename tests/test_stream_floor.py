"""scripts/stream_floor.cu's usage errors: checked before any CUDA call, so they run without a GPU
(the build needs nvcc, which CI has)."""

import subprocess
from pathlib import Path

import pytest

from marlin_quant import _build

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def floor_binary(tmp_path_factory):
    nvcc = _build.find_nvcc()
    if nvcc is None:
        pytest.skip("needs nvcc")
    out = tmp_path_factory.mktemp("floor") / "floor"
    subprocess.run([nvcc, "-O1", "-std=c++17", "-gencode", "arch=compute_80,code=sm_80",
                    str(ROOT / "scripts" / "stream_floor.cu"), "-o", str(out)], check=True)
    return out


@pytest.mark.parametrize("args", [["--per-sm"], ["--per-sm", "0"], ["--per-sm", "9", "8.4"], ["--per-sm", "x"]])
def test_per_sm_usage_errors(floor_binary, args):
    res = subprocess.run([str(floor_binary), *args], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "--per-sm takes 1 to 8 blocks per SM" in res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize("arg", ["abc", "4096x4096:3", "4096x100:4", "4096x4160:4", "4096x128:4", "128x4096:4",
                                 "4096x4096", "4096x4096:4z", "-1"])
def test_size_usage_errors(floor_binary, arg):
    res = subprocess.run([str(floor_binary), "--per-sm", "2", arg], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert f"bad size '{arg}'" in res.stderr
    assert res.stdout == ""


def test_contract_kernels_hold_two_blocks_per_sm():
    """The contract variant stands for the skinny kernel only while ptxas keeps its padding
    registers live across the wait: more than 96 a thread (three blocks of 256 threads, which
    need at most 85, do not fit an SM) and no spills (at most 128, the launch bounds)."""
    nvcc = _build.find_nvcc()
    if nvcc is None:
        pytest.skip("needs nvcc")
    res = subprocess.run([nvcc, "-O3", "-std=c++17", "-gencode", "arch=compute_90a,code=sm_90a", "-Xptxas", "-v",
                          "-c", str(ROOT / "scripts" / "stream_floor.cu"), "-o", "/dev/null"],
                         capture_output=True, text=True, check=True)
    lines = res.stderr.splitlines()
    counts = {}
    for i, line in enumerate(lines):
        if "Compiling entry function" in line and "contract_kernel" in line:
            used = next(x for x in lines[i + 1:i + 4] if "Used" in x)
            spill = next(x for x in lines[i + 1:i + 4] if "spill" in x)
            counts[line.split("'")[1]] = (int(used.split("Used ")[1].split()[0]), spill)
    assert len(counts) == 2, res.stderr
    for name, (regs, spill) in counts.items():
        assert 96 < regs <= 128, (name, regs)
        assert "0 bytes spill stores" in spill, (name, spill)

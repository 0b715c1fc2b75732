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

import pytest
import torch


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU and the built kernel library")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_collection_modifyitems(config, items):
    from marlin_quant import ops

    if ops.kernel_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (sm_80+) and the kernel library")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def gen():
    g = torch.Generator().manual_seed(1234)
    return g


# The ptxas report of the library kernel_library compiled, beside it (none when it reused one).
PTXAS_LOG = "ptxas.log"


@pytest.fixture(scope="session")
def kernel_library(tmp_path_factory):
    """A kernel library compiled now from csrc/ for sm_80 and sm_90a with nvcc (no GPU needed),
    so a kernel that stops compiling fails CI; outside CI an existing library is reused."""
    import os

    from marlin_quant import _build, ops

    path = ops.kernel_library_path()
    if path.exists() and not os.environ.get("CI"):
        return path
    if _build.find_nvcc() is None:
        pytest.skip("no kernel library and no nvcc to build one")
    out = tmp_path_factory.mktemp("kernel") / _build.LIB_NAME
    return _build.build_kernel_library(archs=("80", "90a"), out=out, ptxas_log=out.parent / PTXAS_LOG)

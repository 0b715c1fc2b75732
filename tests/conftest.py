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

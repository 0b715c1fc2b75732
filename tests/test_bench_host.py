"""scripts/bench_host.py says it needs a GPU instead of failing inside torch."""

import importlib.util
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def test_without_a_gpu_it_is_a_usage_error(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_host", ROOT / "scripts" / "bench_host.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert module.main(["--calls", "1"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err

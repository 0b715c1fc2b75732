"""scripts/bench_host.py says it needs a GPU instead of failing inside torch."""

import torch
from script_loader import load_script


def test_without_a_gpu_it_is_a_usage_error(capsys, monkeypatch):
    module = load_script("bench_host")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert module.main(["--calls", "1"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err

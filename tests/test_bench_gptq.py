"""scripts/bench_gptq.py runs end to end on a tiny shape on the CPU."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_script():
    spec = importlib.util.spec_from_file_location("bench_gptq", ROOT / "scripts" / "bench_gptq.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_tiny(tmp_path):
    out = tmp_path / "bench.json"
    bench = load_script()
    res = bench.main(["--layers", "2", "--hidden", "128", "--intermediate", "256", "--heads", "2",
                      "--vocab", "128", "--nsamples", "2", "--seqlen", "64", "--groupsize", "64",
                      "--device", "cpu", "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["total_seconds"] == res["total_seconds"] > 0
    assert len(data["per_layer"]) == 2
    assert set(data["per_part_seconds"]) == {"forward", "hessian", "solve", "clip"}
    assert all(0 < layer["rel_error"] < 0.1 for layer in data["per_layer"])
    assert "| clip |" in data["report"]

"""scripts/bench_gptq.py runs end to end on a tiny shape on the CPU."""

import json

from script_loader import load_script


def test_bench_tiny(tmp_path):
    out = tmp_path / "bench.json"
    bench = load_script("bench_gptq")
    res = bench.main(["--layers", "2", "--hidden", "128", "--intermediate", "256", "--heads", "2",
                      "--vocab", "128", "--nsamples", "2", "--seqlen", "64", "--groupsize", "64",
                      "--device", "cpu", "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["total_seconds"] == res["total_seconds"] > 0
    assert len(data["per_layer"]) == 2
    assert set(data["per_part_seconds"]) == {"forward", "hessian", "solve", "clip"}
    assert all(0 < layer["rel_error"] < 0.1 for layer in data["per_layer"])
    assert "| clip |" in data["report"]

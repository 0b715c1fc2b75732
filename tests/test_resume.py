"""`compress --resume`: a run stopped after some layers (SIGKILL, out of memory, Ctrl-C, a kill during
the final write) continues from its per-layer checkpoints and writes the same bytes as a run that
was never stopped."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from typer.testing import CliRunner

from marlin_quant import gptq
from marlin_quant.cli.app import app
from marlin_quant.formats import open_checkpoint
from marlin_quant.formats.io import atomic_directory, lock_directory, unlock_directory
from marlin_quant.resume import work_dir_for
from tiny_models import TEXT, save_full_precision

runner = CliRunner()
LAYERS = 4


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    save_full_precision(root / "fp", layers=LAYERS)
    (root / "docs").mkdir()
    for i in range(4):
        (root / "docs" / f"{i}.txt").write_text(TEXT[i * 40:] + TEXT)
    return root


def gptq_args(root):
    return ["--nsamples", "4", "--seqlen", "48", "--dataset", root / "docs", "--groupsize", "64", "--act-order",
            "--device", "cpu", "--max-shard-size", "32KB"]


RTN_ARGS = ["--method", "rtn", "--groupsize", "64", "--device", "cpu", "--max-shard-size", "32KB"]


@pytest.fixture(scope="module")
def baseline(root):
    """Uninterrupted runs: method -> sha256 of every file."""
    digests = {}
    for method, args in (("gptq", gptq_args(root)), ("rtn", RTN_ARGS)):
        out = root / f"baseline-{method}"
        result = invoke("compress", root / "fp", *args, "--out", out)
        assert result.exit_code == 0, result.output
        digests[method] = digest(out)
    return digests


def finished_layers(work):
    return len(list(work.glob("layer-*.json")))


def _cli(*args):
    return [sys.executable, "-c", "from marlin_quant.cli.app import main; main()", *[str(a) for a in args]]


def test_sigkilled_gptq_run_resumes_byte_identical(root, baseline, tmp_path):
    out = tmp_path / "out"
    work = work_dir_for(out)
    proc = subprocess.Popen(_cli("compress", root / "fp", *gptq_args(root), "--out", out),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while finished_layers(work) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    done = finished_layers(work)
    assert 2 <= done < LAYERS and not out.exists()

    # Without --resume the checkpoints are named, not silently redone or piled up.
    again = invoke("compress", root / "fp", *gptq_args(root), "--out", out)
    assert again.exit_code == 1 and "--resume" in again.output and f"after {done} of {LAYERS}" in again.output
    assert "Traceback" not in again.output

    resumed = subprocess.run(_cli("compress", root / "fp", *gptq_args(root), "--out", out, "--resume"),
                             capture_output=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert f"after {done} of {LAYERS}" in resumed.stderr.decode()
    assert digest(out) == baseline["gptq"]
    assert not work.exists()


def _oom_at(monkeypatch, layer: int, calls: list):
    real = gptq.gptq_quantize

    def fake(*args, name="", **kwargs):
        calls.append(name)
        if name.startswith(f"model.layers.{layer}.mlp.gate_proj"):
            raise torch.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB of which "
                "1.06 GiB is free. Including non-PyTorch memory, this process has 78.12 GiB memory in use.")
        return real(*args, name=name, **kwargs)

    monkeypatch.setattr(gptq, "gptq_quantize", fake)


def test_out_of_memory_names_the_layer_and_resume_continues(root, baseline, tmp_path, monkeypatch):
    out = tmp_path / "out"
    calls: list = []
    _oom_at(monkeypatch, 2, calls)
    result = invoke("compress", root / "fp", *gptq_args(root), "--out", out)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "model.layers.2.mlp.gate_proj" in text and "ran out of memory" in text
    assert "tried to allocate 2.00 GiB" in text and "1.06 GiB was free" in text
    assert "--nsamples" in text and "--resume" in text and "model.layers.2 (of 4)" in text
    assert "Traceback" not in result.output and not out.exists()
    assert finished_layers(work_dir_for(out)) == 2

    monkeypatch.undo()
    calls.clear()
    real = gptq.gptq_quantize
    monkeypatch.setattr(gptq, "gptq_quantize", lambda *a, **k: calls.append(k["name"]) or real(*a, **k))
    result = invoke("compress", root / "fp", *gptq_args(root), "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    assert calls and all(c.startswith(("model.layers.2.", "model.layers.3.")) for c in calls)  # 0 and 1 restored
    assert digest(out) == baseline["gptq"]


def test_out_of_memory_on_the_gpu_says_how_to_get_on():
    from marlin_quant import pipeline

    exc = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 512.00 MiB. GPU 0 has a total capacity "
                                 "of 79.19 GiB of which 100.00 MiB is free.")
    err = pipeline._out_of_memory(exc, "model.layers.17.mlp.down_proj (GPTQ solve)", 17, torch.device("cuda:0"))
    text = str(err)
    assert text.startswith("model.layers.17.mlp.down_proj (GPTQ solve): the GPU ran out of memory")
    assert "512.00 MiB" in text and "100.00 MiB was free" in text and "--device cpu" in text
    assert err.layer_index == 17


def test_resume_refuses_other_settings_and_overwrite_starts_over(root, baseline, tmp_path, monkeypatch):
    out = tmp_path / "out"
    work = work_dir_for(out)
    _oom_at(monkeypatch, 1, [])
    assert invoke("compress", root / "fp", *gptq_args(root), "--out", out).exit_code == 1
    monkeypatch.undo()
    assert finished_layers(work) == 1

    other = invoke("compress", root / "fp", *gptq_args(root), "--seed", "1", "--out", out, "--resume")
    text = " ".join(other.output.split())
    assert other.exit_code == 1 and "seed: 0 -> 1" in text and "--overwrite" in text
    assert finished_layers(work) == 1  # refusing keeps the interrupted run's checkpoints

    fresh = invoke("compress", root / "fp", *gptq_args(root), "--out", out, "--overwrite")
    assert fresh.exit_code == 0, fresh.output
    assert "discarding" in fresh.output and not work.exists()
    assert digest(out) == baseline["gptq"]


def test_interrupted_rtn_run_resumes_byte_identical(root, baseline, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = gptq.rtn_quantize

    def interrupt(weight, groupsize, name=""):
        if name.startswith("model.layers.3."):
            raise KeyboardInterrupt
        return real(weight, groupsize, name=name)

    monkeypatch.setattr(gptq, "rtn_quantize", interrupt)
    result = invoke("compress", root / "fp", *RTN_ARGS, "--out", out)
    assert result.exit_code == 130 and "--resume" in result.output
    monkeypatch.undo()
    assert finished_layers(work_dir_for(out)) == 3
    result = invoke("compress", root / "fp", *RTN_ARGS, "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    assert digest(out) == baseline["rtn"]


def test_an_interrupt_while_the_work_directory_opens_leaves_nothing_new(root, baseline, tmp_path, monkeypatch):
    """Ctrl-C after the work directory is created but before the run holds it (a race a SIGINT
    test hit under load): a directory this run created goes; an interrupted run's layers stay,
    and the lock is released either way."""
    from marlin_quant import resume

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "out"
    work = work_dir_for(out)
    monkeypatch.setattr(resume, "_open_locked", interrupt)
    result = invoke("compress", root / "fp", *RTN_ARGS, "--out", out)
    assert result.exit_code == 130, result.output
    assert not work.exists() and not out.exists()

    real = gptq.rtn_quantize

    def interrupt_layer_2(weight, groupsize, name=""):
        if name.startswith("model.layers.2."):
            raise KeyboardInterrupt
        return real(weight, groupsize, name=name)

    monkeypatch.undo()
    monkeypatch.setattr(gptq, "rtn_quantize", interrupt_layer_2)
    assert invoke("compress", root / "fp", *RTN_ARGS, "--out", out).exit_code == 130
    monkeypatch.undo()
    assert finished_layers(work) == 2
    monkeypatch.setattr(resume, "_open_locked", interrupt)
    assert invoke("compress", root / "fp", *RTN_ARGS, "--out", out, "--resume").exit_code == 130
    monkeypatch.undo()
    assert finished_layers(work) == 2
    result = invoke("compress", root / "fp", *RTN_ARGS, "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    assert digest(out) == baseline["rtn"] and not work.exists()


def test_sigkill_during_the_final_write_leaves_a_resumable_run(root, baseline, tmp_path):
    out = tmp_path / "out"
    # A real SIGKILL at a chosen moment: when the first shard of the output has been written.
    script = ("import os, signal\n"
              "from marlin_quant.formats import io\n"
              "def die(self): os.kill(os.getpid(), signal.SIGKILL)\n"
              "io.ShardWriter.close = die\n"
              "from marlin_quant.cli.app import main; main()\n")
    args = ["compress", root / "fp", *RTN_ARGS, "--out", out]
    killed = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    work = work_dir_for(out)
    assert not out.exists() and finished_layers(work) == LAYERS
    assert any((work / "output").iterdir())  # the half-written output

    result = invoke(*args, "--resume")
    assert result.exit_code == 0, result.output
    assert digest(out) == baseline["rtn"] and not work.exists()
    open_checkpoint(out)


def test_a_second_run_for_the_same_target_is_refused_while_the_first_runs(root, tmp_path):
    out = tmp_path / "out"
    work = work_dir_for(out)
    work.mkdir()
    fd = lock_directory(work)  # what a running compress holds
    try:
        result = invoke("compress", root / "fp", *RTN_ARGS, "--out", out)
        assert result.exit_code == 1 and "another marlin-quant compress" in result.output
    finally:
        unlock_directory(fd)
    assert invoke("compress", root / "fp", *RTN_ARGS, "--out", out).exit_code == 0


def test_atomic_directory_removes_temporary_dirs_of_killed_writers(tmp_path):
    stale = tmp_path / ".out.0123abcd.partial"
    live = tmp_path / ".out.89abcdef.partial"
    other = tmp_path / ".other.0123abcd.partial"
    for d in (stale, live, other):
        d.mkdir()
        (d / "model.safetensors").write_bytes(b"half")
    fd = lock_directory(live)  # a writer still at work
    try:
        with atomic_directory(tmp_path / "out") as tmp:
            (tmp / "f").write_text("x")
    finally:
        unlock_directory(fd)
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "out" / "f").read_text() == "x"


def test_checkpoints_hold_the_fingerprint_not_the_device(root, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _oom_at(monkeypatch, 1, [])
    invoke("compress", root / "fp", *gptq_args(root), "--out", out)
    state = json.loads((work_dir_for(out) / "resume.json").read_text())
    fp = state["fingerprint"]
    assert set(fp) == {"tool_version", "source", "config", "calibration"} and state["layers"] == LAYERS
    assert fp["config"]["seed"] == 0 and "model.safetensors" in fp["source"]
    assert "device" not in json.dumps(fp)
    assert os.path.exists(work_dir_for(out) / "outputs-00000.safetensors")


@pytest.mark.gpu
def test_real_cuda_out_of_memory_then_resume_on_the_gpu(root, tmp_path, monkeypatch):
    """A real cudaMalloc failure in layer 2's solve (not a raised stand-in): the message names the
    layer and the sizes the CUDA allocator reported; after the memory is back, --resume on the
    GPU writes the same bytes as a GPU run that never stopped."""
    args = [a if a != "cpu" else "cuda" for a in gptq_args(root)]
    base = tmp_path / "base"
    result = invoke("compress", root / "fp", *args, "--out", base)
    assert result.exit_code == 0, result.output

    out = tmp_path / "out"
    real = gptq.gptq_quantize

    def hog(*a, name="", **k):
        if name.startswith("model.layers.2.mlp.gate_proj"):
            total = torch.cuda.get_device_properties(0).total_memory
            torch.empty(2 * total, dtype=torch.uint8, device="cuda")  # more than the card has
        return real(*a, name=name, **k)

    monkeypatch.setattr(gptq, "gptq_quantize", hog)
    result = invoke("compress", root / "fp", *args, "--out", out)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "model.layers.2.mlp.gate_proj" in text and "GPU ran out of memory" in text, text
    assert "tried to allocate" in text and "--resume" in text and "--device cpu" in text, text
    assert "Traceback" not in result.output and not out.exists()
    assert finished_layers(work_dir_for(out)) == 2

    monkeypatch.undo()
    result = invoke("compress", root / "fp", *args, "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    assert digest(out) == digest(base)

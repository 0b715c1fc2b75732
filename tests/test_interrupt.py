"""Killing `marlin-quant compress` at any moment never leaves a directory that looks complete, and
what it leaves behind (its hidden work directory) is resumable or removed by the next run."""

import signal
import subprocess
import sys
import time

import pytest

from typer.testing import CliRunner

from marlin_quant.cli.app import app
from marlin_quant.formats import open_checkpoint
from tiny_models import save_full_precision

ARGS = ["--method", "rtn", "--groupsize", "64", "--device", "cpu", "--max-shard-size", "32KB"]


@pytest.fixture(scope="module")
def fp_dir(tmp_path_factory):
    return save_full_precision(tmp_path_factory.mktemp("kill") / "fp", layers=4)


# Python leaves SIGINT ignored when it starts with it ignored, as every command a non-interactive
# shell starts in the background (`... &`) does; the child then runs through its "Ctrl-C". The test
# is about a user's Ctrl-C, so the child restores Python's own handler first.
_CHILD = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
          "from marlin_quant.cli.app import main; main()")


def _start(fp_dir, out):
    cmd = [sys.executable, "-c", _CHILD, "compress", str(fp_dir), *ARGS, "--out", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def baseline_seconds(fp_dir, tmp_path_factory) -> float:
    """How long an uninterrupted run takes (and that it succeeds)."""
    out = tmp_path_factory.mktemp("full") / "full"
    t0 = time.perf_counter()
    proc = _start(fp_dir, out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    open_checkpoint(out)
    return time.perf_counter() - t0


def _wait_for_work_dir(work, proc, timeout: float = 120.0) -> None:
    t0 = time.perf_counter()
    while not work.exists() and proc.poll() is None and time.perf_counter() - t0 < timeout:
        time.sleep(0.002)


# A moment is a fraction of an uninterrupted run's time, or None: as soon as the run's hidden work
# directory appears, so that one kill lands before the run can finish whatever the machine's
# load (a baseline timed on a busy machine can let every later run finish before its signal).
@pytest.mark.parametrize("sig, moments", [(signal.SIGKILL, (None, 0.5, 0.9, 0.97)), (signal.SIGINT, (None, 0.6, 0.95))])
def test_killed_compress_leaves_nothing_that_looks_complete(fp_dir, baseline_seconds, tmp_path, sig, moments):
    total = baseline_seconds
    outcomes = set()
    for i, frac in enumerate(moments):
        out = tmp_path / f"o{i}"
        proc = _start(fp_dir, out)
        if frac is None:
            _wait_for_work_dir(tmp_path / f".o{i}.partial", proc)
            assert proc.poll() is None, "the run finished before its work directory was seen"
        else:
            time.sleep(total * frac)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
        if out.exists():
            open_checkpoint(out)  # complete and valid, or not there at all
            outcomes.add("complete")
        else:
            outcomes.add("absent")
            if sig == signal.SIGINT and proc.returncode != 0:
                assert proc.returncode == 130, err.decode()
                assert b"Traceback" not in err
        visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
        assert all(name.startswith("o") for name in visible)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".") and p.name.endswith(".partial")]
    if sig == signal.SIGINT:
        # An interrupt removes its work directory unless it holds finished layers to resume from.
        assert all(list(p.glob("layer-*.json")) for p in leftovers)
    assert "absent" in outcomes
    for work in leftovers:  # whatever a kill left behind, the next run for that target resumes or cleans it
        out = tmp_path / work.name[1:-len(".partial")]
        if out.exists():
            continue  # killed between the final rename and the removal of its work directory
        result = CliRunner().invoke(app, ["compress", str(fp_dir), *ARGS, "--out", str(out), "--resume"])
        assert result.exit_code == 0, result.output
        open_checkpoint(out)
        assert not work.exists()

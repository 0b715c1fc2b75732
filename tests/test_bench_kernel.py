"""scripts/bench_kernel.py rejects a layer set the group size cannot quantize before it needs a GPU."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_script():
    spec = importlib.util.spec_from_file_location("bench_kernel", ROOT / "scripts" / "bench_kernel.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_kernel", module)  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_groupsize_that_does_not_divide_a_layer_is_a_usage_error(capsys):
    bench = load_script()
    with pytest.raises(SystemExit) as exc:
        bench.main(["--sets", "smollm2-135m"])  # k = 576 is not a multiple of 128
    assert exc.value.code == 2
    assert "k=576, not divisible by --groupsize 128; use --groupsize 64" in capsys.readouterr().err


def test_kernel_and_fp16_take_turns(monkeypatch):
    """time_pair alternates which graph runs first each round and reports each one's median."""
    bench = load_script()
    calls = []

    def fake_timer(fns):
        tag = fns[0]
        times = iter({"q": [3.0, 1.0, 2.0], "f": [5.0, 9.0, 4.0]}[tag])

        def timed():
            calls.append(tag)
            return next(times)

        return timed

    monkeypatch.setattr(bench, "graph_timer", fake_timer)
    assert bench.time_pair(["q"], ["f"]) == (2.0, 5.0)
    assert calls == ["q", "f", "f", "q", "q", "f"]

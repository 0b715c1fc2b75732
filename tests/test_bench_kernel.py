"""scripts/bench_kernel.py rejects a layer set the group size cannot quantize before it needs a GPU."""

import pytest
from script_loader import load_script


def test_groupsize_that_does_not_divide_a_layer_is_a_usage_error(capsys):
    bench = load_script("bench_kernel")
    with pytest.raises(SystemExit) as exc:
        bench.main(["--sets", "smollm2-135m"])  # k = 576 is not a multiple of 128
    assert exc.value.code == 2
    assert "k=576, not divisible by --groupsize 128; use --groupsize 64" in capsys.readouterr().err


def test_kernel_and_fp16_take_turns(monkeypatch):
    """time_pair alternates which graph runs first each round and reports each one's median."""
    bench = load_script("bench_kernel")
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


def test_layer_sets_are_kernel_shapes():
    """Every benchmark layer is (k, n) with both multiples of 64 (the kernel's contract); every set
    but SmolLM2's (k = 576, 1536) runs at the default group size 128."""
    bench = load_script("bench_kernel")
    assert {"llama2-7b", "llama2-70b", "llama3.2-3b", "llama3-8b", "qwen2-7b"} <= set(bench.LAYER_SETS)
    for name, layers in bench.LAYER_SETS.items():
        assert len(layers) == 4, name
        for k, n in layers:
            assert k % 64 == 0 and n % 64 == 0, (name, k, n)
            assert k % 128 == 0 or name == "smollm2-135m", (name, k, n)

"""The README's fresh-machine commands are the ones CI runs, and its speed tables are the committed
benchmark files."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## On a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_ci_runs_the_readme_test_command():
    commands = readme_commands()
    assert len(commands) == 2, "the README shows two commands: the main job and the tests"
    test_cmd = commands[1].strip()
    assert "pytest" in test_cmd
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci.splitlines()


def test_main_job_runs_compress_on_defaults():
    main_cmd = readme_commands()[0].strip()
    assert main_cmd.endswith("marlin-quant compress")


def _table_rows(header: str) -> list[tuple[str, ...]]:
    """The set-total rows of the README table that follows HEADER: (model, m, kernel us, fp16 us,
    speedup, bandwidth fraction) as printed."""
    section = (ROOT / "README.md").read_text().split(header, 1)[1].split("\n\n|", 1)[1].split("\n\n", 1)[0]
    pattern = r"^\| (\S+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| \**([\d.]+)x\** \| [\d.]+x \| ([\d.]+) \|"
    return re.findall(pattern, "|" + section, flags=re.M)


def _json_rows(name: str) -> list[tuple[str, ...]]:
    import json

    rows = json.loads((ROOT / "benchmarks" / name).read_text())["rows"]
    return [(r["model"], str(r["m"]), f"{r['kernel_us']:.1f}", f"{r['fp16_us']:.1f}", f"{r['speedup']:.2f}",
             f"{r['bw_frac']:.2f}") for r in rows]


def test_speed_tables_are_the_benchmark_files():
    """The README's H100 and H200 tables print the committed benchmark JSONs, row for row (the
    tables are rewritten by hand when a benchmark reruns)."""
    for header, name in (("**On the H100, where the targets were set.**", "h100.json"),
                         ("**The benchmark on the H200.**", "h200.json")):
        assert _table_rows(header) == _json_rows(name), name


def test_llama3_qwen2_table_is_the_benchmark_file():
    """The README's Llama-3-8B / Qwen2-7B table prints benchmarks/h100-llama3-qwen2.json."""
    text = (ROOT / "README.md").read_text().split("**Llama-3-8B and Qwen2-7B (`benchmarks/h100-llama3-qwen2.json`", 1)[1]
    printed = {}
    for model, cells in re.findall(r"^\| (\S+), kernel us \(speedup\) \|(.+)\|$", text, flags=re.M)[:2]:
        printed[model] = re.findall(r"([\d.]+) \(([\d.]+)x\)", cells)
    expected = {}
    for model, m, us, _, speedup, _ in _json_rows("h100-llama3-qwen2.json"):
        expected.setdefault(model, []).append((us, speedup))
    assert printed == expected

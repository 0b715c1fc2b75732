"""scripts/racecheck_summary.py: only the DSMEM hand-over store's reports are set aside."""

import sys

import pytest
from script_loader import load_script


def report(first: int, *others: int) -> str:
    lines = [f"========= Error: Race reported between Write access at mq::cp_async16_s(unsigned int, const void *, bool)"
             f"+0x34c0 in marlin_kernel.cu:{first}"]
    lines += [f"=========     and Write access at mq::st_dsmem_v4(unsigned int)+0x9660 in marlin_kernel.cu:{o} [17920 hazards]"
              for o in others]
    return "\n".join(lines) + "\n========= \n"


def run(tmp_path, text: str, capsys, monkeypatch) -> tuple[int, str]:
    mod = load_script("racecheck_summary")
    log = tmp_path / "racecheck.log"
    log.write_text(text)
    monkeypatch.setattr(sys, "argv", ["racecheck_summary.py", str(log)])
    code = mod.main()
    return code, capsys.readouterr().out


def test_dsmem_store_reports_are_set_aside_and_others_fail(tmp_path, capsys, monkeypatch):
    mod = load_script("racecheck_summary")
    dsmem = min(mod.dsmem_store_lines())
    head = "========= COMPUTE-SANITIZER\n..."
    tail = ".\n9 passed\n========= RACECHECK SUMMARY: 2 hazards displayed (2 errors, 0 warnings)\n"
    code, out = run(tmp_path, head + report(97, dsmem) + report(97, dsmem, dsmem) + tail, capsys, monkeypatch)
    assert code == 0 and "0 hazard reports, 2 more on the DSMEM" in out
    # A race between two ordinary shared-memory accesses counts, DSMEM reports beside it or not.
    code, out = run(tmp_path, head + report(97, dsmem) + report(97, 1234) + tail, capsys, monkeypatch)
    assert code == 1 and "1 hazard reports, 1 more" in out


def test_a_log_without_a_summary_fails(tmp_path, capsys, monkeypatch):
    code, out = run(tmp_path, "========= COMPUTE-SANITIZER\nTraceback (most recent call last):\n", capsys, monkeypatch)
    assert code == 1 and "no RACECHECK SUMMARY" in out


def test_wrong_arguments_print_the_usage(monkeypatch, capsys):
    mod = load_script("racecheck_summary")
    monkeypatch.setattr(sys, "argv", ["racecheck_summary.py"])
    assert mod.main() == 2
    assert "racecheck_summary.py racecheck.log" in capsys.readouterr().err


def test_a_kernel_without_the_dsmem_store_is_an_error(tmp_path, monkeypatch):
    """If the hand-over store moves out of the kernel file, the filter must not silently count
    every report as a real one or none: it stops and says what to update."""
    mod = load_script("racecheck_summary")
    kernel = tmp_path / "marlin_kernel.cu"
    kernel.write_text("__global__ void k() {}\n")
    monkeypatch.setattr(mod, "KERNEL", kernel)
    with pytest.raises(SystemExit, match="no st.shared::cluster store in .*update racecheck_summary.py"):
        mod.dsmem_store_lines()

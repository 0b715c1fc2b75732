"""scripts/racecheck_summary.py: only the DSMEM hand-over store's reports are set aside."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_script():
    spec = importlib.util.spec_from_file_location("racecheck_summary", ROOT / "scripts" / "racecheck_summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report(first: int, *others: int) -> str:
    lines = [f"========= Error: Race reported between Write access at mq::cp_async16_s(unsigned int, const void *, bool)"
             f"+0x34c0 in marlin_kernel.cu:{first}"]
    lines += [f"=========     and Write access at mq::st_dsmem_v4(unsigned int)+0x9660 in marlin_kernel.cu:{o} [17920 hazards]"
              for o in others]
    return "\n".join(lines) + "\n========= \n"


def run(tmp_path, text: str, capsys) -> tuple[int, str]:
    mod = load_script()
    log = tmp_path / "racecheck.log"
    log.write_text(text)
    mod.sys.argv = ["racecheck_summary.py", str(log)]
    code = mod.main()
    return code, capsys.readouterr().out


def test_dsmem_store_reports_are_set_aside_and_others_fail(tmp_path, capsys):
    mod = load_script()
    dsmem = min(mod.dsmem_store_lines())
    head = "========= COMPUTE-SANITIZER\n..."
    tail = ".\n9 passed\n========= RACECHECK SUMMARY: 2 hazards displayed (2 errors, 0 warnings)\n"
    code, out = run(tmp_path, head + report(97, dsmem) + report(97, dsmem, dsmem) + tail, capsys)
    assert code == 0 and "0 hazard reports, 2 more on the DSMEM" in out
    # A race between two ordinary shared-memory accesses counts, DSMEM reports beside it or not.
    code, out = run(tmp_path, head + report(97, dsmem) + report(97, 1234) + tail, capsys)
    assert code == 1 and "1 hazard reports, 1 more" in out


def test_a_log_without_a_summary_fails(tmp_path, capsys):
    code, out = run(tmp_path, "========= COMPUTE-SANITIZER\nTraceback (most recent call last):\n", capsys)
    assert code == 1 and "no RACECHECK SUMMARY" in out

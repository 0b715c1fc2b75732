"""The README's fresh-machine commands are the ones CI runs."""

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

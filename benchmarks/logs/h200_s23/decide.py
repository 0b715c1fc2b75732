"""Which two-token-group variant (if any) to ship, from the logs of `next_calls.sh tb2 tb2` and
`next_calls.sh tb2 tb2r` (one device call, `call.sh`, unpacked into DIR).

    python benchmarks/logs/h200_s23/decide.py [--sweeps-only] DIR

A variant qualifies only if its forced GPU tests passed (gpu_tests_V.log: "N passed", nothing
failed) and no sweep output was wrong or refused. Its sweep ran `off,sk=16,sk=16:2:4,off,sk=16`
in one process: the tiled kernel ("off") and the skinny kernel with the planner's chunks
("sk=16") twice each, alternating, so each set is judged by the mean of the two skinny totals
over the mean of the two tiled ones, within that process. A variant wins where that ratio is
below 0.98 on both sets; of two winners, the lower sum of ratios. Per layer, the table shows
where the skinny kernel loses and whether four chunks everywhere (sk=16:2:4) beat the
planner's chunks (a planner rule to consider, not shipped by the patch).

--sweeps-only (next_calls.sh `auto`, for a session with time for one device call) judges on the
sweeps alone: the forced tests were not run, and gpu_checks.sh on the winner's candidate release,
run next in the same call, tests it instead (its GPU file sweeps m = 1-16 on the shipped planner).

The last line is "winner: tb2", "winner: tb2r" or "winner: none"; next_calls.sh `ship V` then
runs gpu_checks.sh on .dev/ship_V.so (h200_s23/ship_V.patch, built by address_math/build_variants.sh).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

LAYER = re.compile(r"^(\S+) (\d+x\d+) m=(\d+): fp16 +([\d.]+) \| (.*)$")
TOTAL = re.compile(r"^(llama\S+) +m=(\d+) +fp16 +([\d.]+) \| (.*)$")
CELL = re.compile(r"^(\S+) +([\d.]+)")


def columns(rest: str) -> list[tuple[str, float | None]]:
    out = []
    for cell in rest.split(" | "):
        match = CELL.match(cell.strip())
        out.append((cell.split()[0], float(match.group(2)) if match else None))
    return out


def mean(cols: list[tuple[str, float | None]], name: str) -> float | None:
    vals = [v for n, v in cols if n == name and v is not None]
    return sum(vals) / len(vals) if vals else None


def tests_passed(log: Path) -> tuple[bool, str]:
    if not log.exists():
        return False, f"{log.name} missing"
    last = log.read_text().strip().splitlines()[-1:] or [""]
    ok = "passed" in last[0] and not re.search(r"\b(failed|error)", last[0])
    return ok, last[0]


def judge(variant: str, root: Path, sweeps_only: bool = False) -> tuple[float | None, list[str]]:
    notes = []
    sweeps = sorted(root.rglob(f"sweep_{variant}.log"))
    if sweeps_only:
        ok, tail = True, "not run (--sweeps-only: the candidate release's gpu_checks.sh tests it)"
    else:
        tests = sorted(root.rglob(f"gpu_tests_{variant}.log"))
        ok, tail = tests_passed(tests[0] if tests else root / f"gpu_tests_{variant}.log")
    notes.append(f"{variant}: forced GPU tests: {tail}")
    if not sweeps:
        return None, notes + [f"{variant}: no sweep log"]
    text = sweeps[0].read_text().splitlines()
    bad = [line for line in text if "WRONG" in line or " n/a " in line]
    for line in bad:
        notes.append(f"{variant}: bad output: {line[:160]}")
    for line in text:
        match = LAYER.match(line)
        if not match:
            continue
        cols = columns(match.group(5))
        off, sk, sk4 = mean(cols, "off"), mean(cols, "sk=16"), mean(cols, "sk=16:2:4")
        if off and sk:
            flag = "  skinny loses" if sk >= off else ""
            four = f", four chunks {sk4:6.1f}" + (" (faster)" if sk4 and sk4 < 0.98 * sk else "") if sk4 else ""
            notes.append(f"{variant}: {match.group(1)} {match.group(2)} m={match.group(3)}: tiled {off:6.1f}, "
                         f"skinny {sk:6.1f}{four}{flag}")
    ratios = {}
    for line in text:
        match = TOTAL.match(line)
        if not match:
            continue
        cols = columns(match.group(4))
        off, sk = mean(cols, "off"), mean(cols, "sk=16")
        if off and sk:
            ratios[(match.group(1), match.group(2))] = sk / off
            notes.append(f"{variant}: total {match.group(1)} m={match.group(2)}: tiled {off:6.1f}, skinny {sk:6.1f} "
                         f"({sk / off:.3f} of tiled; fp16 {float(match.group(3)):6.1f})")
    sets = {name for name, _ in ratios}
    if not ok or bad or len(sets) < 2:
        return None, notes + [f"{variant}: does not qualify"]
    if max(ratios.values()) >= 0.98:
        return None, notes + [f"{variant}: not faster by 2% on every set"]
    return sum(ratios.values()), notes


def main() -> int:
    args = sys.argv[1:]
    sweeps_only = "--sweeps-only" in args
    args = [a for a in args if a != "--sweeps-only"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(args[0])
    scores = {}
    for variant in ("tb2", "tb2r"):
        score, notes = judge(variant, root, sweeps_only)
        print("\n".join(notes))
        if score is not None:
            scores[variant] = score
    print(f"winner: {min(scores, key=scores.get) if scores else 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

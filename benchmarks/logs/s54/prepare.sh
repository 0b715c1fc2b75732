#!/bin/bash
# The libraries s54/call.sh carries, built on the workstation (~8 min where none exists):
#   .dev/headx52_exp.so  4fd17c0's csrc with -DMQ_EXPERIMENT (sweep_wgmma.py's forced tiles)
#   .dev/head54_pip.so   `pip install -e .` of 44bef30, the release before this one (the A/B
#                        baseline of `ab` / `two`), built in a temporary worktree
#   marlin_quant/_lib    `pip install -e .` of this tree (the release: `ab` / `two` time it as "pip")
# The candidate the session timed (cand.patch, on 44bef30) is this release plus groups of 64 / 32
# past m = 256; to rebuild it: `git worktree add /tmp/c 44bef30 && cd /tmp/c && git apply
# $OLDPWD/benchmarks/logs/s54/cand.patch && pip install -e .`, copy its library, then
# `pip install -e .` here again (the editable install follows the last tree installed).
# Needs the venv active and nvcc on PATH.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
lib=marlin_quant/_lib/libmarlin_quant_kernels.so
mkdir -p .dev
[ -f .dev/headx52_exp.so ] || DEFS=-DMQ_EXPERIMENT BASE=4fd17c0 bash benchmarks/logs/s44/build.sh headx52_exp
if [ ! -f .dev/head54_pip.so ]; then
  wt=$(mktemp -d)
  git worktree add -q "$wt" 44bef30
  (cd "$wt" && pip install -q -e ".[test]" --no-build-isolation && cp "$lib" "$root/.dev/head54_pip.so")
  git worktree remove --force "$wt"
fi
pip install -q -e ".[test]" --no-build-isolation
python benchmarks/logs/s54/plan_diff.py .dev/head54_pip.so "$lib" | diff - benchmarks/logs/s54/plan_diff_ship.txt \
  && echo "built: the release's plans differ from 44bef30's as plan_diff_ship.txt says"

#!/bin/bash
# The libraries s55/call.sh carries, built on the workstation (~8 min where none exists):
#   .dev/head55_pip.so   `pip install -e .` of d2ecae6, the release before this one (the A/B
#                        baseline of `ship` / `ab2`), built in a temporary worktree
#   marlin_quant/_lib    `pip install -e .` of this tree (the release: `ship` / `ab2` time it as "pip")
# Needs the venv active and nvcc on PATH. Ends by checking the plans against plan_rule.txt.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
lib=marlin_quant/_lib/libmarlin_quant_kernels.so
mkdir -p .dev
if [ ! -f .dev/head55_pip.so ]; then
  wt=$(mktemp -d)
  git worktree add -q "$wt" d2ecae6
  (cd "$wt" && pip install -q -e ".[test]" --no-build-isolation && cp "$lib" "$root/.dev/head55_pip.so")
  git worktree remove --force "$wt"
fi
pip install -q -e ".[test]" --no-build-isolation
python benchmarks/logs/s55/plan_rule.py .dev/head55_pip.so "$lib" | diff - benchmarks/logs/s55/plan_rule.txt \
  && echo "built: the release's plans differ from d2ecae6's as plan_rule.txt says"

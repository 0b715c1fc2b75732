#!/bin/bash
# The libraries s54/call.sh cand and ab carry, built on the workstation (~10 min where none exists):
#   .dev/headx52_exp.so  4fd17c0's csrc with -DMQ_EXPERIMENT (sweep_wgmma.py's forced tiles)
#   .dev/head54_pip.so   `pip install -e .` of the tree as committed (the release; the A/B baseline)
#   .dev/cand54_pip.so   the same with cand.patch applied
# It leaves cand.patch applied and the candidate in marlin_quant/_lib, as the calls expect; undo with
# `git apply -R benchmarks/logs/s54/cand.patch && cp .dev/head54_pip.so marlin_quant/_lib/libmarlin_quant_kernels.so`.
# Needs the venv active, nvcc on PATH and no uncommitted change under csrc/ or tests/.
set -euo pipefail
cd "$(dirname "$0")/../../.."
lib=marlin_quant/_lib/libmarlin_quant_kernels.so
git diff --quiet HEAD -- csrc tests || { echo "csrc/ or tests/ has uncommitted changes: commit or stash them first" >&2; exit 1; }
mkdir -p .dev
[ -f .dev/headx52_exp.so ] || DEFS=-DMQ_EXPERIMENT BASE=4fd17c0 bash benchmarks/logs/s44/build.sh headx52_exp
if [ ! -f .dev/head54_pip.so ]; then
  pip install -q -e ".[test]" --no-build-isolation
  cp "$lib" .dev/head54_pip.so
fi
git apply benchmarks/logs/s54/cand.patch
pip install -q -e ".[test]" --no-build-isolation
cp "$lib" .dev/cand54_pip.so
python benchmarks/logs/s54/plan_diff.py .dev/head54_pip.so .dev/cand54_pip.so | diff - benchmarks/logs/s54/plan_diff.txt \
  && echo "candidate built: its plans differ from the release's as plan_diff.txt says"

#!/bin/bash
# Builds .dev/grp_exp.so: csrc at HEAD with summer_groups.patch, sm_90a only (~1.5-2.5 min on
# two cores), from a temporary worktree so the checkout is untouched. Run from anywhere.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../../.." && pwd)
wt=$(mktemp -d)/wt
git -C "$root" worktree add -q --detach "$wt" HEAD
trap 'git -C "$root" worktree remove --force "$wt"' EXIT
git -C "$wt" apply "$root/benchmarks/logs/h100_s32/grp/summer_groups.patch"
mkdir -p "$root/.dev"
(cd "$wt" && python -c "
from pathlib import Path
from marlin_quant import _build
_build.build_kernel_library(archs=['90a'], out=Path('$root/.dev/grp_exp.so'), ptxas_log=Path('$root/.dev/grp_exp.ptxas.log'))
")
echo "built $root/.dev/grp_exp.so"

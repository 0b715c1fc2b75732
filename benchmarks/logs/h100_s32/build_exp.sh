#!/bin/bash
# Builds .dev/NAME_exp.so (and its ptxas report): csrc at HEAD with the given patches applied,
# sm_90a only (~1.5-2.5 min on two cores), in a temporary worktree so the checkout is untouched.
#   bash benchmarks/logs/h100_s32/build_exp.sh NAME PATCH [PATCH ...]   (paths from the repo root)
# The session's experiments: grp (grp/summer_groups.patch), dct (dct/deferred_count.patch).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
name=${1:?name}; shift
wt=$(mktemp -d)/wt
git -C "$root" worktree add -q --detach "$wt" HEAD
trap 'git -C "$root" worktree remove --force "$wt"' EXIT
for patch in "$@"; do git -C "$wt" apply "$root/$patch"; done
mkdir -p "$root/.dev"
(cd "$wt" && python -c "
from pathlib import Path
from marlin_quant import _build
_build.build_kernel_library(archs=['90a'], out=Path('$root/.dev/${name}_exp.so'), ptxas_log=Path('$root/.dev/${name}_exp.ptxas.log'))
")
echo "built $root/.dev/${name}_exp.so"

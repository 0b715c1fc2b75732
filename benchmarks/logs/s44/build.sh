#!/bin/bash
# Builds .dev/NAME.so for sm_90a from csrc at HEAD plus patches, in a temporary copy (the checkout
# is untouched). DEFS: extra nvcc defines (e.g. -DMQ_EXPERIMENT for scripts/sweep_wgmma.py's forced
# tiles); BASE: the commit patched (default HEAD). The thirty-ninth session's libraries, built on
# dc2e6f7 (BASE=dc2e6f7 to rebuild them now):
#   DEFS=-DMQ_EXPERIMENT bash benchmarks/logs/s44/build.sh c32x_exp benchmarks/logs/s44/c32/c32.patch
#   bash benchmarks/logs/s44/build.sh c32_exp benchmarks/logs/s44/c32/c32.patch
#   bash benchmarks/logs/s44/build.sh c32s6_exp benchmarks/logs/s44/c32/c32s6.patch
#   bash benchmarks/logs/s44/build.sh c32r_exp benchmarks/logs/s44/c32/c32r.patch
#   bash benchmarks/logs/s44/build.sh umod_exp benchmarks/logs/s44/umod.patch
#   bash benchmarks/logs/s44/build.sh ship_exp benchmarks/logs/s44/ship.patch   (both of this
#     session's kernel commits: csrc at 808c50e, built with no patch, is ship_exp's source)
set -euo pipefail
cd "$(dirname "$0")/../../.."
name=${1:?name}; shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git archive "${BASE:-HEAD}" csrc | tar -x -C "$dir"
for p in "$@"; do (cd "$dir" && patch -s -p1 < "$OLDPWD/$p"); done
mkdir -p .dev
nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -lineinfo ${DEFS:-} -gencode arch=compute_90a,code=sm_90a \
  -Xptxas -v "$dir/csrc/marlin_kernel.cu" -o ".dev/$name.so" > ".dev/$name.ptxas.log" 2>&1
echo "built .dev/$name.so: $(grep -A2 wgmma_gemm_kernel .dev/$name.ptxas.log | grep -c '[1-9][0-9]* bytes spill stores') Hopper kernels spilling"

#!/bin/bash
# Builds the libraries next_calls.sh needs, on the CPU machine (~1.3 min each, ~3 min the shipped one):
# .dev/{head,tma,tma_rel,lds,depth,tma_depth,tma_depth_rel,wg32,wg32_depth,tiled_bulk}_exp.so (-DMQ_EXPERIMENT,
# sm_90a) and the shipped library. stage_release.patch applies on top of tma_copies.patch only.
# The patches were written against csrc at 3a5a324 (BASE), before words_ahead_mma_depth shipped in a
# per-tile form; each variant is that source plus its patches ("head" is BASE itself).
set -euo pipefail
cd "$(dirname "$0")/../../.."
P=benchmarks/logs/address_math
mkdir -p .dev
build() {  # name, patches...
  local name=$1; shift
  local dir; dir=$(mktemp -d)
  mkdir -p "$dir/csrc"
  git archive "${BASE:-3a5a324}" csrc | tar -x -C "$dir"
  for p in "$@"; do (cd "$dir" && patch -s -p1 < "$OLDPWD/$P/$p.patch"); done
  nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -lineinfo -DMQ_EXPERIMENT -gencode arch=compute_90a,code=sm_90a \
    -Xptxas -v "$dir/csrc/marlin_kernel.cu" -o ".dev/${name}_exp.so" > ".dev/${name}_exp.ptxas.log" 2>&1
  echo "built .dev/${name}_exp.so: $(grep -c 'bytes spill stores' .dev/${name}_exp.ptxas.log) kernels," \
       "$(grep -A2 wgmma_gemm_kernel .dev/${name}_exp.ptxas.log | grep -c '[1-9][0-9]* bytes spill stores') Hopper ones spilling"
  rm -rf "$dir"
}
build head
build tma tma_copies
build lds stripe_words_ahead
build depth words_ahead_mma_depth
build tma_depth tma_copies words_ahead_mma_depth
build tma_rel tma_copies stage_release
build tma_depth_rel tma_copies words_ahead_mma_depth stage_release
build wg32 wg32
build wg32_depth words_ahead_mma_depth wg32
build tiled_bulk tiled_bulk
python scripts/build_kernels.py --out /tmp/shipped.so && cp /tmp/shipped.so marlin_quant/_lib/libmarlin_quant_kernels.so

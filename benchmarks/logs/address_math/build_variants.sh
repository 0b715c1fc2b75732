#!/bin/bash
# Builds the libraries next_calls.sh needs, on the CPU machine (~1.3 min each, ~2 min the shipped one):
# .dev/head_exp.so (-DMQ_EXPERIMENT, sm_90a, from the committed csrc/ at HEAD; variants: HEAD plus
# a patch) and the shipped library, and records what they came from in .dev/BUILT
# (h200_s23/manifest.sh). The variants below were built until the twenty-first session:
#   head      the shipped source
#   ahead128  ahead_128.patch: words read one stripe ahead on 128-token tiles too (two groups kept)
#   wg16      h200_s21/wg16.patch: 16-token Hopper tiles, experiment-only (MQ_WG_MIN_M, MQ_FORCE_WG=16,...)
#   tb2       h200_s22/skinny_tb2.patch: two token groups on the skinny kernel (MQ_FORCE_SKINNY=16),
#             running sums in shared memory
#   tb2r      the same patch with -DMQ_SKINNY_RATIO=1: running sums in registers, in units of the
#             current group's scale (NVFLAGS: extra nvcc flags of one build)
#   la        h200_s23/last_arriver.patch: the skinny kernel's split-k sum by the last share to arrive
#   la_delay  the same with -DMQ_SKINNY_DELAY_MID (tests only): mid-range shares arrive last
#   ship_tb2, ship_tb2r  h200_s23/ship_V.patch: candidate releases (release flags)
#   copysel   h100_s30/copy_select.patch: the weight copies' address select once a stage (16 x 512, 32 x 512)
# OLD=1 builds instead the fourteenth session's variants, whose patches apply to 3a5a324 (measured in
# the fifteenth: benchmarks/logs/h200_s20/): .dev/{head,tma,lds,depth,tma_depth,tma_rel,tma_depth_rel,
# wg32,wg32_depth,tiled_bulk}_exp.so; stage_release.patch applies on top of tma_copies.patch only.
set -euo pipefail
cd "$(dirname "$0")/../../.."
P=benchmarks/logs/address_math
mkdir -p .dev
# name, patches... -> .dev/NAME_exp.so. BASE: the commit patched (the paths a patch may touch, so
# that a candidate release's patch applies whole; only csrc/ is compiled). DEFS (default
# -DMQ_EXPERIMENT) and SUFFIX (default _exp): a candidate release builds with neither.
build() {
  local name=$1${SUFFIX-_exp}; shift
  local dir; dir=$(mktemp -d)
  git archive "$BASE" csrc README.md marlin_quant tests | tar -x -C "$dir"
  for p in "$@"; do (cd "$dir" && patch -s -p1 < "$OLDPWD/$P/$p.patch"); done
  nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -lineinfo ${DEFS--DMQ_EXPERIMENT} ${NVFLAGS:-} -gencode arch=compute_90a,code=sm_90a \
    -Xptxas -v "$dir/csrc/marlin_kernel.cu" -o ".dev/$name.so" > ".dev/$name.ptxas.log" 2>&1
  echo "built .dev/$name.so: $(grep -c 'bytes spill stores' .dev/$name.ptxas.log) kernels," \
       "$(grep -A2 wgmma_gemm_kernel .dev/$name.ptxas.log | grep -c '[1-9][0-9]* bytes spill stores') Hopper ones spilling"
  rm -rf "$dir"
}
if [ "${OLD:-}" = 1 ]; then
  BASE=3a5a324
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
  exit 0
fi
BASE=HEAD
build head
# Group scales after the MMA (h100_s27/post_scales.patch) ran in the twenty-third session and is
# in csrc since (wgmma_gemm_kernel's POST); the patch no longer applies. head_exp.so has the
# release's post tiles plus 32 x 512 with post (MQ_WG_POST=1; spills) and MQ_WG_POST=0 (none).
# The twenty-first session shipped wg16.patch (16 x 512 tiles; head_exp.so has 16 x 256 and a
# five-stage 16 x 512 as experiment tiles) and measured and rejected last_arriver.patch (la,
# la_delay); tb2/tb2r were rejected in the twentieth. Their libraries are no longer built:
# ahead_128.patch and ship_V.patch no longer apply to HEAD, skinny_tb2.patch and
# last_arriver.patch still do (build them by hand with `build tb2 skinny_tb2` and the like).
# The twenty-fifth session's variant, level with head at m = 16 on the H100 and so no longer built
# by default: one select a stage for the weight copies of 16 x 512 and 32 x 512 tiles
# (h100_s30/copy_select.patch; next_calls.sh copysel). Build it by hand for a longer m = 32 run:
# `build copysel ../h100_s30/copy_select`.
python scripts/build_kernels.py --out /tmp/shipped.so && cp /tmp/shipped.so marlin_quant/_lib/libmarlin_quant_kernels.so
bash benchmarks/logs/h200_s23/manifest.sh

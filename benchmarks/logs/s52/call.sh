#!/bin/bash
# The forty-seventh session's device calls (H100). Libraries (.dev/, built here, not committed):
# head53_pip.so = HEAD 36f00df's csrc as `pip install -e .` builds it (also marlin_quant/_lib);
# rel52.so = 7defc91's csrc (the release before the 32 x 128 rule for every group size, the
# 16 x 128 one in), built by s44/build.sh with the same nvcc flags as pip but sm_90a only;
# headx52_exp.so = HEAD's csrc with -DMQ_EXPERIMENT (forced tiles for scripts/sweep_wgmma.py).
#   call.sh owed  (~4 min; carry marlin_quant/_lib, .dev/rel52.so) memcheck / racecheck of the
#                 non-POST 32 x 128 kernels, then the second A/B round of s51's ship32 (m = 17 / 32,
#                 groups of 64 and per channel, 7B and 3B per layer).
#   call.sh w64g  (~6 min; carry .dev/headx52_exp.so) 64 x 256 (in the release, scales in the loop)
#                 forced against the plan (64 x 512 / 128 x 256) with groups of 64 and per channel
#                 at m = 33 / 64 / 96 / 129 / 256 on the 7B, 3B and 70B sets.
#   call.sh c32l  (~2 min; carry .dev/headx52_exp.so) Llama-3-8B and Qwen2-7B at m = 17 / 32 with
#                 groups of 64 and per channel, 32 x 128 forced against the plan: 14336x4096 and
#                 18944x3584 sit above the 3 x 2^24 bound, unmeasured with these group sizes.
#   call.sh ship  (~7 min; carry marlin_quant/_lib, .dev/head53_pip.so, .dev/headx52_exp.so) the
#                 candidate (marlin_quant/_lib, `pip install -e .` of this tree: 64 x 256 tiles at
#                 m = 129-256 below 2^25 weights for every group size, a planner change, the same
#                 SASS as head53_pip.so) against head53_pip.so: smoke, two A/B rounds at
#                 m = 129 / 256 (groups of 64, per channel; groups of 32 one round; 7B, 3B,
#                 Llama-3-8B, Qwen2-7B per layer).
#   call.sh sweep2 (~5 min; carry .dev/headx52_exp.so) w64g's sweep again on more sets and m.
#   call.sh gpu   (~6 min; carry marlin_quant/_lib) the GPU test file on the candidate, memcheck and
#                 racecheck of the cases it moves onto 64 x 256.
#   call.sh final (~8 min; carry as ship) ship's smoke, the GPU test file, gpu's memcheck, then
#                 ship's first A/B round while under STOP (480) seconds.
#   call.sh quick (~4 min; carry as ship) the GPU tests on the plans the rule moves, then the A/B
#                 with groups of 64 and per channel (7B, 3B) while under STOP (200) seconds.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
REL=.dev/rel52.so
X=.dev/headx52_exp.so
# The candidate's new plans (and groups of 128's, and a 64-k-stage layer the rule leaves) run and
# print their plans; ends the call at the first failure or hang.
smoke_plans() {
  local shape
  for shape in "--m 256 --k 4096 --n 4096 --groupsize 64" "--m 129 --k 3072 --n 5120 --groupsize -1" \
      "--m 200 --k 8192 --n 3072 --groupsize 32" "--m 256 --k 4096 --n 4096" "--m 256 --k 4032 --n 4096 --groupsize 64"; do
    timeout 40 python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
    grep -h -m1 LaunchPlan "$D/smoke.log"
  done
  echo "== smoke ($((SECONDS - start)) s)"
}
# Forced tile CONFIG against the plan on library $X, one process per group size: NAME SECS MS SETS
# CONFIG G..., logs $D/sweep_NAME_G.log.
sweep_groups() {
  local name=$1 secs=$2 ms=$3 sets=$4 cfg=$5 g; shift 5
  for g in "$@"; do
    timeout "$secs" env MARLIN_QUANT_LIB=$X python scripts/sweep_wgmma.py --m "$ms" --sets "$sets" \
      --configs "plan,$cfg" --groupsize $g > "$D/sweep_${name}_$g.log" 2>&1
    echo "== sweep $name g=$g rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_${name}_$g.log"; pack
  done
}
case "$1" in
owed)
  sanitize32
  ab_groups 32 "$REL" 2 17,32 llama2-7b,llama3.2-3b 64 -1
  ;;
w64g)
  forced_smoke w64g $X "64,2,6,2" "--m 64 --k 4096 --n 4096 --groupsize 64" "--m 200 --k 11008 --n 4096 --groupsize -1" || exit 1
  sweep_groups w64g 200 33,64,96,129,256 llama2-7b,llama3.2-3b,llama2-70b 64:2:6:2 64 -1
  ;;
c32l)
  sweep_groups c32l 100 17,32 llama3-8b,qwen2-7b 32:1:6:2 64 -1
  ;;
ship)
  smoke_plans
  ab_groups 256 .dev/head53_pip.so 1 129,256 llama2-7b,llama3.2-3b,llama3-8b,qwen2-7b 64 -1 32
  ab_groups 256 .dev/head53_pip.so 2 129,256 llama2-7b,llama3.2-3b,llama3-8b,qwen2-7b 64 -1
  ;;
sweep2)
  sweep_groups sweep2 150 33,64,129,160,192,256 llama2-7b,llama2-70b,llama3-8b,qwen2-7b 64:2:6:2 -1 64
  ;;
gpu)
  gpu_tests w64 pip 400
  memcheck_tests 64 pip 100 "(hopper_pairs and 256-4096-4096) or (llama_shapes and 256-4096-4096)"
  racecheck_tests 64 pip 80 "hopper_pairs and 256-4096-4096-64"
  ;;
final)
  # ship's smoke, gpu's checks, then ship's first A/B round while under STOP (480) seconds, in one
  # call (device starts had eaten the time for three).
  smoke_plans
  gpu_tests w64 pip 330
  timeout 60 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "(hopper_pairs and 256-4096-4096) or (llama_shapes and 256-4096-4096)" > "$D/memcheck64.log" 2>&1
  echo "== memcheck rc=$? ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck64.log" | tail -2
  pack
  STOP=${STOP:-480} ab_groups 256 .dev/head53_pip.so 1 129,256 llama2-7b,llama3.2-3b,llama3-8b,qwen2-7b 64 -1 32
  ;;
quick)
  # What 250 s of device time hold: the GPU tests whose plans the rule moves or whose kernels it
  # uses, then ship's A/B with groups of 64 and per channel on two sets while under STOP (200) s.
  gpu_tests quick pip 120 tests/test_kernel_gpu.py -k "hopper_pairs or (llama_shapes and 256-) or every_hopper_tile or (m_sweep and (128- or 256-))"
  STOP=${STOP:-200} ab_groups 256 .dev/head53_pip.so 1 129,256 llama2-7b,llama3.2-3b 64 -1
  ;;
*) echo "usage: call.sh owed | w64g | c32l | ship | sweep2 | gpu | final | quick" >&2; exit 2 ;;
esac

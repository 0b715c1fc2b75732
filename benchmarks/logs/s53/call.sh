#!/bin/bash
# The forty-eighth session's device calls (H100), after s52/call.sh final ran the candidate
# (64 x 256 at m = 129-256 below 2^25 weights for every group size) against head53_pip.so.
# Logs: final/ (s52/call.sh final on the candidate a8b921e: smoke, the GPU test file, memcheck,
# A/B round 1), ab2/, bench/, sweep2/ (s52/call.sh sweep2), pc/. sass_same.txt: the pc library's
# kernels against head53_pip.so; sass_same_mend.txt: the library after 1a4124c (comments) against both.
#   call.sh ab2   the second A/B round of s52's ship (groups of 64, per channel, groups of 32).
#   call.sh pc    (~8 min; carry marlin_quant/_lib, .dev/head53_pip.so) the per-channel rule (64 x 256
#                 at m = 129-192 below 3 x 2^25 weights) on the pip library: smoke, the GPU test file,
#                 memcheck of two of its cases, then A/B rounds against head53_pip.so at
#                 m = 129 / 160 / 192 per channel (7B, 70B, Llama-3-8B, Qwen2-7B) while under STOP (560) s.
#   call.sh owed  (~9 min; carry marlin_quant/_lib, .dev/head53_pip.so, .dev/headx52_exp.so; written, not
#                 run) what pc left: the new per-channel test's cases, racecheck of one, the whole GPU
#                 test file with 420 s (its 25 slowest tests listed: 2068c8b draws the test weights on
#                 the GPU, where the CPU had drawn some 30 G codes a run), then 8192x8192 per channel at m = 160-256 again (the A/B had it
#                 lose at m = 192, the sweep win), 64 x 256 forced against the release before's plan.
#   call.sh sweep128 (~2 min; carry .dev/headx52_exp.so; written, not run) whether groups of 128 (64 x 256
#                 with scales after the MMA) gain at m = 129-192 from 2^25 weights as per channel did:
#                 forced against the plan on the 7B, 70B, Llama-3-8B and Qwen2-7B sets, one process;
#                 then per channel at m = 257-448, where 64-token tiles pad less (~4 min in all).
#   call.sh bench scripts/bench_kernel.py's tables (README, benchmarks/h100*.json) on the pip library.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
bench) benches pip ;;
pc)
  for shape in "--m 129 --k 11008 --n 4096" "--m 192 --k 4096 --n 22016" "--m 160 --k 8192 --n 10240" "--m 193 --k 4096 --n 12288"; do
    timeout 40 python scripts/profile_kernel.py $shape --groupsize -1 --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
    grep -h -m1 LaunchPlan "$D/smoke.log"
  done
  echo "== smoke ($((SECONDS - start)) s)"
  gpu_tests pc pip 340
  memcheck_tests pc pip 60 "per_channel_64 and (11008-4096-129 or 8192-10240-192)"
  for r in 1 2; do
    STOP=${STOP:-560} ab_groups pc .dev/head53_pip.so $r 129,160,192 llama2-7b,llama2-70b,llama3-8b,qwen2-7b -1
  done
  ;;
owed)
  gpu_tests pc64 pip 120 tests/test_kernel_gpu.py -k per_channel_64
  racecheck_tests pc pip 120 "per_channel_64 and 11008-4096-129"
  gpu_tests file pip 420 tests/test_kernel_gpu.py --durations=25
  grep -A27 "slowest" "$D/gpu_tests_file.log" | head -28
  timeout 60 env MARLIN_QUANT_LIB=.dev/headx52_exp.so python scripts/sweep_wgmma.py --m 160,192,224,256 --sets llama2-70b \
    --configs plan,64:2:6:2 --groupsize -1 > "$D/sweep_70b.log" 2>&1
  echo "== sweep 70b rc=$? ($((SECONDS - start)) s)"; grep -E "8192x8192|^llama2-70b " "$D/sweep_70b.log"; pack
  ;;
sweep128)
  timeout 150 env MARLIN_QUANT_LIB=.dev/headx52_exp.so python scripts/sweep_wgmma.py --m 129,160,192 \
    --sets llama2-7b,llama2-70b,llama3-8b,qwen2-7b --configs plan,64:2:6:2 --groupsize 128 > "$D/sweep_128.log" 2>&1
  echo "== sweep 128 rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_128.log"; pack
  # Per channel past m = 256, where 128-token tiles pad m = 257-320 to 384 rows and 64-token ones to
  # 320, as at m = 129-192.
  timeout 150 env MARLIN_QUANT_LIB=.dev/headx52_exp.so python scripts/sweep_wgmma.py --m 257,320,385,448 \
    --sets llama2-7b,llama3-8b,qwen2-7b --configs plan,64:2:6:2 --groupsize -1 > "$D/sweep_pc257.log" 2>&1
  echo "== sweep pc257 rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_pc257.log"; pack
  ;;
ab2) STOP=${STOP:-300} ab_groups 256 .dev/head53_pip.so 2 129,256 llama2-7b,llama3.2-3b,llama3-8b,qwen2-7b 64 -1 32 ;;
*) echo "usage: call.sh ab2 | bench | pc | owed | sweep128" >&2; exit 2 ;;
esac

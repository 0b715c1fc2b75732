#!/bin/bash
# The forty-ninth session's device calls (H100): s53/call.sh owed and sweep128, split so that no
# call can pass the 600 s limit (owed's caps added to 720 s).
#   Ran on one H100 start (asked with no kind, after a start asked as nvidia-h100-x1 found none): owed1 in 92 s, file in 51 s;
#   logs owed1/, file/.
#   call.sh owed1 (carry marlin_quant/_lib, .dev/headx52_exp.so) the new per-channel test's cases,
#                 racecheck of one, 8192x8192 per channel at m = 160-256 again, then groups of 128
#                 on 64 x 256 at m = 129-192 forced against the plan (s53/call.sh sweep128's first part).
#   call.sh file  (carry marlin_quant/_lib, .dev/headx52_exp.so) the whole GPU test file with 420 s and
#                 its 25 slowest tests, then per channel at m = 257-448 forced against the plan.
# cand, ab and two are written and stub-dry-run, not run; one ran on an H100 (252 s, logs one/) with
# STOP1=190 STOP2=250, which cut it after the first A/B round, on the candidate's pip library
# (cand.patch applied to 44bef30). After this release (the candidate less groups of 64 / 32 past
# m = 256), ab and two time the release's pip library against .dev/head54_pip.so (44bef30's);
# s54/prepare.sh builds them.
#   call.sh cand  (~6 min; carry marlin_quant/_lib, .dev/headx52_exp.so) the candidate (pip library:
#                 64 x 256 with groups of 128 at m = 129-192 below 3 x 2^25 weights, and below 2^25 at
#                 m = 257-448 for every group size): smoke, the GPU test file, memcheck and racecheck
#                 of the new tests' cases, groups of 128 / 64 / 32 on 64 x 256 at m = 257-512 forced
#                 against the plan on the small layers (headx52_exp.so).
#   call.sh ab    (~9 min; carry marlin_quant/_lib, .dev/head54_pip.so) A/B of the candidate against the
#                 release before (head54_pip.so = pip library of 44bef30): groups of 128 at m = 129 / 160
#                 / 192 on the 7B, 70B, Llama-3-8B and Qwen2-7B sets, two rounds; then m = 257 / 320 / 448
#                 on Llama-3.2-3B and Qwen2-7B with groups of 128, per channel and groups of 64, while under
#                 STOP (560 s; 420 for the second part); then the benchmark tables if under 460 s.
#   call.sh owed  (~9 min; carry marlin_quant/_lib, .dev/head54_pip.so; written, not run) this release's
#                 first GPU run: the new 64-token tests, the whole GPU file, a second A/B round.
#   call.sh one / two  cand and ab regrouped for two calls on one start (one: ~9 min, the checks and
#                 the A/B's first rounds; two: the rest, the tables, groups of 64 / 32 swept past 256).
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
owed1)
  gpu_tests pc64 pip 120 tests/test_kernel_gpu.py -k per_channel_64
  racecheck_tests pc pip 120 "per_channel_64 and 11008-4096-129"
  timeout 60 env MARLIN_QUANT_LIB=.dev/headx52_exp.so python scripts/sweep_wgmma.py --m 160,192,224,256 --sets llama2-70b \
    --configs plan,64:2:6:2 --groupsize -1 > "$D/sweep_70b.log" 2>&1
  echo "== sweep 70b rc=$? ($((SECONDS - start)) s)"; grep -E "8192x8192|^llama2-70b " "$D/sweep_70b.log"; pack
  timeout 150 env MARLIN_QUANT_LIB=.dev/headx52_exp.so python scripts/sweep_wgmma.py --m 129,160,192 \
    --sets llama2-7b,llama2-70b,llama3-8b,qwen2-7b --configs plan,64:2:6:2 --groupsize 128 > "$D/sweep_128.log" 2>&1
  echo "== sweep 128 rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_128.log"; pack
  ;;
file)
  gpu_tests file pip 420 tests/test_kernel_gpu.py --durations=25
  grep -A27 "slowest" "$D/gpu_tests_file.log" | head -28
  timeout 150 env MARLIN_QUANT_LIB=.dev/headx52_exp.so python scripts/sweep_wgmma.py --m 257,320,385,448 \
    --sets llama2-7b,llama3-8b,qwen2-7b --configs plan,64:2:6:2 --groupsize -1 > "$D/sweep_pc257.log" 2>&1
  echo "== sweep pc257 rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_pc257.log"; pack
  ;;
cand)
  for shape in "--m 129 --k 11008 --n 4096 --groupsize 128" "--m 448 --k 4096 --n 4096 --groupsize -1" \
      "--m 300 --k 3584 --n 4608 --groupsize 64" "--m 449 --k 4096 --n 4096 --groupsize 32"; do
    timeout 40 python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
    grep -h -m1 LaunchPlan "$D/smoke.log"
  done
  echo "== smoke ($((SECONDS - start)) s)"
  gpu_tests file pip 300 tests/test_kernel_gpu.py
  memcheck_tests new pip 90 "(past_256 and (4096-4096-448-64 or 8192-3072-257-128 or 3584-4608-385--1)) or (to_3x2_25 and 11008-4096-129-128)"
  racecheck_tests new pip 90 "past_256 and 4096-4096-448-128"
  for g in 128 64 32; do
    timeout 100 env MARLIN_QUANT_LIB=.dev/headx52_exp.so python scripts/sweep_wgmma.py --m 257,320,384,448,512 \
      --layers 4096x4096,4096x6144,3584x4608,3072x5120,8192x3072 --configs plan,64:2:6:2 --groupsize $g > "$D/sweep_small_g$g.log" 2>&1
    echo "== sweep small g$g rc=$? ($((SECONDS - start)) s)"; grep "m=" "$D/sweep_small_g$g.log"; pack
  done
  ;;
ab)
  for r in 1 2; do
    STOP=${STOP:-560} ab_groups 129 .dev/head54_pip.so $r 129,160,192 llama2-7b,llama2-70b,llama3-8b,qwen2-7b 128
  done
  for r in 1 2; do
    STOP=${STOP:-420} ab_groups 257 .dev/head54_pip.so $r 257,320,448 llama3.2-3b,qwen2-7b 128 -1 64
  done
  # The benchmark tables on the candidate (their rows plan as on the release: plan_diff.txt).
  [ $((SECONDS - start)) -lt 460 ] && benches pip
  ;;
one)
  # cand's checks and ab's first rounds in one call, for a start with little device time left.
  for shape in "--m 129 --k 11008 --n 4096 --groupsize 128" "--m 448 --k 4096 --n 4096 --groupsize -1"; do
    timeout 40 python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
    grep -h -m1 LaunchPlan "$D/smoke.log"
  done
  gpu_tests file pip 150 tests/test_kernel_gpu.py
  memcheck_tests new pip 80 "(past_256 and (4096-4096-448-64 or 8192-3072-257-128 or 3584-4608-385--1)) or (to_3x2_25 and 11008-4096-129-128)"
  racecheck_tests new pip 70 "past_256 and 4096-4096-448-128"
  for r in 1 2; do
    STOP=${STOP1:-380} ab_groups 129 .dev/head54_pip.so $r 129,160,192 llama2-7b,llama2-70b,llama3-8b,qwen2-7b 128
  done
  STOP=${STOP2:-470} ab_groups 257 .dev/head54_pip.so 1 257,320,448 llama3.2-3b,qwen2-7b 128 -1 64
  ;;
two)
  # What one leaves: ab's second round past m = 256, the small-layer sweeps, the benchmark tables.
  STOP=200 ab_groups 257 .dev/head54_pip.so 2 257,320,448 llama3.2-3b,qwen2-7b 128 -1 64
  benches pip
  for g in 64 32; do
    [ $((SECONDS - start)) -lt 480 ] || break
    timeout 80 env MARLIN_QUANT_LIB=.dev/headx52_exp.so python scripts/sweep_wgmma.py --m 257,384,512 \
      --layers 4096x4096,4096x6144,3584x4608,3072x5120,8192x3072 --configs plan,64:2:6:2 --groupsize $g > "$D/sweep_small_g$g.log" 2>&1
    echo "== sweep small g$g rc=$? ($((SECONDS - start)) s)"; grep "m=" "$D/sweep_small_g$g.log"; pack
  done
  ;;
owed)
  # This release's first GPU run (its library did not run on a GPU; s54/prepare.sh builds it and
  # head54_pip.so): the new tests first, the whole file, then a second A/B round against 44bef30's.
  gpu_tests new pip 60 tests/test_kernel_gpu.py -k 64_token_tiles
  gpu_tests file pip 120 tests/test_kernel_gpu.py
  STOP=${STOP:-300} ab_groups 129 .dev/head54_pip.so 2 129,160,192 llama2-7b,llama2-70b,llama3-8b,qwen2-7b 128
  STOP=${STOP2:-500} ab_groups 257 .dev/head54_pip.so 2 257,320,448 llama3.2-3b,qwen2-7b 128 -1
  ;;
*) echo "usage: call.sh owed1 | file | cand | ab | one | two | owed" >&2; exit 2 ;;
esac

#!/bin/bash
# The fiftieth session's device calls (H100). The first three ran on one start with d2ecae6's pip
# library (marlin_quant/_lib, kept as .dev/head55_pip.so): `s54/call.sh owed` (logs owed/), then
# `s54/call.sh two` (two/), then the groups of 64 / 32 sweep past m = 256 as an inline command
# (g6432/: scripts/sweep_wgmma.py --m 257,288,320,352,384,416,448, nine layers, plan against
# 64:2:6:2 on .dev/headx52_exp.so, groups of 64 and 32, two rounds each).
#   call.sh ship  (~6 min; carry marlin_quant/_lib = this tree's pip library, .dev/head55_pip.so)
#                 groups of 64 / 32 on 64 x 256 at m = 257-320 below 2^25 weights: smoke, the new
#                 test's cases, the whole GPU file, memcheck and racecheck of new cases, then two
#                 A/B rounds against d2ecae6's library at m = 257 / 288 / 320 / 321 while under STOP.
#                 Ran on a second H100 start as `STOP=240 call.sh ship` (272 s, logs ship/; its smoke
#                 loop was then written out, now call_lib's `smoke rel`, the same commands).
#   call.sh ab2   (~8 min; the same carry; written, stub dry run, not run) the A/B's rounds 2 and 3.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
ship)
  smoke rel "--m 300 --k 3584 --n 4608 --groupsize 64" "--m 320 --k 4096 --n 4096 --groupsize 32"
  gpu_tests new pip 60 tests/test_kernel_gpu.py -k past_256
  gpu_tests file pip 150 tests/test_kernel_gpu.py
  memcheck_tests new pip 80 "past_256 and (4096-4096-320-64 or 8192-3072-257-32 or 3584-4608-321-64)"
  racecheck_tests new pip 70 "past_256 and 3584-4608-320-32"
  for r in 1 2; do
    STOP=${STOP:-520} ab_groups 257 .dev/head55_pip.so $r 257,288,320,321 llama3.2-3b,qwen2-7b,llama3-8b 64 32
  done
  ;;
ab2)
  # The rule's second and third A/B rounds (KERNEL_NOTES fiftieth session, Next 1), nothing else.
  for r in 2 3; do
    STOP=${STOP:-480} ab_groups 257 .dev/head55_pip.so $r 257,288,320,321 llama3.2-3b,qwen2-7b,llama3-8b 64 32
  done
  ;;
*) echo "usage: call.sh ship | ab2" >&2; exit 2 ;;
esac

#!/bin/bash
# The forty-first session's device calls (s128 ran on an H200; no later start came). Libraries (benchmarks/logs/s44/build.sh, sm_90a):
# .dev/head46_exp.so = HEAD a8c8f05; head46x_exp.so = the same with -DMQ_EXPERIMENT; s128b_exp.so /
# s128bship_exp.so = HEAD + s46/small128.patch (64 x 256 tiles at m = 129-256 below 2^25 weights,
# groups of 128) with and without -DMQ_EXPERIMENT. s128 ran with `git apply
# benchmarks/logs/s46/small128_full.patch` applied to the tree (since committed), so the GPU tests
# expected its plans.
#   call.sh s128  (~8 min) the two plans in turn at m = 129 / 200 / 256 on four sets, two rounds
#                 (same process per variant); s128bship's whole GPU test file and a memcheck.
#   call.sh rest [tests]  (~5 min, ~1 min with `tests`; carry marlin_quant/_lib) as ship, but
#                 only the tests the s128 call's run did not reach (rest_ids.txt); `tests`: no benchmarks.
#   call.sh pairs128 (~1.5 min; carry .dev/head46x_exp.so) pairs against single blocks at
#                 m = 65 / 96 / 128, two rounds, on five sets (ran in the forty-second session, on an
#                 H100, with `rest`: benchmarks/logs/s47/pairs128/, rest/).
#   call.sh ship  (~8 min; carry marlin_quant/_lib as `pip install -e .` builds it with the rule)
#                 the whole GPU test file on that library, then its benchmark JSON of the Llama-2
#                 sets and of the Llama-3-8B / Qwen2-7B sets. (The s128 call's test run, on an H200,
#                 ran out of its 260 s at 90% of the file, no failure by then.)
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
s128)
  smoke s128bship "--m 256 --k 3584 --n 4608" "--m 200 --k 4096 --n 4096" "--m 129 --k 3072 --n 5120"
  ab_sweep 2 129,200,256 llama2-7b,llama3-8b,qwen2-7b,llama3.2-3b head46x s128b
  gpu_tests s128bship_full .dev/s128bship_exp.so 260
  memcheck_tests s128bship .dev/s128bship_exp.so 60 \
    "(llama_shapes and 256-4096-4096-128) or (every_hopper_tile and 200-2048-1536-128) or (hopper_pairs and 256-4096-4096-128)"
  ;;
ship)
  gpu_tests full pip 330
  benches pip
  ;;
rest)
  # The 73 tests (821-893 of the file, rest_ids.txt, reordered: the changed plan's hopper_pairs
  # first; REST_S caps the run) the s128 call's run did not reach, on the
  # `pip install -e .` library, then that library's benchmarks as in `ship`.
  gpu_tests rest pip "${REST_S:-150}" $(sed 's|^|tests/test_kernel_gpu.py::|' "$(dirname "$0")/rest_ids.txt")
  [ "$2" = tests ] || benches pip
  ;;
pairs128)
  # Pairs against single blocks at m = 65-128 (the H100 wide sweep had single
  # blocks 0.8-1.4 us ahead on Qwen2-7B's 3584-k layers at m = 128 and 0.9 behind on 4096x4096),
  # the plan and plan@single in turn in one process, two rounds, on five sets.
  sweep pairs128 .dev/head46x_exp.so 120 65,96,128 llama2-7b,llama3-8b,qwen2-7b,llama3.2-3b,llama2-70b \
    plan,plan@single,plan,plan@single
  ;;
*) echo "usage: call.sh s128 | ship | rest [tests] | pairs128" >&2; exit 2 ;;
esac

#!/bin/bash
# The twenty-fourth session's device call (not run: every start was refused): 256 x 128 Hopper
# tiles against the planner's 128 x 256 (.dev/t256_exp.so), then the candidate release's checks
# (the working tree with t256_release.patch: the planner takes 256 x 128 above m = 128 where the
# padding is no worse): GPU tests, memcheck and racecheck reaching the new tile, the benchmark.
#   bash benchmarks/logs/h100_s29/call.sh [full|short|min]   (~590 s, ~420 s, ~200 s of device time)
# Ran (full) in the twenty-fifth session: benchmarks/logs/h100_s29/run/. The experiment configs it
# forces were in csrc from 9dd93f6 to 7accab0; since then they are t256_experiment.patch.
# Set up on the CPU machine first:
#   bash benchmarks/logs/address_math/build_variants.sh && cp .dev/head_exp.so .dev/t256_exp.so
#     (head_exp.so is built from HEAD, whose experiment configs include 256:1:6:1 / 3:2 / 5:1)
#   git apply benchmarks/logs/h100_s29/t256_release.patch
#   python scripts/build_kernels.py --out /tmp/c.so && cp /tmp/c.so marlin_quant/_lib/libmarlin_quant_kernels.so
# and carry .dev/t256_exp.so and marlin_quant/_lib. Everything writes straight into $OUT, so a
# call cut short still brings back what ran; the sweep comes first (it decides), the racecheck last.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
size=${1:-full}
case "$size" in
  # sweep m / configs / seconds, GPU-test -k ("" = the whole file) / seconds, then memcheck,
  # racecheck and benchmark seconds (0: skipped).
  full) M=256,192; CFG=plan,256:1:6:1,256:1:3:2,256:1:5:1,plan,256:1:6:1; T_SW=160
        TESTS_K=""; T_TESTS=190; T_MEM=60; T_RACE=40; T_BENCH=130 ;;
  short) M=256; CFG=plan,256:1:6:1,256:1:3:2,plan,256:1:6:1; T_SW=100
        TESTS_K="m_sweep or llama or every_hopper_tile or deterministic or hopper_pairs or large_m or gpu_bad_input"
        T_TESTS=90; T_MEM=45; T_RACE=30; T_BENCH=150 ;;
  min) M=256; CFG=plan,256:1:6:1,plan,256:1:6:1; T_SW=80
       TESTS_K="every_hopper_tile or (llama and 256-) or (deterministic and 256-) or (m_sweep and 256-)"
       T_TESTS=70; T_MEM=0; T_RACE=0; T_BENCH=0 ;;
  *) echo "size must be full, short or min"; exit 2 ;;
esac
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader > $OUT/gpu.txt 2>&1
MARLIN_QUANT_LIB=.dev/t256_exp.so timeout $T_SW python scripts/sweep_wgmma.py --m $M --configs $CFG \
  --sets llama2-7b,llama2-70b > $OUT/sweep_t256.log 2>&1
tail -6 $OUT/sweep_t256.log
# A sanitizer run: TOOL SECONDS -k-EXPRESSION, log $OUT/TOOL.log.
sanitize() {
  NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=1000000 timeout $2 compute-sanitizer --tool $1 --print-limit 100000 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "$3" > $OUT/$1.log 2>&1
  echo "== $1: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $OUT/$1.log | tail -1); $(tail -1 $OUT/$1.log)"
}
timeout $T_TESTS python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py ${TESTS_K:+-k "$TESTS_K"} 2>&1 \
  | grep -v DEBUG > $OUT/gpu_tests.log
echo "== GPU tests: $(tail -1 $OUT/gpu_tests.log)"; grep -E "^(FAILED|ERROR)" $OUT/gpu_tests.log | head -5
(( T_MEM )) && sanitize memcheck $T_MEM "every_hopper_tile or (deterministic and 256-4096-4096)"
(( T_RACE )) && sanitize racecheck $T_RACE "deterministic and (256-4096-4096 or 64-4096-4096)"
if (( T_BENCH )); then
  timeout $T_BENCH python scripts/bench_kernel.py --json $OUT/bench.json > $OUT/bench.log 2>&1
  tail -22 $OUT/bench.log
fi

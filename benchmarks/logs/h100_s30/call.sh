#!/bin/bash
# The twenty-fifth session's second device call: 256 x 128 tiles with 128-k stages (256:1:3:2).
# The first call (benchmarks/logs/h100_s29/, this session) measured 64-k stages (256:1:6:1) no
# faster than the planner's 128 x 256 tiles and 256:1:3:2 the fastest config at m = 192 / 256
# on both sets, in one round. This call: two more rounds of plan against 256:1:3:2
# (.dev/t256_exp.so, HEAD's experiment build), then the candidate release (the working tree:
# 256:1:3:2 shipped, taken above m = 128 where ceil(m / 128) is even and k % 128 == 0): its GPU
# tests on the new tile, memcheck, racecheck, the benchmark; then the release's benchmark
# (.dev/release.so, built from HEAD) and the candidate's again at m = 160 / 256, in turn.
#   carry .dev/t256_exp.so, .dev/release.so, marlin_quant/_lib   (~540 s of device time)
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader > $OUT/gpu.txt 2>&1
MARLIN_QUANT_LIB=.dev/t256_exp.so timeout 120 python scripts/sweep_wgmma.py --m 256,160 \
  --configs plan,256:1:3:2,plan,256:1:3:2 --sets llama2-7b,llama2-70b > $OUT/sweep_t256_32.log 2>&1
tail -5 $OUT/sweep_t256_32.log
timeout 80 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "every_hopper_tile or (llama and 256-) or (deterministic and 256-) or (m_sweep and 256-) or hopper_pairs" 2>&1 \
  | grep -v DEBUG > $OUT/gpu_tests.log
echo "== GPU tests: $(tail -1 $OUT/gpu_tests.log)"; grep -E "^(FAILED|ERROR)" $OUT/gpu_tests.log | head -5
sanitize() {
  NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=1000000 timeout $2 compute-sanitizer --tool $1 --print-limit 100000 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "$3" > $OUT/$1.log 2>&1
  echo "== $1: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $OUT/$1.log | tail -1); $(tail -1 $OUT/$1.log)"
}
sanitize memcheck 40 "every_hopper_tile or (deterministic and 256-4096-4096)"
sanitize racecheck 30 "deterministic and 256-4096-4096"
timeout 130 python scripts/bench_kernel.py --json $OUT/bench.json > $OUT/bench.log 2>&1
tail -20 $OUT/bench.log
for round in 1 2; do
  MARLIN_QUANT_LIB=.dev/release.so timeout 45 python scripts/bench_kernel.py --m 160,256 > $OUT/bench_release_$round.log 2>&1
  timeout 45 python scripts/bench_kernel.py --m 160,256 > $OUT/bench_candidate_$round.log 2>&1
  echo "== round $round: release / candidate"; grep -E "^llama" $OUT/bench_release_$round.log $OUT/bench_candidate_$round.log
done

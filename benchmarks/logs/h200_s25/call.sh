#!/bin/bash
# The twenty-first session's last device call, for a budget too small for the whole of
# scripts/gpu_checks.sh: the release library (16-token Hopper tiles at m = 9-16) through the GPU
# tests that reach the changed planner and the new kernels, the benchmark, then memcheck and
# racecheck of the 16-token tiles (never run under the sanitizers). Logs straight into $OUT (eight
# files), so a call cut off by its limit still brings back what finished.
cd "$(dirname "$0")/../../.."
export PYTHONUNBUFFERED=1
F=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader > $F/gpu.txt 2>&1
{
echo "== GPU tests (16-token tiles, Hopper planner)"
timeout 90 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "sixteen_token or hopper_path" > $F/gpu_tests_16.log 2>&1
tail -1 $F/gpu_tests_16.log
echo "== benchmark"
timeout 120 python scripts/bench_kernel.py --json $F/bench.json > $F/bench.log 2>&1; cat $F/bench.log
echo "== GPU tests (Llama shapes, determinism)"
timeout 120 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "llama or deterministic" > $F/gpu_tests.log 2>&1
tail -1 $F/gpu_tests.log
echo "== memcheck (16-token tiles)"
timeout 80 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "sixteen_token and (4096-16448-9- or 8192-8192-12-)" > $F/memcheck.log 2>&1
grep -E "ERROR SUMMARY|passed|failed" $F/memcheck.log | tail -2
echo "== racecheck (16-token tiles)"
NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=1000000 timeout 120 compute-sanitizer --tool racecheck --print-limit 100000 \
  python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "(deterministic and 12-8192-8192) or (sixteen_token and 8192-8192-12-128)" > $F/racecheck.log 2>&1
grep -E "RACECHECK SUMMARY|passed|failed" $F/racecheck.log | tail -2
python scripts/racecheck_summary.py $F/racecheck.log
} 2>&1 | tee $F/console.log

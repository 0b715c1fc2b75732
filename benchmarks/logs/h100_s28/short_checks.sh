#!/bin/bash
# gpu_checks.sh's steps for a device call with ~400 s left (twenty-third session): the GPU test
# file, the memcheck subset, racecheck on two tests that run scales after the MMA (16 x 256 at
# m = 16, 32 x 256 at m = 24, split-k) and the benchmark, each writing straight into $OUT.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
o=$OUT/final; mkdir -p $o
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader > $o/gpu.txt 2>&1
timeout 290 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py 2>&1 | grep -v DEBUG > $o/gpu_tests.log
echo "== GPU tests: $(tail -1 $o/gpu_tests.log)"
timeout 70 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "(small_and_odd and (1- or 7- or 16- or 20- or 33- or 300-)) or every_hopper_tile or (sixteen_token and (4096-16448-9- or 8192-8192-12- or 28672-8192-16-128)) or (hopper_pairs and (20-4096-4096 or 33-4096-4096 or 200-8192-8192))" > $o/memcheck.log 2>&1
echo "== memcheck: $(grep -E 'ERROR SUMMARY' $o/memcheck.log | tail -1); $(tail -1 $o/memcheck.log)"
NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=1000000 timeout 40 compute-sanitizer --tool racecheck --print-limit 100000 \
  python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "deterministic and (16-4096-4096 or 24-4096-4096)" > $o/racecheck.log 2>&1
echo "== racecheck: $(grep -E 'RACECHECK SUMMARY' $o/racecheck.log | tail -1); $(tail -1 $o/racecheck.log)"
timeout 150 python scripts/bench_kernel.py --json $o/bench.json > $o/bench.log 2>&1
tail -25 $o/bench.log

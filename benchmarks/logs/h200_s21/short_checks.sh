#!/bin/bash
# gpu_checks.sh cut to fit ~220 s of device time: the GPU test file, memcheck on the shapes that
# reach 32-token tiles, the benchmark. No racecheck (the full script has it).
cd "$(dirname "$0")/../../.."
export PYTHONUNBUFFERED=1
out=${OUT:-gpu-logs}; mkdir -p "$out"
echo "== GPU tests"
timeout 130 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py 2>&1 | grep -v DEBUG > "$out/gpu_tests.log"
tail -1 "$out/gpu_tests.log"
echo "== benchmark"
timeout 70 python scripts/bench_kernel.py --json "$out/bench.json" > "$out/bench.log" 2>&1
cat "$out/bench.log"
echo "== memcheck (32-token tiles)"
timeout 60 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "every_hopper_tile or (hopper_pairs and 20-4096-4096) or (small_and_odd and 20-)" > "$out/memcheck.log" 2>&1
grep -E "ERROR SUMMARY|passed|failed" "$out/memcheck.log" | tail -2

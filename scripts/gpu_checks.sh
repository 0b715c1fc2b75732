#!/usr/bin/env bash
# Everything the kernel must pass on a GPU machine, in one go (logs under ${OUT:-gpu-logs}/):
#   the GPU test sweep, a compute-sanitizer memcheck subset, a racecheck subset, and the
#   speed benchmark (benchmarks/h100.json format). Needs the kernel library built
#   (python scripts/build_kernels.py --arch 90a).
set -uo pipefail
out=${OUT:-gpu-logs}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
status=0
step() { echo "== $1"; }

bench() {
  step "benchmark"
  python scripts/bench_kernel.py --json "$out/bench.json" 2>&1 | tee "$out/bench.log" || status=1
}
# BENCH_FIRST=1: the benchmark before the checks, for a device call that may run out of time.
[ -z "${BENCH_FIRST:-}" ] || bench

step "GPU tests"
python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py 2>&1 | grep -v DEBUG > "$out/gpu_tests.log" || status=1
tail -3 "$out/gpu_tests.log"

step "memcheck (small and odd shapes, every group size, m in 1/7/16/20/33/300, every Hopper tile, 16-token tiles (16 x 512 after-MMA scales too), pairs: all kernels; graph ticket slots)"
compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "(small_and_odd and (1- or 7- or 16- or 20- or 33- or 300-)) or every_hopper_tile or (sixteen_token and (4096-16448-9- or 8192-8192-12- or 28672-8192-16-128)) or (hopper_pairs and (20-4096-4096 or 33-4096-4096 or 200-8192-8192)) or graph_shares or side_by_side" > "$out/memcheck.log" 2>&1 || status=1
grep -E "ERROR SUMMARY|passed|failed" "$out/memcheck.log" | tail -2

step "racecheck (split-k tiles, all kernels; Hopper pairs)"
# Every report printed, so that racecheck_summary.py can set aside the tool's false positive on
# the pairs' distributed-shared-memory store and fail on any other hazard. The hazard cap is high:
# the 64 x 256 pairs at m = 64 alone draw over a million (H100, benchmarks/logs/h100_s29/run/), and
# a capped run prints no summary.
NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=50000000 compute-sanitizer --tool racecheck --print-limit 100000 \
  python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "deterministic or (hopper_pairs and (20-4096-4096 or 33-4096-4096))" > "$out/racecheck.log" 2>&1
grep -E "RACECHECK SUMMARY|passed|failed" "$out/racecheck.log" | tail -2
# pytest's own lines only: the sanitizer's summary ("12 errors") counts the set-aside reports too.
grep -qE "^[0-9]+ passed" "$out/racecheck.log" && ! grep -qE "^[^=].*[0-9]+ (failed|error)" "$out/racecheck.log" || status=1
python scripts/racecheck_summary.py "$out/racecheck.log" || status=1

[ -n "${BENCH_FIRST:-}" ] || bench
exit $status

#!/bin/bash
# The thirty-third session's device calls. Logs are packed into one tarball after every step.
#   call.sh checks (H100) the release's checks that the thirty-second session's device time cut
#               (scripts/gpu_checks.sh's steps with time boxes, tests first; the benchmark of this
#               library is benchmarks/h100.json already): the whole GPU test file, memcheck,
#               racecheck (~9 min). Carry marlin_quant/_lib.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
checks)
  F=$OUT/final; mkdir -p "$F"
  md5sum marlin_quant/_lib/libmarlin_quant_kernels.so > "$F/lib.md5"
  timeout 330 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py 2>&1 | grep -v DEBUG > "$F/gpu_tests.log"
  echo "== GPU tests ($((SECONDS - start)) s)"; tail -3 "$F/gpu_tests.log"
  timeout 100 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "(small_and_odd and (1- or 7- or 16- or 20- or 33- or 300-)) or every_hopper_tile or (sixteen_token and (4096-16448-9- or 8192-8192-12- or 28672-8192-16-128)) or (hopper_pairs and (20-4096-4096 or 33-4096-4096 or 200-8192-8192 or 32-5120-3072)) or (hopper_summer_partial_counts and 16-)" > "$F/memcheck.log" 2>&1
  echo "== memcheck ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$F/memcheck.log" | tail -2
  left=$((570 - SECONDS + start))
  NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=50000000 timeout $left compute-sanitizer --tool racecheck --print-limit 100000 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "deterministic or (hopper_pairs and (20-4096-4096 or 33-4096-4096))" \
    > "$F/racecheck.log" 2>&1
  echo "== racecheck rc=$? in ${left} s box ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$F/racecheck.log" | tail -2
  python scripts/racecheck_summary.py "$F/racecheck.log"; gzip -f "$F/racecheck.log"
  ;;
*) echo "usage: call.sh checks" >&2; exit 2 ;;
esac
pack

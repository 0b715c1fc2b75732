#!/bin/bash
# The twenty-fifth session's third device call: gpu_checks.sh's racecheck subset on the shipped
# library (owed since the twenty-third session; the release's GPU tests, memcheck and benchmark ran
# in benchmarks/logs/h100_s28/), with the raised hazard cap, then racecheck_summary.py; a short
# benchmark if time is left. ~450 s. carry marlin_quant/_lib.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
start=$SECONDS
NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=50000000 timeout 400 compute-sanitizer --tool racecheck --print-limit 100000 \
  python -m pytest -v -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "deterministic or (hopper_pairs and (20-4096-4096 or 33-4096-4096))" > $OUT/racecheck.log 2>&1
echo "== racecheck ($((SECONDS - start)) s): $(grep -E 'RACECHECK SUMMARY' $OUT/racecheck.log | tail -1); $(grep -E '^[0-9]+ passed|failed' $OUT/racecheck.log | tail -1)"
grep -E "PASSED|FAILED" $OUT/racecheck.log | sed 's/.*:://' | tr '\n' ' '; echo
python scripts/racecheck_summary.py $OUT/racecheck.log; echo "racecheck_summary rc=$?"
gzip -f $OUT/racecheck.log
(( SECONDS - start < 400 )) && timeout 60 python scripts/bench_kernel.py --m 1,16,64,256 > $OUT/bench.log 2>&1 && tail -10 $OUT/bench.log

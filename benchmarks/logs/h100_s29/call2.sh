#!/bin/bash
# call1.sh cut to fit ~420 s of device time (the session's refused starts had spent the rest):
# the m = 256 sweep of 256 x 128 tiles against the planner's 128 x 256 (.dev/t256_exp.so), then
# the candidate release's benchmark, a GPU-test subset that reaches every Hopper tile (256 x 128
# at m = 129-256 through the candidate's planner), and memcheck / racecheck on the new tile.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader > $OUT/gpu.txt 2>&1
MARLIN_QUANT_LIB=.dev/t256_exp.so timeout 100 python scripts/sweep_wgmma.py --m 256 \
  --configs plan,256:1:6:1,256:1:3:2,plan,256:1:6:1 --sets llama2-7b,llama2-70b > $OUT/sweep_t256.log 2>&1
tail -4 $OUT/sweep_t256.log
timeout 150 python scripts/bench_kernel.py --json $OUT/bench.json > $OUT/bench.log 2>&1
tail -22 $OUT/bench.log
timeout 90 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "m_sweep or llama or every_hopper_tile or deterministic or hopper_pairs or large_m or gpu_bad_input" 2>&1 | grep -v DEBUG > $OUT/gpu_tests.log
echo "== GPU tests: $(tail -1 $OUT/gpu_tests.log)"; grep -E "^(FAILED|ERROR)" $OUT/gpu_tests.log | head -5
timeout 45 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "every_hopper_tile or (deterministic and 256-4096-4096)" > $OUT/memcheck.log 2>&1
echo "== memcheck: $(grep -E 'ERROR SUMMARY' $OUT/memcheck.log | tail -1); $(tail -1 $OUT/memcheck.log)"
NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=1000000 timeout 30 compute-sanitizer --tool racecheck --print-limit 100000 \
  python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "deterministic and 256-4096-4096" > $OUT/racecheck.log 2>&1
echo "== racecheck: $(grep -E 'RACECHECK SUMMARY' $OUT/racecheck.log | tail -1); $(tail -1 $OUT/racecheck.log)"

#!/bin/bash
# The twenty-fourth session's one device call (~590 s): 256 x 128 Hopper tiles against the
# planner's 128 x 256 at m = 256 / 192 (.dev/t256_exp.so, built from 9dd93f6), then the candidate
# release's checks (the working tree: the planner takes 256 x 128 above m = 128 where the padding
# is no worse): GPU tests, memcheck and racecheck subsets reaching the new tile, the benchmark.
# Everything writes straight into $OUT, so a call cut short still brings back what ran.
# Not run: the session's device starts were all refused. To run it, on the CPU machine first:
#   git apply benchmarks/logs/h100_s29/t256_release.patch    (the candidate release, uncommitted)
#   python scripts/build_kernels.py --out /tmp/c.so && cp /tmp/c.so marlin_quant/_lib/libmarlin_quant_kernels.so
#   cp .dev/head_exp.so .dev/t256_exp.so   (build_variants.sh builds head_exp.so from HEAD, whose
#                                           experiment configs include 256:1:6:1 / 3:2 / 5:1)
# then carry .dev/t256_exp.so and marlin_quant/_lib. call2.sh / call3.sh: the same cut to ~420 s
# and ~200 s.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader > $OUT/gpu.txt 2>&1
MARLIN_QUANT_LIB=.dev/t256_exp.so timeout ${SWEEP_S:-160} python scripts/sweep_wgmma.py --m ${M:-256,192} \
  --configs plan,256:1:6:1,256:1:3:2,256:1:5:1,plan,256:1:6:1 --sets llama2-7b,llama2-70b > $OUT/sweep_t256.log 2>&1
tail -6 $OUT/sweep_t256.log
timeout 190 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py 2>&1 | grep -v DEBUG > $OUT/gpu_tests.log
echo "== GPU tests: $(tail -1 $OUT/gpu_tests.log)"; grep -E "^(FAILED|ERROR)" $OUT/gpu_tests.log | head -5
timeout 60 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "every_hopper_tile or (deterministic and 256-4096-4096) or (llama and 256-)" > $OUT/memcheck.log 2>&1
echo "== memcheck: $(grep -E 'ERROR SUMMARY' $OUT/memcheck.log | tail -1); $(tail -1 $OUT/memcheck.log)"
NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=1000000 timeout 40 compute-sanitizer --tool racecheck --print-limit 100000 \
  python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "deterministic and (256-4096-4096 or 64-4096-4096)" > $OUT/racecheck.log 2>&1
echo "== racecheck: $(grep -E 'RACECHECK SUMMARY' $OUT/racecheck.log | tail -1); $(tail -1 $OUT/racecheck.log)"
timeout 130 python scripts/bench_kernel.py --json $OUT/bench.json > $OUT/bench.log 2>&1
tail -25 $OUT/bench.log

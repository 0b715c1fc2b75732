#!/bin/bash
# Twenty-third session, device call A: scales after the MMA as a release (the planner takes
# them at groups of 128; 16 x 256 tiles for m = 9-16 below 2^27 weights) and the two tiles not
# in it (.dev/new_exp.so: 64 x 256 at 255 registers, 32 x 512 spilling 264 bytes).
#   1. GPU tests of the release library (marlin_quant/_lib) on the paths it changed.
#   2. Sweeps, outputs checked against fp16 first: m = 16 (the new 16-token rule against the
#      old, "+pre"), m = 32 and 64 (the experiment tiles with and without post).
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
W=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader > $W/gpu.txt 2>&1
timeout 200 python -m pytest -q -x -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "sixteen or hopper or m_sweep or small_and_odd or llama" > $W/gpu_tests_release.log 2>&1
echo "== release tests: $(tail -1 $W/gpu_tests_release.log)"
MARLIN_QUANT_LIB=.dev/new_exp.so timeout 150 python scripts/sweep_wgmma.py --m 16 \
  --configs plan,plan+pre,plan --sets llama2-7b,llama2-70b > $W/sweep_m16.log 2>&1
tail -3 $W/sweep_m16.log
MARLIN_QUANT_LIB=.dev/new_exp.so timeout 100 python scripts/sweep_wgmma.py --m 32 \
  --configs plan,plan+pre,plan+post,plan --sets llama2-7b,llama2-70b > $W/sweep_m32.log 2>&1
tail -3 $W/sweep_m32.log
MARLIN_QUANT_LIB=.dev/new_exp.so timeout 120 python scripts/sweep_wgmma.py --m 64 \
  --configs plan,plan+post,64:2:6:2,64:2:6:2+post,plan --sets llama2-7b,llama2-70b > $W/sweep_m64.log 2>&1
tail -3 $W/sweep_m64.log

#!/bin/bash
# The last ~200 s of the session's device time: the m = 256 sweep of 256 x 128 tiles against the
# planner's 128 x 256 (.dev/t256_exp.so), then the GPU tests that reach the new tile through the
# candidate release's planner (the working tree; 256 x 128 at m = 129-256).
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader > $OUT/gpu.txt 2>&1
MARLIN_QUANT_LIB=.dev/t256_exp.so timeout 80 python scripts/sweep_wgmma.py --m 256 \
  --configs plan,256:1:6:1,plan,256:1:6:1 --sets llama2-7b,llama2-70b > $OUT/sweep_t256.log 2>&1
cat $OUT/sweep_t256.log | tail -12
timeout 70 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "every_hopper_tile or (llama and 256-) or (deterministic and 256-) or (m_sweep and 256-)" 2>&1 | grep -v DEBUG > $OUT/gpu_tests.log
echo "== GPU tests: $(tail -1 $OUT/gpu_tests.log)"; grep -E "^(FAILED|ERROR)" $OUT/gpu_tests.log | head -5

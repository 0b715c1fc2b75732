#!/bin/bash
# Builds the two candidate releases of two token groups for m = 9-16 on the CPU machine (~1.5
# min each): .dev/ship_tb2.so and .dev/ship_tb2r.so, sm_90a only, without -DMQ_EXPERIMENT, from
# the committed csrc/ plus ship_tb2.patch / ship_tb2r.patch (this folder). Each patch is the
# whole change a release would make (kernel, planner, ops scratch size, CPU planner tests,
# README kernel descriptions); its kernels are instruction for instruction the experiment
# build's of the same variant (.dev/tb2_exp.so, .dev/tb2r_exp.so), which the script checks with
# sass_same.py, so the experiment's forced GPU tests ran the same machine code.
#   next_calls.sh ship V   gpu_checks.sh on .dev/ship_V.so (carry it and marlin_quant/_lib)
set -euo pipefail
cd "$(dirname "$0")/../../.."
export PATH=$PATH:/work/venv/lib/python3.11/site-packages/nvidia/cu13/bin
PY=${PY:-/work/venv/bin/python}
mkdir -p .dev
for v in tb2 tb2r; do
  dir=$(mktemp -d)
  git archive HEAD csrc | tar -x -C "$dir"
  (cd "$dir" && git apply --include='csrc/*' "$OLDPWD/benchmarks/logs/h200_s23/ship_$v.patch")
  nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -lineinfo -gencode arch=compute_90a,code=sm_90a -Xptxas -v \
    "$dir/csrc/marlin_kernel.cu" -o ".dev/ship_$v.so" > ".dev/ship_$v.ptxas.log" 2>&1
  rm -rf "$dir"
  if [ -f ".dev/${v}_exp.so" ]; then
    $PY benchmarks/logs/h200_s20/sass_same.py ".dev/ship_$v.so" ".dev/${v}_exp.so" > ".dev/sass_same_ship_$v.txt"
    echo "built .dev/ship_$v.so: $(grep -c . .dev/sass_same_ship_$v.txt) kernels," \
         "$(grep -c 'NO MATCH' .dev/sass_same_ship_$v.txt || true) not identical to .dev/${v}_exp.so"
  else
    echo "built .dev/ship_$v.so (no .dev/${v}_exp.so to compare with: run address_math/build_variants.sh)"
  fi
done

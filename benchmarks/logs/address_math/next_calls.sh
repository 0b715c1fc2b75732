#!/bin/bash
# The device calls this session could not make, for the next one. Build first, on the CPU machine:
#   cp /tmp/shipped.so marlin_quant/_lib/libmarlin_quant_kernels.so   (scripts/build_kernels.py --out ...)
#   for v in head tma lds tma_lds: an -DMQ_EXPERIMENT sm_90a build of HEAD with none / one / both of
#   tma_copies.patch and stripe_words_ahead.patch applied, as .dev/${v}_exp.so
# then run with carry [".dev", "marlin_quant/_lib"]:
#   call 1: bash benchmarks/logs/address_math/next_calls.sh checks   (~5 min)
#   call 2: bash benchmarks/logs/address_math/next_calls.sh variants (~8 min)
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
case "$1" in
  checks)
    unset MARLIN_QUANT_LIB
    OUT=$OUT/final timeout 420 bash scripts/gpu_checks.sh
    ;;
  variants)
    for v in tma lds tma_lds; do
      MARLIN_QUANT_LIB=.dev/${v}_exp.so timeout 150 python -m pytest -q -x -p no:cacheprovider tests/test_kernel_gpu.py \
        -k "hopper or m_sweep or llama or deterministic or graph or two_streams or back_to_back" > $OUT/gpu_tests_$v.log 2>&1
      echo "== tests $v: $(tail -1 $OUT/gpu_tests_$v.log)"
    done
    for r in 1 2; do
      for v in head tma lds tma_lds; do
        # a variant is timed only if its tests all passed
        if [ $v != head ]; then
          last=$(tail -1 $OUT/gpu_tests_$v.log 2>/dev/null)
          case "$last" in *failed*|*error*|"") continue ;; *passed*) ;; *) continue ;; esac
        fi
        MARLIN_QUANT_LIB=.dev/${v}_exp.so timeout 100 python scripts/sweep_wgmma.py --m 33,64,128,256 --configs plan \
          --sets llama2-7b,llama2-70b > $OUT/sweep_${v}_$r.log 2>&1
        echo "== $v $r"; tail -8 $OUT/sweep_${v}_$r.log
      done
    done
    ;;
  *) echo "usage: next_calls.sh checks|variants" >&2; exit 2 ;;
esac

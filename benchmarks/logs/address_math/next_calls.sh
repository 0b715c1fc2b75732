#!/bin/bash
# The device calls this session could not make, for the next one. Build first, on the CPU machine:
#   bash benchmarks/logs/address_math/build_variants.sh   (.dev/{head,tma,lds,depth,tma_depth}_exp.so
#   and the shipped library in marlin_quant/_lib)
# then run with carry [".dev", "marlin_quant/_lib"], one call each (each fits the 10-minute limit):
#   bash benchmarks/logs/address_math/next_calls.sh checks   shipped library: gpu_checks.sh (~5 min)
#   bash benchmarks/logs/address_math/next_calls.sh tests    each variant's GPU tests (~6 min)
#   bash benchmarks/logs/address_math/next_calls.sh sweeps   A/B sweeps of HEAD and the variants that
#                                                            passed (needs the tests call's logs in $OUT's
#                                                            files: copy them to .dev/ first)
#   bash benchmarks/logs/address_math/next_calls.sh splits   HEAD with at most 1 or 2 ranges per tile
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
VARIANTS="tma lds depth tma_depth"
case "$1" in
  checks)
    unset MARLIN_QUANT_LIB
    OUT=$OUT/final timeout 420 bash scripts/gpu_checks.sh
    ;;
  tests)
    for v in $VARIANTS; do
      MARLIN_QUANT_LIB=.dev/${v}_exp.so timeout 130 python -m pytest -q -x -p no:cacheprovider tests/test_kernel_gpu.py \
        -k "hopper or m_sweep or llama or deterministic or graph or two_streams or back_to_back" > $OUT/gpu_tests_$v.log 2>&1
      echo "== tests $v: $(tail -1 $OUT/gpu_tests_$v.log)"
    done
    ;;
  sweeps)
    timed="head"
    for v in $VARIANTS; do  # a variant is timed only if all its tests passed
      case "$(tail -1 .dev/gpu_tests_$v.log 2>/dev/null)" in *failed*|*error*|"") ;; *passed*) timed="$timed $v" ;; esac
    done
    echo "timing: $timed"
    for r in 1 2; do
      for v in $timed; do
        MARLIN_QUANT_LIB=.dev/${v}_exp.so timeout 100 python scripts/sweep_wgmma.py --m 33,64,128,256 --configs plan \
          --sets llama2-7b,llama2-70b > $OUT/sweep_${v}_$r.log 2>&1
        echo "== $v $r"; tail -8 $OUT/sweep_${v}_$r.log
      done
    done
    ;;
  splits)
    # Fewer ranges per tile (no partials with /s1) against the planner's stream-K, where the
    # fixup is as large as the multiply (narrow layers at m = 64-128).
    MARLIN_QUANT_LIB=.dev/head_exp.so timeout 400 python scripts/sweep_wgmma.py --m 64,128 \
      --configs plan,plan/s1,plan/s2,64:2:6:2/s1,plan,plan/s1,plan/s2,64:2:6:2/s1 --sets llama2-7b,llama2-70b > $OUT/sweep_splits.log 2>&1
    tail -6 $OUT/sweep_splits.log
    ;;
  *) echo "usage: next_calls.sh checks|tests|sweeps|splits" >&2; exit 2 ;;
esac

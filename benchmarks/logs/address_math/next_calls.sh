#!/bin/bash
# Fifteenth session: checks, the tests of tma_rel / depth / tma_depth_rel / tiled_bulk and their sweeps ran
# (benchmarks/logs/h200_s20/, KERNEL_NOTES). The patches apply to 3a5a324, before words_ahead_mma_depth
# was shipped; cutover and splits have not run.
# The device calls earlier sessions could not make, for the next one. Build first, on the CPU machine:
#   bash benchmarks/logs/address_math/build_variants.sh   (.dev/*_exp.so, ~5.1-5.4 MB each, and the
#   shipped library in marlin_quant/_lib, 14 MB)
# then run one call each, carrying "marlin_quant/_lib" and only the libraries the call uses (all of
# .dev is ~66 MB, over the 64 MiB carry limit), e.g. for `ab tma_rel depth`: [".dev/head_exp.so",
# ".dev/tma_rel_exp.so", ".dev/depth_exp.so", "marlin_quant/_lib"]. Each call stops starting new
# work after 8 minutes, under the 10-minute limit. In this order, ~30 device minutes:
#   next_calls.sh checks                       shipped library: gpu_checks.sh (~5 min)
#   next_calls.sh ab tma_rel depth             GPU tests of two variants (~1.5 min each; the whole
#                                              file took 128 s), then A/B sweeps, two rounds, of
#                                              HEAD and those that passed (~1 min a sweep)
#   next_calls.sh ab tma_depth_rel lds         the same for the next two (tma alone if tma_rel fails)
#   next_calls.sh cutover                      32-token Hopper tiles at m = 9-32 against the tiled
#                                              kernel: their GPU tests, then a sweep (~8 min)
#   next_calls.sh splits                       HEAD with at most 1 or 2 ranges per tile
#   M=9,16,24,32 next_calls.sh ab tiled_bulk   the tiled kernel's weights by bulk copies (m = 9-32)
# `tests` and `sweeps` do the two halves of `ab` separately (for more variants than fit one call;
# `sweeps` reads the tests' logs from .dev/, so copy them there from files_at first).
# Variants: tma (tma_copies), tma_rel (tma_copies + stage_release), lds (stripe_words_ahead),
# depth (words_ahead_mma_depth), tma_depth, tma_depth_rel (the three stacked), wg32 (wg32: 32-token
# tiles, experiment-only), wg32_depth (words_ahead_mma_depth + wg32), tiled_bulk (tiled_bulk).
# M (environment): the sweeps' token counts, 33,64,128,256 unless set.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
mode=$1; shift
VARIANTS="${*:-tma tma_rel lds depth}"
START=$SECONDS
late() { (( SECONDS - START > 480 )) && echo "== out of time: skipping $1" && return 0; return 1; }
case "$mode" in
  checks)
    unset MARLIN_QUANT_LIB
    OUT=$OUT/final timeout 420 bash scripts/gpu_checks.sh
    ;;
  tests|ab)
    for v in $VARIANTS; do
      late "tests $v" && break
      MARLIN_QUANT_LIB=.dev/${v}_exp.so timeout 130 python -m pytest -q -x -p no:cacheprovider tests/test_kernel_gpu.py \
        -k "hopper or m_sweep or llama or deterministic or graph or two_streams or back_to_back" > $OUT/gpu_tests_$v.log 2>&1
      echo "== tests $v: $(tail -1 $OUT/gpu_tests_$v.log)"
    done
    [ "$mode" = tests ] && exit 0
    ;&
  sweeps)
    logs=.dev
    [ "$mode" = ab ] && logs=$OUT
    timed="head"
    for v in ${VARIANTS/head/}; do  # a variant is timed only if all its tests passed
      case "$(tail -1 $logs/gpu_tests_$v.log 2>/dev/null)" in *failed*|*error*|"") ;; *passed*) timed="$timed $v" ;; esac
    done
    echo "timing: $timed"
    for r in 1 2; do
      for v in $timed; do
        late "sweep $v $r" && break 2
        MARLIN_QUANT_LIB=.dev/${v}_exp.so timeout 100 python scripts/sweep_wgmma.py --m ${M:-33,64,128,256} --configs plan \
          --sets llama2-7b,llama2-70b > $OUT/sweep_${v}_$r.log 2>&1
        echo "== $v $r"; tail -8 $OUT/sweep_${v}_$r.log
      done
    done
    ;;
  cutover)
    # 32-token tiles forced on every m >= 9 (MQ_WG_MIN_M=9): correctness first, with the depth
    # patch if it passes, else without; then m = 16 and 32 against the tiled kernel ("off") and
    # the 64-token tiles the planner would take ("plan").
    lib=""
    for v in wg32_depth wg32; do
      ok=1
      for cfg in 32,4,4,2 32,2,8,2; do
        MQ_WG_MIN_M=9 MQ_FORCE_WG=$cfg MARLIN_QUANT_LIB=.dev/${v}_exp.so timeout 120 python -m pytest -q -x -p no:cacheprovider \
          tests/test_kernel_gpu.py -k "m_sweep or small_and_odd or llama or deterministic" > $OUT/gpu_tests_${v}_${cfg//,/_}.log 2>&1
        echo "== tests $v $cfg: $(tail -1 $OUT/gpu_tests_${v}_${cfg//,/_}.log)"
        case "$(tail -1 $OUT/gpu_tests_${v}_${cfg//,/_}.log)" in *failed*|*error*|*rror*) ok=0 ;; *passed*) ;; *) ok=0 ;; esac
      done
      if [ $ok = 1 ]; then lib=$v; break; fi
      late "the second library" && break
    done
    [ -z "$lib" ] && { echo "== no 32-token library passed"; exit 1; }
    MQ_WG_MIN_M=9 MARLIN_QUANT_LIB=.dev/${lib}_exp.so timeout 300 python scripts/sweep_wgmma.py --m 16,32 \
      --configs off,plan,32:4:4:2,32:4:5:2,32:2:8:2 --sets llama2-7b,llama2-70b > $OUT/sweep_cutover_$lib.log 2>&1
    tail -12 $OUT/sweep_cutover_$lib.log
    ;;
  splits)
    # Fewer ranges per tile (no partials with /s1) against the planner's stream-K, where the
    # fixup is as large as the multiply (narrow layers at m = 64-128).
    MARLIN_QUANT_LIB=.dev/head_exp.so timeout 400 python scripts/sweep_wgmma.py --m 64,128 \
      --configs plan,plan/s1,plan/s2,64:2:6:2/s1,plan,plan/s1,plan/s2,64:2:6:2/s1 --sets llama2-7b,llama2-70b > $OUT/sweep_splits.log 2>&1
    tail -6 $OUT/sweep_splits.log
    ;;
  *) echo "usage: next_calls.sh checks | ab|tests|sweeps [variant...] | cutover | splits" >&2; exit 2 ;;
esac

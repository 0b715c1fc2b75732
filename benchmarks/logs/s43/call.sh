#!/bin/bash
# The thirty-eighth session's device calls.
#   call.sh cand      the thirty-seventh session's candidate (h200_s42/call.sh cand, ~8.5 min).
#   call.sh packdeep  (~4.5 min) packed partials of tokens 0-1 at m <= 2 only where a tile's summer
#                     adds ten ranges or more (packdeep/packdeep.patch on h100_s40's packed_rows;
#                     .dev/packdeep_exp.so from h100_s32/build_exp.sh; carry it and marlin_quant/_lib):
#                     smoke, same bits at m = 1 / 2 / 8, two rounds of the sets at m = 1 and 2 (70B 1),
#                     the skinny GPU tests and memcheck on the packed layers.
#   call.sh rc16      (~2.5 min, owed by this session: no device time was left) the shipped library
#                     (carry marlin_quant/_lib, as `pip install -e .` builds it): its GPU tests of the
#                     16-token tiles and Hopper summers, then racecheck of two 16 x 128 shapes
#                     (4096x4096 at m = 16 with its repeats, 4096x4160 with n not a multiple).
# cand is the last session's call as it stands (it sources call_lib.sh itself).
[ "$1" = cand ] && exec bash "$(dirname "$0")/../h200_s42/call.sh" cand
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
packdeep)
  smoke packdeep "--m 1 --k 11008 --n 4096" "--m 2 --k 8192 --n 3072" "--m 1 --k 4096 --n 4096" "--m 2 --k 28672 --n 8192"
  export SAME_BITS_M=1,2,8; same_bits packdeep
  ab 2 1,2 1 packdeep
  checks packdeep 120 "skinny_plan or deterministic or (llama_shapes and (1- or 2-)) or (m_sweep and (1- or 2-)) or small_and_odd or summer or graph" \
    "$SKINNY_MEMCHECK or (deterministic and 1-11008) or (llama_shapes and [1-11008-4096)"
  ;;
rc16)
  timeout 80 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "sixteen_token or hopper_summer or (llama_shapes and [16-)" \
    > "$D/gpu_tests_rel16.log" 2>&1
  echo "== GPU tests ($((SECONDS - start)) s)"; tail -1 "$D/gpu_tests_rel16.log"; pack
  NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=50000000 timeout 90 compute-sanitizer --tool racecheck --print-limit 1000 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "(deterministic and 16-4096-4096) or (sixteen_token and 4096-4160-16-128)" > "$D/racecheck_16x128.log" 2>&1
  echo "== racecheck ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$D/racecheck_16x128.log" | tail -2
  python scripts/racecheck_summary.py "$D/racecheck_16x128.log"; pack
  ;;
*) echo "usage: call.sh cand | packdeep | rc16" >&2; exit 2 ;;
esac

#!/bin/bash
# The twenty-ninth session's device calls (H100). Logs are packed into one tarball after every
# step (a call brings back at most 8 files).
#   call.sh m32   where m = 17-32 spends its time (README: "not yet profiled"): -DMQ_TRACE
#                 timelines of the 7B and 70B layers at m = 16 / 32 (.dev/trace_vh_exp.so: csrc at
#                 HEAD with -DMQ_TRACE; carry it and marlin_quant/_lib), then ncu --set full of one
#                 launch of the release's kernels on 11008x4096 and 4096x4096 at m = 32 and
#                 11008x4096 at m = 16, each with its SASS source page as CSV (for
#                 address_math/top.py) (~4 min).
#   call.sh spread  every share of a split tile sums a slice of it (spread/spread_sum.patch, Hopper
#                 kernel only; .dev/spread_exp.so: -DMQ_EXPERIMENT -DMQ_SPREAD, sm_90a; carry it and
#                 marlin_quant/_lib): same bits as the release at m = 12-128; the release, spread
#                 (every share that ends its range in the tile) and spread4 (MQ_SPREAD=4: at most
#                 four) in turn, two rounds, 7B and 3B sets at m = 16 / 32 / 64, 70B at 16 / 32;
#                 GPU tests of the Hopper tiles and their memcheck (~8 min).
#   call.sh sumtrace  where a Hopper summer's time goes after its wait: -DMQ_TRACE timelines with
#                 the two new stamps (partials added, C stores issued; .dev/trace2_exp.so: csrc at
#                 HEAD with -DMQ_TRACE; carry it and marlin_quant/_lib), 7B layers at m = 16 / 32 /
#                 64, 70B at 16 / 32 (~1.5 min).
#   call.sh after (not run; `sums` measured it) the Hopper summer after the segment loop, more ranges'
#                 partials a trip (after/summer_after_loop.patch; .dev/after_exp.so from
#                 `bash benchmarks/logs/h100_s32/build_exp.sh after
#                 benchmarks/logs/h100_s34/after/summer_after_loop.patch`, and
#                 .dev/trace_after_exp.so: the same with -DMQ_TRACE, sm_90a; .dev/trace2_exp.so: HEAD
#                 with -DMQ_TRACE; carry the three and marlin_quant/_lib): same bits at m = 12-128;
#                 the release and after in turn, two rounds, 7B and 3B sets at m = 16 / 32 / 64,
#                 70B at 16 / 32 / 64; both traced at m = 16 / 32 / 64 (sum_read); after's GPU tests
#                 of the Hopper summers and their memcheck (~8.5 min).
#   call.sh sums  (ran in the thirtieth session: h100_s35/sums/, sums_tests/; instead of `after`)
#                 after, cpack (cpack/c_packed_stores.patch: the Hopper kernel's C as 8-byte
#                 stores after two lane exchanges) and both (the two patches) against the
#                 release: smoke, same bits at m = 12-256, in turn two rounds, 7B and 3B sets at
#                 m = 16 / 32 / 64, 70B at 16 / 32 / 64 (~7 min). Build .dev/{after,cpack,both}_exp.so
#                 with build_exp.sh (both: the two patches); carry them and marlin_quant/_lib.
#   call.sh sums_tests V   V's (after, cpack or both) GPU tests of the Hopper tiles and their
#                 memcheck (~4 min).
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
# ncu_one: in ../h100_s32/call_lib.sh (shared with h200_s42 and s48).
# V's GPU tests matching K first, within SECONDS (the re-arm, pairs and tile shapes, where a hang
# or a wrong sum shows): V SECONDS K, log $D/gpu_tests_V_a.log.
first_tests() {
  timeout "$2" env MARLIN_QUANT_LIB=$(lib_of $1) python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "$3" > "$D/gpu_tests_$1_a.log" 2>&1
  echo "== GPU tests $1 a ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_$1_a.log" | tail -2; pack
}
# -DMQ_TRACE timelines of library V: V NAME M [LAYERS], log $D/NAME.log.
trace() {
  timeout 70 env MARLIN_QUANT_LIB=$(lib_of $1) python scripts/trace_launches.py --m "$3" ${4:+--layers "$4"} > "$D/$2.log" 2>&1
  echo "== trace $2 ($((SECONDS - start)) s)"; cat "$D/$2.log"; pack
}
HOPPER_MEMCHECK="every_hopper_tile or (sixteen_token and (4096-16448-9- or 28672-8192-16-128)) or (hopper_pairs and (20-4096-4096 or 33-4096-4096))"
case "$1" in
m32)
  trace trace_vh trace_7b 16,32
  trace trace_vh trace_70b 16,32 8192x10240,8192x8192,8192x57344,28672x8192
  ncu_one 32 11008 4096
  ncu_one 32 4096 4096
  ncu_one 16 11008 4096
  ;;
spread)
  smoke spread "--m 16 --k 4096 --n 4096" "--m 32 --k 11008 --n 4096"
  SAME_BITS_M=12,16,24,32,64,128 same_bits spread
  for r in 1 2; do
    for v in rel spread spread4; do
      lib=$(lib_of ${v%4}); extra=; [ "$v" = spread4 ] && extra=MQ_SPREAD=4
      timeout 60 env $extra MARLIN_QUANT_LIB=$lib python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b --m 16,32,64 \
        --per-layer > "$D/bench_${v}_$r.log" 2>&1
      timeout 40 env $extra MARLIN_QUANT_LIB=$lib python scripts/bench_kernel.py --sets llama2-70b --m 16,32 \
        --per-layer > "$D/bench70_${v}_$r.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log" "$D/bench70_${v}_$r.log"; pack
    done
  done
  first_tests spread 100 "deterministic or hopper_pairs or every_hopper_tile"
  checks spread 90 "sixteen_token or (summer_partial and 16-) or (llama_shapes and (16- or 32- or 64-))" "$HOPPER_MEMCHECK"
  ;;
sumtrace)
  trace trace2 trace_7b 16,32,64
  trace trace2 trace_70b 16,32 8192x10240,8192x8192,8192x57344,28672x8192
  ;;
after)
  smoke after "--m 16 --k 4096 --n 4096" "--m 32 --k 11008 --n 4096"
  SAME_BITS_M=12,16,24,32,64,128 same_bits after
  ab 2 16,32,64 16,32,64 after
  trace trace2 trace2_7b 16,32,64
  trace trace_after trace_after_7b 16,32,64
  first_tests after 90 "hopper_summer_partial or deterministic or hopper_pairs or every_hopper_tile or (summer_partial and 16-)"
  checks after 80 "sixteen_token or (llama_shapes and (16- or 32- or 64-))" "$HOPPER_MEMCHECK"
  ;;
sums)
  for v in after cpack both; do
    smoke $v "--m 16 --k 4096 --n 4096" "--m 32 --k 11008 --n 4096" "--m 256 --k 4096 --n 4096"
  done
  SAME_BITS_M=12,16,24,32,64,128,256 same_bits after cpack both
  ab 2 16,32,64 16,32,64 after cpack both
  ;;
sums_tests)
  v=${2:?after, cpack or both}
  first_tests $v 150 "hopper_summer_partial or deterministic or hopper_pairs or every_hopper_tile or sixteen_token or large_m"
  checks $v 60 "(llama_shapes and (16- or 32- or 64- or 128-)) or (m_sweep and (17- or 64- or 100- or 256-))" \
    "$HOPPER_MEMCHECK or (hopper_pairs and 200-8192-8192)"
  ;;
*) echo "usage: call.sh m32 | spread | sumtrace | after | sums | sums_tests V" >&2; exit 2 ;;
esac
pack

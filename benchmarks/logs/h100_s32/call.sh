#!/bin/bash
# The twenty-seventh session's device calls (H100; carry what a mode names). Logs are packed into
# one tarball after every step (a call brings back at most 8 files).
#   call.sh floor   where the fixed cost of a small layer goes on the H100, where the targets were
#                   set: scripts/stream_floor.cu (.dev/floor) at one and two blocks per SM on the
#                   7B and 70B layers' weight bytes (the H200 numbers in the README are from the
#                   eighth session), then a -DMQ_TRACE timeline of this release (.dev/trace.so,
#                   nvcc -DMQ_TRACE of csrc/ at HEAD) on the 7B layers at m = 1 / 8 / 16 and the 70B
#                   layers at m = 1 / 16 (~3 min).
#   call.sh sum     the summer's reads split over k-warps (rejected; see the mode)
#   call.sh grp     the summers' partials four ranges a round trip (not yet run; see the mode)
#   call.sh summers, summers_tests   grp and dct (a crossing range's count at its end) together
#   call.sh either  see the mode below: the H200 chunk sweep owed, or on an H100 the two
#                   benchmark rows that moved between starts.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
floor)
  # Weight bytes only (scales add 3%): 4096x12288, 4096x4096, 4096x22016, 11008x4096 (7B);
  # 8192x10240, 8192x8192, 8192x57344, 28672x8192 (70B).
  for per_sm in 1 2; do
    timeout 60 .dev/floor --per-sm $per_sm 25.2 8.4 45.1 22.5 41.9 33.6 234.9 117.4 > "$D/floor_$per_sm.log" 2>&1
    echo "== floor, $per_sm per SM ($((SECONDS - start)) s)"; cat "$D/floor_$per_sm.log"; pack
  done
  timeout 150 env MARLIN_QUANT_LIB=.dev/trace.so python scripts/trace_launches.py --m 1,8,16 > "$D/trace_7b.log" 2>&1
  echo "== trace ($((SECONDS - start)) s)"; cat "$D/trace_7b.log"; pack
  timeout 120 env MARLIN_QUANT_LIB=.dev/trace.so python scripts/trace_launches.py --m 1,16 \
    --layers 8192x57344,28672x8192,8192x10240,8192x8192 > "$D/trace_70b.log" 2>&1
  echo "== trace 70B ($((SECONDS - start)) s)"; cat "$D/trace_70b.log"
  ;;
either)
  # On an H200: the twenty-sixth session's owed chunk sweep (h200_s31/call.sh d: four against two
  # chunks a tile, same process, two rounds; carry .dev/head_exp.so), whose rule was measured on
  # the H100 only. On an H100: the release's benchmark rows that moved between machine starts
  # (7B m = 64, 70B m = 32), three times in one process each, to place this start among the
  # others (~1.5 min).
  if grep -q H200 "$D/gpu_$1.txt"; then
    timeout 200 env MARLIN_QUANT_LIB=.dev/head_exp.so python scripts/sweep_wgmma.py --m 1,4,8 \
      --configs plan,sk=8:2:4,sk=8:2:2,plan,sk=8:2:4,sk=8:2:2 --sets llama2-7b,llama2-70b,llama3.2-3b > "$D/sweep_chunks_h200.log" 2>&1
    echo "== sweep ($((SECONDS - start)) s)"; grep -A12 "^totals" "$D/sweep_chunks_h200.log"; grep "11008x4096\|13824\|14336" "$D/sweep_chunks_h200.log"
  fi
  for r in 1 2 3; do
    timeout 100 python scripts/bench_kernel.py --m 32,64 --per-layer > "$D/bench_m32_64_$r.log" 2>&1
    echo "== bench m = 32 / 64, round $r ($((SECONDS - start)) s)"; grep "^llama" "$D/bench_m32_64_$r.log"; pack
  done
  ;;
sum)
  # The skinny summer's partial reads split over a chunk's k-warps (.dev/sum_exp.so, sm_90a build
  # of the working tree then, now sum/summer_split.patch; carry it and marlin_quant/_lib, the
  # release at HEAD): the same bits as the release on the summing shapes; the release and the
  # variant in turn, 7B and Llama-3.2-3B sets at m = 1 / 4 / 8, two rounds; the variant's GPU
  # tests of the skinny paths; memcheck of its summing shapes (~5 min). (Ran in the twenty-seventh
  # session, before these helpers; the bits step failed then: same_bits.py lacked the repository
  # on its import path.)
  same_bits sum
  ab 2 1,4,8 "" sum
  checks sum 110 "$SKINNY_TESTS" "$SKINNY_MEMCHECK"
  ;;
grp)
  # The summers' partials several ranges a round trip, the last round predicated, instead of
  # `#pragma unroll N`, which runs the count % N leftover ranges first, one trip each
  # (grp/summer_groups.patch: the skinny kernel, four ranges a trip, m <= 8; the unpaired
  # 16 x 256 Hopper tile, four a trip, m = 9-16 at groups of 128 below 2^27 weights;
  # .dev/grp_exp.so from grp/build.sh; carry it and marlin_quant/_lib): the same bits as the
  # release (same additions in the same order), then the release and the variant in turn, two
  # rounds (7B and Llama-3.2-3B sets at m = 1 / 4 / 8 / 16, 70B at m = 1 / 16, where 16 x 512 is
  # unchanged: a control), then the variant's GPU tests and memcheck (~6 min).
  same_bits grp
  ab 2 1,4,8,16 1,16 grp
  checks grp 120 "$SUMMER_TESTS" "$SUMMER_MEMCHECK"
  ;;
summers)
  # Both of the session's unmeasured summer changes against the release, in one call (~5.5 min):
  # grp (above) and dct (dct/deferred_count.patch: a crossing range counts its first segment in
  # at its own end, where no weight load is in flight for the release to wait for). Build both:
  #   bash benchmarks/logs/h100_s32/build_exp.sh grp benchmarks/logs/h100_s32/grp/summer_groups.patch
  #   bash benchmarks/logs/h100_s32/build_exp.sh dct benchmarks/logs/h100_s32/dct/deferred_count.patch
  # and carry .dev/grp_exp.so, .dev/dct_exp.so, marlin_quant/_lib. Same bits as the release for
  # each (both keep the additions and their order), then the three libraries in turn, two
  # rounds, as in grp. `summers_tests` (next call, ~4 min): both variants' GPU tests, memcheck.
  same_bits grp dct
  ab 2 1,4,8,16 1,16 grp dct
  ;;
summers_tests)
  for v in grp dct; do checks $v 100 "$SUMMER_TESTS" "$SUMMER_MEMCHECK"; done
  ;;
*) echo "usage: call.sh floor | either | sum | grp | summers | summers_tests" >&2; exit 2 ;;
esac
pack

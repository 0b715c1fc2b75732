#!/bin/bash
# The twenty-eighth session's device calls (H100). Logs are packed into one tarball after every
# step (a call brings back at most 8 files).
#   call.sh split   grp (h100_s32/grp/summer_groups.patch) without its four-chunk skinny part
#                   (split/summer_groups_split.patch; .dev/split_exp.so from
#                   `bash benchmarks/logs/h100_s32/build_exp.sh split
#                   benchmarks/logs/h100_s33/split/summer_groups_split.patch`; carry it and
#                   marlin_quant/_lib, the release): the same bits as the release at m = 1 / 3 / 8
#                   / 12 / 16 (h100_s32/same_bits.py with SAME_BITS_M; run then as a copy here);
#                   the release and split in turn, two rounds (7B and Llama-3.2-3B sets at m = 1 /
#                   4 / 8 / 16, 70B at m = 1 / 16); split's GPU tests of the summing paths and
#                   their memcheck (~6 min).
#   call.sh vh      the same four-range summer on four-chunk skinny tiles (not g32), its offsets from
#                   a fresh read of the thread index (vh/summer_four_chunk.patch on the release;
#                   .dev/vh_exp.so from build_exp.sh; carry it and marlin_quant/_lib): same bits;
#                   the release and vh in turn, two rounds, 7B and 3B sets at m = 1 / 4 / 8, 70B at
#                   m = 1; vh's GPU tests of the skinny paths and their memcheck (~5.5 min).
#   call.sh h2      (written, not run) two ranges a round trip in the Hopper summers of 16 x 512
#                   and 32 x 256 tiles, grouped scales, unpaired (h2/hopper_two_ranges.patch;
#                   .dev/h2_exp.so from `bash benchmarks/logs/h100_s32/build_exp.sh h2
#                   benchmarks/logs/h100_s33/h2/hopper_two_ranges.patch`; carry it and
#                   marlin_quant/_lib): same bits at m = 12 / 16 / 24 / 32; the release and h2 in
#                   turn, two rounds, 7B and 70B sets at m = 16 / 24 / 32; h2's GPU tests of the
#                   16- and 32-token tiles and their memcheck (~7 min).
#   call.sh trace   why 4096x12288 and 11008x4096 lose 0.1-0.2 us with the four-chunk summer loop
#                   (vh): -DMQ_TRACE timelines of the 7B layers at m = 1 / 8, split (6beaab7's
#                   csrc) against the release (vh), two rounds (~3 min). Build on the CPU machine
#                   (carry both and marlin_quant/_lib):
#                     nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -lineinfo -DMQ_TRACE \
#                       -gencode arch=compute_90a,code=sm_90a csrc/marlin_kernel.cu -o .dev/trace_vh_exp.so
#                   and the same from a worktree at 6beaab7 into .dev/trace_split_exp.so (the two
#                   differ in the 3 four-chunk skinny kernels only; the stamps change the code, so
#                   the loss may not reproduce under tracing).
#   call.sh ship    scripts/gpu_checks.sh on the shipped library (csrc at HEAD; carry
#                   marlin_quant/_lib), the benchmark first, logs under $OUT/final (~7 min).
#   call.sh ship_short   the same in less time (NO_BENCH=1: no benchmark); see the mode.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
export SAME_BITS_M=1,3,8,12,16  # same_bits.py's shapes on the 16-token Hopper tiles too
case "$1" in
split)
  same_bits split
  ab 2 1,4,8,16 1,16 split
  checks split 110 "$SUMMER_TESTS" "$SUMMER_MEMCHECK"
  ;;
vh)
  same_bits vh
  ab 2 1,4,8 1 vh
  checks vh 200 "$SKINNY_TESTS or (summer_partial and (1- or 8-))" "$SKINNY_MEMCHECK or (summer_partial and 1-2048-1024)"
  ;;
h2)
  SAME_BITS_M=12,16,24,32 same_bits h2
  ab 2 16,24,32 16,24,32 h2
  checks h2 150 "sixteen_token or every_hopper_tile or (m_sweep and (16- or 17- or 31- or 32-)) or (llama_shapes and (16- or 32-))" \
    "(sixteen_token and (8192-8192-12- or 28672-8192-16-128)) or every_hopper_tile"
  ;;
trace)
  for r in 1 2; do
    for v in trace_split trace_vh; do
      timeout 80 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/trace_launches.py --m 1,8 > "$D/${v}_$r.log" 2>&1
      echo "== $v $r ($((SECONDS - start)) s)"; cat "$D/${v}_$r.log"; pack
    done
  done
  ;;
ship)
  BENCH_FIRST=1 OUT=$OUT/final timeout 470 bash scripts/gpu_checks.sh
  echo "== gpu_checks rc=$? ($((SECONDS - start)) s)"
  gzip -f "$OUT/final/racecheck.log"
  ;;
ship_short)
  # gpu_checks.sh's steps in less device time: the benchmark, the GPU test file, the memcheck
  # subset, and racecheck of the skinny determinism tests only (the release changes skinny
  # kernels; the full subset's Hopper pairs take most of its 130 s). Logs under $OUT/final.
  # NO_BENCH=1: without the benchmark.
  F=$OUT/final; mkdir -p "$F"
  [ "${NO_BENCH:-}" = 1 ] || timeout 90 python scripts/bench_kernel.py --json "$F/bench.json" > "$F/bench.log" 2>&1
  echo "== bench ($((SECONDS - start)) s)"; grep "^llama\|device" "$F/bench.log"
  timeout 210 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py 2>&1 | grep -v DEBUG > "$F/gpu_tests.log"
  echo "== GPU tests ($((SECONDS - start)) s)"; tail -1 "$F/gpu_tests.log"
  timeout 40 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "(small_and_odd and (1- or 7- or 16- or 20- or 33- or 300-)) or every_hopper_tile or (sixteen_token and (4096-16448-9- or 8192-8192-12- or 28672-8192-16-128)) or (hopper_pairs and (20-4096-4096 or 33-4096-4096 or 200-8192-8192)) or (skinny_plan and (5-11008-4096-128 or 1-4096-4096-64))" > "$F/memcheck.log" 2>&1
  echo "== memcheck ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$F/memcheck.log" | tail -2
  timeout 50 compute-sanitizer --tool racecheck --print-limit 1000 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "deterministic and (1-4096 or 8-4096 or 1-11008 or 8-11008)" > "$F/racecheck.log" 2>&1
  echo "== racecheck ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$F/racecheck.log" | tail -2
  ;;
*) echo "usage: call.sh split | vh | h2 | trace | ship | ship_short" >&2; exit 2 ;;
esac
pack

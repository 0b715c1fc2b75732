#!/bin/bash
# The thirtieth session's device calls (H100). Logs are packed into one tarball after every step.
#   call.sh ab    the candidate release (marlin_quant/_lib built from csrc with
#                 cpack32/c_packed_stores_32.patch: the Hopper kernel's C as 8-byte stores on 32-,
#                 64- and 128-token tiles; 16-token tiles as before) against the current release
#                 (.dev/vh_exp.so: csrc 07f199bb, sm_90a, release flags; carry it and
#                 marlin_quant/_lib): smoke, same bits at m = 12-256, then "rel" (here: the
#                 candidate) and vh in turn, two rounds, 7B and 3B sets at m = 16-256, 70B at
#                 m = 32-256 (~4 min). cpack32/c_packed_stores_32.patch is csrc's change against
#                 07f199bb as shipped; the library measured was built from it before its comment's
#                 last edit (the same SASS, sass_same.py).
#   call.sh ship  scripts/gpu_checks.sh on the candidate, benchmark first, logs under $OUT/final.
#   call.sh ab_large  two more rounds of ab at m = 128 / 256, all three sets (~2 min; this session ran
#                 it as `. call_lib.sh ab_large && ab 2 128,256 128,256 vh` from h100_s32/, the same).
#   call.sh ab256 three more rounds at m = 256, all three sets (~2 min): whether the 128-token
#                 tiles' packed stores gain (7B) or lose (70B) beyond the runs' spread.
#   call.sh c128  (written, not run) cpack64 (cpack64/c_2byte_128.patch: 128-token tiles back to
#                 2-byte stores; .dev/cpack64_exp.so from `bash benchmarks/logs/h100_s32/build_exp.sh
#                 cpack64 benchmarks/logs/h100_s35/cpack64/c_2byte_128.patch`; carry it and
#                 marlin_quant/_lib, the release) against the release: smoke, same bits at m = 64 /
#                 128 / 256, five rounds at m = 128 / 256 on all three sets, then cpack64's GPU tests
#                 of the large-m and Hopper tiles and their memcheck (~7.5 min).
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
ab)
  smoke rel "--m 32 --k 11008 --n 4096" "--m 64 --k 4096 --n 4096" "--m 256 --k 4096 --n 4096"
  SAME_BITS_M=12,16,24,32,64,128,256 same_bits vh
  ab 2 16,32,64,128,256 32,64,128,256 vh
  ;;
ab_large) ab 2 128,256 128,256 vh ;;
ab256) ab 3 256 256 vh ;;
c128)
  smoke cpack64 "--m 128 --k 4096 --n 22016" "--m 256 --k 8192 --n 8192"
  SAME_BITS_M=64,128,256 same_bits cpack64
  ab 5 128,256 128,256 cpack64
  checks cpack64 100 "large_m or every_hopper_tile or (llama_shapes and 256-) or (m_sweep and (128- or 256- or 300-))" \
    "every_hopper_tile or (small_and_odd and 300-)"
  ;;
ship)
  BENCH_FIRST=1 OUT=$OUT/final timeout 575 bash scripts/gpu_checks.sh
  echo "== gpu_checks rc=$? ($((SECONDS - start)) s)"
  gzip -f "$OUT/final/racecheck.log"
  ;;
*) echo "usage: call.sh ab | ship | ab_large | ab256 | c128" >&2; exit 2 ;;
esac
pack

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
#   call.sh c128 [V ...]  (written, not run) 128-token tiles' C stores against the release
#                 (marlin_quant/_lib): cpack64 (cpack64/c_2byte_128.patch: 2-byte stores, as before
#                 this release) and cpack4 (cpack4/c_4byte_128.patch: one lane exchange, two 4-byte
#                 stores a lane; its per-channel 128 x 256 six-stage kernel spills 4 bytes, so it
#                 could not ship as is). Build .dev/V_exp.so with `bash
#                 benchmarks/logs/h100_s32/build_exp.sh V PATCH`; carry them and marlin_quant/_lib.
#                 Smoke, same bits at m = 64 / 128 / 256, then the release and V... in turn, five
#                 rounds with one variant, three with two, at m = 128 / 256 on all three sets (one
#                 variant ~4.5 min, two ~5.5 min). Default V: cpack64.
#   call.sh c128_tests V  V's GPU tests of the large-m and Hopper tiles and their memcheck (~2.5 min).
#   call.sh p32   (written, not run) the planner's 32 x 256 tiles with scales after the MMA on every
#                 layer at m = 17-32, groups of 128 (p32/post_32x256_everywhere.patch, host code only:
#                 the same kernels; only 8192x57344 and 28672x8192 change plan among the benchmark's
#                 layers, from 32 x 512 with scales before the MMA). .dev/p32_exp.so from build_exp.sh;
#                 carry it and marlin_quant/_lib. Smoke; the release and p32 in turn, three rounds,
#                 7B and 3B at m = 32 (the same plans: the runs' spread), 70B at m = 17 / 24 / 32; p32's
#                 GPU tests at m = 17-32 and their memcheck (~5 min). If it wins, p32/ship_p32.patch
#                 is the release change (planner comment with a MEASUREMENT placeholder to fill in,
#                 the m = 17-32 rule in test_ops_cpu.py::test_plan_hopper_path, which passes on
#                 .dev/p32_exp.so and fails on the current release, and the README's tile list).
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
  shift; vs=("${@:-cpack64}")
  for v in "${vs[@]}"; do smoke $v "--m 128 --k 4096 --n 22016" "--m 256 --k 8192 --n 8192"; done
  SAME_BITS_M=64,128,256 same_bits "${vs[@]}"
  ab $(( ${#vs[@]} == 1 ? 5 : 3 )) 128,256 128,256 "${vs[@]}"
  ;;
p32)
  smoke p32 "--m 32 --k 8192 --n 57344" "--m 24 --k 28672 --n 8192"
  ab 3 32 17,24,32 p32
  checks p32 100 "(llama_shapes and 32-) or (m_sweep and (17- or 24- or 31- or 32-)) or deterministic" \
    "(llama_shapes and (32-28672-8192-128 or 32-8192-57344-128)) or (small_and_odd and 20-)"
  ;;
c128_tests)
  checks ${2:?V} 100 "large_m or every_hopper_tile or (llama_shapes and 256-) or (m_sweep and (128- or 256- or 300-))" \
    "every_hopper_tile or (small_and_odd and 300-)"
  ;;
ship)
  BENCH_FIRST=1 OUT=$OUT/final timeout 575 bash scripts/gpu_checks.sh
  echo "== gpu_checks rc=$? ($((SECONDS - start)) s)"
  gzip -f "$OUT/final/racecheck.log"
  ;;
*) echo "usage: call.sh ab | ship | ab_large | ab256 | c128 [V ...] | c128_tests V | p32" >&2; exit 2 ;;
esac
pack

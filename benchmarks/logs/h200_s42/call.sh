#!/bin/bash
# The thirty-seventh session's device calls (the machine that came was an H200).
#   call.sh ncu   ncu --set full of the release at m = 16 on two 7B layers (wgmma 16 x 256 tiles)
#                 and at m = 1 (skinny kernel): whether the wgmma stage loop is issue-bound, the
#                 question the 16 x 128 costing (h100_s41) left open. Carry marlin_quant/_lib.
#   call.sh desc  (~8 min) the Hopper tiles' wgmma descriptors built once a stage (desc/desc_lo.patch,
#                 .dev/desc_exp.so from `h100_s32/build_exp.sh desc ...`; carry it and
#                 marlin_quant/_lib) against the release: smoke, same bits at m = 9-256, two rounds
#                 of the 7B / 3B / 70B sets at m = 16, 32, 64, 128 and 256, the Hopper GPU tests and
#                 memcheck.
#   call.sh cand  (~8.5 min) desc plus 16 x 128 tiles for groups of 128 at m = 9-16 below 2^25
#                 weights (cand/cand.patch, with cand/tests.patch for the tests that follow its planner;
#                 .dev/cand_exp.so from build_exp.sh; carry it, .dev/desc_exp.so and marlin_quant/_lib):
#                 smoke, desc's same bits at m = 9-256, two rounds of release / desc / cand (7B and 3B
#                 sets at m = 12, 16, 64, 256; 70B at 16, 256), then cand's GPU tests of the Hopper
#                 tiles, memcheck.
#   call.sh candq (~6.5 min) cand's steps for a call of little device time: same bits at m = 16 / 64 /
#                 256, two rounds at m = 16 / 64 (70B 16), a shorter test run and memcheck.
#   call.sh candt (~3.5 min) the least that can decide cand: smoke, one round at m = 16 / 64 (70B
#                 16), its GPU tests of the 16-token tiles and summers, memcheck, then desc's same bits.
#   call.sh candm (~2.5 min) for the session's last device seconds: candt without desc's own timing
#                 and bits (release / cand at m = 16 only), with a shorter memcheck.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
# The candidate's tests of the 16-token tiles and summers (candt, candm) and its memcheck shapes:
# the 16 x 128 tile with n not a multiple of it, and a summer reading 14-15 partials.
CAND_TESTS="sixteen_token or hopper_summer or (m_sweep and (9- or 16- or 64-)) or (llama_shapes and [16-) or (deterministic and (16- or 12-)) or hopper_path or every_hopper"
CAND_MEMCHECK="(sixteen_token and 4096-4160-16-128) or (hopper_summer and 16-5632-1024-128)"
case "$1" in
ncu)
  ncu_one 16 4096 22016
  ncu_one 16 11008 4096
  ncu_one 1 4096 22016
  ncu_one 16 4096 4096
  ;;
desc)
  smoke desc "--m 16 --k 4096 --n 4096" "--m 32 --k 11008 --n 4096" "--m 64 --k 8192 --n 3072" "--m 256 --k 4096 --n 4096"
  export SAME_BITS_M=9,16,24,32,64,128,256; same_bits desc
  ab 2 16,32,64,128,256 16,32,64,128,256 desc
  checks desc 150 "$SUMMER_TESTS or hopper or (m_sweep and (17- or 31- or 32- or 64- or 100- or 128- or 256-)) or (llama_shapes and (32- or 128-))" \
    "(m_sweep and 16-128) or (deterministic and 12-8192) or (sixteen_token and 11008-4096-16-128)"
  ;;
cand)
  smoke cand "--m 16 --k 4096 --n 4096" "--m 12 --k 8192 --n 3072" "--m 9 --k 4096 --n 4160" "--m 32 --k 11008 --n 4096" \
    "--m 256 --k 4096 --n 4096"
  export SAME_BITS_M=9,16,32,64,128,256; same_bits desc
  ab 2 12,16,64,256 16,256 desc cand
  checks cand 150 "$SUMMER_TESTS or hopper or (m_sweep and (17- or 32- or 64- or 128- or 256-)) or (llama_shapes and (32- or 128-))" \
    "(m_sweep and 16-128) or (deterministic and 12-8192) or $CAND_MEMCHECK"
  ;;
candq)
  smoke cand "--m 16 --k 4096 --n 4096" "--m 9 --k 4096 --n 4160" "--m 32 --k 11008 --n 4096"
  export SAME_BITS_M=16,64,256; same_bits desc
  ab 2 16,64 16 desc cand
  checks cand 120 "hopper or sixteen_token or (m_sweep and (9- or 12- or 16- or 32- or 64- or 256-)) or (llama_shapes and [16-) or deterministic" \
    "(m_sweep and 16-128) or $CAND_MEMCHECK"
  ;;
candt)
  smoke cand "--m 16 --k 4096 --n 4096" "--m 9 --k 4096 --n 4160" "--m 64 --k 11008 --n 4096"
  ab 1 16,64 16 desc cand
  checks cand 90 "$CAND_TESTS" \
    "(m_sweep and 16-128) or $CAND_MEMCHECK"
  export SAME_BITS_M=16,64; same_bits desc
  ;;
candm)
  smoke cand "--m 16 --k 4096 --n 4096" "--m 9 --k 4096 --n 4160"
  ab 1 16 16 cand
  checks cand 75 "$CAND_TESTS" \
    "$CAND_MEMCHECK"
  ;;
*) echo "usage: call.sh ncu | desc | cand | candq | candt | candm" >&2; exit 2 ;;
esac
pack

#!/bin/bash
# The thirty-ninth session's device calls (two on one warm machine, each under the 600 s limit).
#   call.sh rc16   (~5 min; carry marlin_quant/_lib as `pip install -e .` builds it, and
#                  .dev/c32x_exp.so) the owed racecheck of the 16 x 128 tiles and the shipped
#                  library's 16-token GPU tests, with the new 16 x 256 summer-count layers
#                  (tests/summer_shapes.py SIXTEEN_WIDE_SUMMER_PARTIALS); then same-process sweeps of
#                  128-column tiles (c32x_exp.so: c32/c32.patch with -DMQ_EXPERIMENT): at m = 17 / 24 /
#                  32 the release's 32 x 256 against 32 x 128 with 8 / 6 / 12 stages (six: 105 KB, two
#                  blocks an SM), at m = 16 16 x 128 with 8 / 16 stages against 16 x 256; 7B and 3B sets.
#   call.sh c32    (~7 min; carry .dev/c32_exp.so, .dev/c32s6_exp.so, .dev/umod_exp.so,
#                  marlin_quant/_lib) the candidates: 32 x 128 tiles (8 or 6 stages, never paired)
#                  for groups of 128 at m = 17-32 below 2^25 weights (c32/c32.patch, c32/c32s6.patch),
#                  and umod (umod.patch: the wgmma kernel's stage buffer index in unsigned arithmetic
#                  and each stage's descriptor low word from one built at the start; its stage loops
#                  lose 1-22 instructions). Smoke, two rounds of release / c32 / c32s6 / umod at
#                  m = 24 / 32 (7B and 3B sets; no 70B layer is under 2^25), then c32's GPU tests of
#                  the Hopper tiles at m = 17-32 (test_hopper_pairs' two g128 shapes under 2^25 are
#                  expected to fail their pairing assertion: those layers no longer pair) and memcheck.
#   call.sh umod   (~5 min; carry .dev/umod_exp.so, marlin_quant/_lib) umod's same bits at m = 9-256,
#                  two rounds of release / umod at m = 16 / 64 / 256 (70B at 16), its Hopper GPU tests
#                  and memcheck.
#   call.sh ship   (~8 min; carry .dev/ship_exp.so = ship.patch, this session's csrc, for sm_90a)
#                  the release candidate, umod plus 32 x 128 tiles (six stages) for groups of 128 at
#                  m = 17-32 where n < 8192: smoke, same bits as the release at m = 9-16 and 64-256,
#                  the whole GPU test file, memcheck of the 32 x 128 shapes, the benchmark (JSON),
#                  then one round of release / ship at m = 24 / 32.
#   call.sh next   (written for the next session, ~4 min; carry marlin_quant/_lib as
#                  `pip install -e .` builds it, .dev/head44x_exp.so from
#                  `DEFS=-DMQ_EXPERIMENT bash benchmarks/logs/s44/build.sh head44x_exp` and
#                  .dev/cand_exp.so, the release before's sm_90a library): racecheck of the 32 x 128
#                  tile (m = 24 on 4096x4096, m = 25 on 1536x576), the m = 17-32 width threshold on
#                  the Llama-3-8B and Qwen2-7B sets (32 x 256 against 32 x 128, same process, two
#                  rounds), then ab128.sh's m = 128 comparison.
#   (c32/c32r.patch, six stages held to 128 registers for two blocks an SM, spills 23 loads and
#   stores in its stage loop; built as .dev/c32r_exp.so, not run.)
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
# racecheck of the GPU tests TESTS-K on the default library, its log $D/racecheck_NAME.log: NAME TESTS-K.
racecheck() {
  NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=50000000 timeout 90 compute-sanitizer --tool racecheck --print-limit 1000 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "$2" > "$D/racecheck_$1.log" 2>&1
  echo "== racecheck ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$D/racecheck_$1.log" | tail -2
  python scripts/racecheck_summary.py "$D/racecheck_$1.log"; pack
}
case "$1" in
rc16)
  timeout 100 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "sixteen_token or hopper_summer or sixteen_wide or (llama_shapes and [16-)" > "$D/gpu_tests_rel16.log" 2>&1
  echo "== GPU tests ($((SECONDS - start)) s)"; tail -1 "$D/gpu_tests_rel16.log"; pack
  racecheck 16x128 "(deterministic and 16-4096-4096) or (sixteen_token and 4096-4160-16-128)"
  timeout 150 env MARLIN_QUANT_LIB=.dev/c32x_exp.so python scripts/sweep_wgmma.py --m 17,24,32 --sets llama2-7b,llama3.2-3b \
    --configs 32:2:8:2,32:1:8:2,32:1:6:2,32:1:12:2,32:2:8:2,32:1:8:2,32:1:6:2 > "$D/sweep32.log" 2>&1
  echo "== sweep32 rc=$? ($((SECONDS - start)) s)"; grep -A8 "^totals" "$D/sweep32.log"; pack
  timeout 90 env MARLIN_QUANT_LIB=.dev/c32x_exp.so python scripts/sweep_wgmma.py --m 16 --sets llama2-7b,llama3.2-3b \
    --configs plan,16:1:8:2,16:1:16:2,16:2:8:2,plan,16:1:16:2 > "$D/sweep16.log" 2>&1
  echo "== sweep16 rc=$? ($((SECONDS - start)) s)"; grep -A8 "^totals" "$D/sweep16.log"; pack
  ;;
c32)
  smoke c32 "--m 32 --k 4096 --n 4096" "--m 17 --k 3072 --n 3072" "--m 25 --k 1536 --n 576"
  smoke c32s6 "--m 32 --k 4096 --n 4096" "--m 17 --k 3072 --n 3072"
  smoke umod "--m 16 --k 4096 --n 4096" "--m 32 --k 11008 --n 4096" "--m 256 --k 4096 --n 4096" "--m 64 --k 8192 --n 8192"
  ab 2 24,32 "" c32 c32s6 umod
  checks c32 150 "(hopper_summer and [32-) or hopper_pairs or every_hopper or hopper_path or (m_sweep and (17- or 31- or 32-)) or (llama_shapes and [32-) or (small_and_odd and [20-) or (deterministic and 24-)" \
    "(hopper_summer and 32-5632-1024-128) or (m_sweep and 31-128) or (every_hopper_tile and 25-576-1536-128) or (deterministic and 24-)"
  ;;
umod)
  export SAME_BITS_M=9,16,32,64,128,256; same_bits umod
  ab 2 16,64,256 16 umod
  checks umod 120 "hopper_summer or hopper_pairs or every_hopper or sixteen_token or (m_sweep and (17- or 32- or 64- or 256-)) or (deterministic and (16- or 24- or 64- or 300- or 12-))" \
    "(hopper_pairs and 33-4096-4096-128) or (every_hopper_tile and 40-14336-1536-128) or (sixteen_token and 4096-4160-16-128)"
  ;;
ship)
  smoke ship "--m 32 --k 4096 --n 4096" "--m 17 --k 11008 --n 4096" "--m 25 --k 1536 --n 576" "--m 16 --k 4096 --n 4096"
  export SAME_BITS_M=9,16,64,128,256; same_bits ship
  timeout 240 env MARLIN_QUANT_LIB=.dev/ship_exp.so python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    > "$D/gpu_tests_ship_full.log" 2>&1
  echo "== GPU tests ship ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_ship_full.log" | grep -E "FAILED|passed|failed" | tail -5; pack
  timeout 60 env MARLIN_QUANT_LIB=.dev/ship_exp.so compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q \
    -p no:cacheprovider tests/test_kernel_gpu.py -k "(hopper_summer and 32-5632-1024-128) or (m_sweep and 31-128) or (every_hopper_tile and 25-576-1536-128) or (deterministic and 24-) or (hopper_pairs and 20-4096-4096-128)" \
    > "$D/memcheck_ship.log" 2>&1
  echo "== memcheck ship ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_ship.log" | tail -2; pack
  timeout 140 env MARLIN_QUANT_LIB=.dev/ship_exp.so python scripts/bench_kernel.py --json "$D/h100_ship.json" > "$D/bench_ship.log" 2>&1
  echo "== bench ship rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_ship.log"; pack
  ab 1 24,32 "" ship
  ;;
next)
  racecheck 32x128 "(deterministic and 24-4096-4096) or (every_hopper_tile and 25-576-1536-128)"
  timeout 150 env MARLIN_QUANT_LIB=.dev/head44x_exp.so python scripts/sweep_wgmma.py --m 17,24,32 --sets llama3-8b,qwen2-7b \
    --configs 32:2:8:2,32:1:6:2,32:2:8:2,32:1:6:2 > "$D/sweep_width.log" 2>&1
  echo "== sweep_width rc=$? ($((SECONDS - start)) s)"; grep -A8 "^totals" "$D/sweep_width.log"; pack
  NEW_LIB=marlin_quant/_lib/libmarlin_quant_kernels.so bash "$(dirname "$0")/ab128.sh"
  ;;
*) echo "usage: call.sh rc16 | c32 | umod | ship | next" >&2; exit 2 ;;
esac

#!/bin/bash
# The forty-sixth session's device calls (H100). The release before is .dev/rel51_pip.so (HEAD
# cfba8a3's `pip install -e .` library); the candidate is marlin_quant/_lib as `pip install -e .`
# builds this tree: the 16 x 128 tile (two blocks an SM) for groups of 32 / 64 and per channel at
# m = 9-16 up to 2^26 weights, where the tiled kernel ran before (s51/occg/ swept it).
#   call.sh ship  (~6 min; carry marlin_quant/_lib and .dev/rel51_pip.so) smoke of the new plans,
#                 one A/B round at m = 9 / 16 with groups of 64 and per channel (7B, 3B, 70B per
#                 layer), then the GPU test file.
#   call.sh ship2 (~6 min; carry as ship) the test ship's GPU test file failed on (it asserted the
#                 old rule; mended), memcheck and racecheck of the new tile's cases, the second
#                 A/B round, then the Llama-2 benchmark JSON.
#   call.sh c32g  (~1.5 min; carry .dev/c32gx_exp.so) 32 x 128 tiles with scales in the loop at
#                 m = 17 / 32 (groups of 64, per channel; 7B, 3B) and 16 x 256 at m = 16 (groups
#                 of 64; 7B, 70B) against the plan.
#   call.sh ship32 (~6 min; carry marlin_quant/_lib, .dev/rel52_pip.so) the 32 x 128 rule for every
#                 group size: smoke, the GPU test file, one A/B round at m = 17 / 32 (groups of 64,
#                 per channel) while under STOP (330) seconds.
#   call.sh owed  (~3 min, written, not run; carry as ship32) memcheck / racecheck of the non-POST
#                 32 x 128 kernels and ship32's second A/B round.
#   call.sh w64g  (~4 min, written, not run; carry .dev/headx52_exp.so) 64 x 256 tiles against
#                 the plan with groups of 64 and per channel at m = 33 / 64 / 129 / 256.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
REL=.dev/rel51_pip.so
# Groups of 64 and per channel at m = 9 / 16 (7B, 3B, 70B), the release before the 16 x 128 change
# against it: ROUND.
ab16() { ab_groups 16 "$REL" "$1" 9,16 llama2-7b,llama3.2-3b,llama2-70b 64 -1; }
# The new tile's cases with scales in the loop: its summers' extreme partial counts (1-2, 15-16),
# a layer whose n is not a multiple of the tile, the deep 11008x4096, each at groups of 32 / 64 and
# per channel.
NEW_TILE_CASES="tests/test_kernel_gpu.py::test_sixteen_narrow_summer_partial_counts[640-13568-64]
tests/test_kernel_gpu.py::test_sixteen_narrow_summer_partial_counts[6016-1536--1]
tests/test_kernel_gpu.py::test_sixteen_token_tiles[4096-4160-9-32]
tests/test_kernel_gpu.py::test_sixteen_token_tiles[11008-4096-16--1]
tests/test_kernel_gpu.py::test_sixteen_token_tiles[11008-4096-16-64]"
case "$1" in
ship)
  for shape in "--m 16 --k 4096 --n 4096 --groupsize 64" "--m 9 --k 11008 --n 4096 --groupsize -1" \
      "--m 16 --k 8192 --n 8192 --groupsize 32" "--m 12 --k 3072 --n 3072 --groupsize 64" \
      "--m 16 --k 4096 --n 22016 --groupsize 64" "--m 16 --k 4096 --n 4096" "--m 1 --k 4096 --n 4096 --groupsize -1"; do
    timeout 40 python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
  done
  echo "== smoke ($((SECONDS - start)) s)"; grep -h LaunchPlan "$D/smoke.log" | tail -1
  ab16 1
  gpu_tests final pip $((580 - (SECONDS - start) > 330 ? 330 : 580 - (SECONDS - start)))
  ;;
ship2)
  gpu_tests fixed pip 60 "tests/test_kernel_gpu.py::test_hopper_path_is_taken_on_sm90"
  timeout 120 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider $NEW_TILE_CASES \
    > "$D/memcheck_newtile.log" 2>&1
  echo "== memcheck rc=$? ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_newtile.log" | tail -2
  timeout 90 compute-sanitizer --tool racecheck --print-limit 10 python -m pytest -q -p no:cacheprovider \
    tests/test_kernel_gpu.py::test_sixteen_narrow_summer_partial_counts[640-13568-64] \
    "tests/test_kernel_gpu.py::test_sixteen_token_tiles[4096-4160-9--1]" > "$D/racecheck_newtile.log" 2>&1
  echo "== racecheck rc=$? ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$D/racecheck_newtile.log" | tail -3
  pack
  ab16 2
  timeout 130 python scripts/bench_kernel.py --json "$D/bench.json" > "$D/bench_llama2.log" 2>&1
  echo "== bench llama2 rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_llama2.log"; pack
  ;;
c32g)
  # The release's tiles at the other group sizes, scales in the loop (.dev/c32gx_exp.so:
  # -DMQ_EXPERIMENT, HEAD + c32g/c32g.patch, which adds the 32 x 128 tile without POST): 32 x 128
  # against the plan (32 x 512 / 32 x 256) at m = 17-32, and 16 x 256 against 16 x 512 at m = 16.
  forced_smoke c32g .dev/c32gx_exp.so "32,1,6,2" "--m 32 --k 4096 --n 4096 --groupsize 64" \
    "--m 17 --k 11008 --n 4096 --groupsize -1" || exit 1
  for g in 64 -1; do
    timeout 100 env MARLIN_QUANT_LIB=.dev/c32gx_exp.so python scripts/sweep_wgmma.py --m 17,32 --sets llama2-7b,llama3.2-3b \
      --configs plan,32:1:6:2 --groupsize $g > "$D/sweep_c32g_$g.log" 2>&1
    echo "== sweep c32g g=$g rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_c32g_$g.log"; pack
  done
  timeout 100 env MARLIN_QUANT_LIB=.dev/c32gx_exp.so python scripts/sweep_wgmma.py --m 16 --sets llama2-7b,llama2-70b \
    --configs plan,16:2:8:2 --groupsize 64 > "$D/sweep_c16g_64.log" 2>&1
  echo "== sweep c16g g=64 rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_c16g_64.log"; pack
  ;;
ship32)
  # The 32 x 128 rule for every group size (marlin_quant/_lib as `pip install -e .` builds it;
  # .dev/rel52_pip.so, the release before): smoke, the GPU test file, then one A/B round at
  # m = 17 / 32 with groups of 64 and per channel (7B, 3B) while time is left.
  for shape in "--m 32 --k 4096 --n 4096 --groupsize 64" "--m 17 --k 11008 --n 4096 --groupsize -1" \
      "--m 24 --k 8192 --n 3072 --groupsize 32" "--m 32 --k 7936 --n 6656 --groupsize 64" "--m 32 --k 4096 --n 4096"; do
    timeout 40 python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
  done
  echo "== smoke ($((SECONDS - start)) s)"
  gpu_tests final32 pip 330
  STOP=${STOP:-330} ab_groups 32 .dev/rel52_pip.so 1 17,32 llama2-7b,llama3.2-3b 64 -1
  ;;
owed)
  # What ship32 left (written, not run): memcheck and racecheck of the non-POST 32 x 128 kernels,
  # then the second A/B round (carry marlin_quant/_lib and .dev/rel52_pip.so).
  sanitize32
  ab_groups 32 .dev/rel52_pip.so 2 17,32 llama2-7b,llama3.2-3b 64 -1
  ;;
w64g)
  # 64 x 256 tiles (in the release, scales in the loop) forced against the plan (64 x 512 /
  # 128 x 256) for groups of 64 and per channel at m = 33-64 and 129-256 (written, not run; carry
  # .dev/headx52_exp.so: HEAD built with -DMQ_EXPERIMENT, no patch).
  for g in 64 -1; do
    timeout 150 env MARLIN_QUANT_LIB=.dev/headx52_exp.so python scripts/sweep_wgmma.py --m 33,64,129,256 \
      --sets llama2-7b,llama3.2-3b,llama2-70b --configs plan,64:2:6:2 --groupsize $g > "$D/sweep_w64g_$g.log" 2>&1
    echo "== sweep w64g g=$g rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_w64g_$g.log"; pack
  done
  ;;
*) echo "usage: call.sh ship | ship2 | c32g | ship32 | owed | w64g" >&2; exit 2 ;;
esac

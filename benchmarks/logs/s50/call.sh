#!/bin/bash
# The forty-fifth session's device calls (H100). The release is .dev/rel50_pip.so (HEAD's
# `pip install -e .` library, the Hopper flags); the candidate is NEW (default .dev/w050_pip.so:
# HEAD + s49/hopper_w0/hopper_w0.patch, built by marlin_quant/_build.py as pip builds it, every
# arch).
#   call.sh shipA  (~8 min; carry marlin_quant/_lib, .dev/rel50_pip.so, the candidate and
#                  .dev/rel49_pip.so, the release before the Hopper flags) smoke, same bits at
#                  m = 12-128, two A/B rounds at m = 16 / 32 (7B, 3B, 70B per layer) of the
#                  release, the candidate and the release before, in turn; then, time allowing,
#                  one round of the release and the one before at m = 64 / 128 (what the flags
#                  did there); ends by saying whether the candidate was no slower at m = 16.
#   call.sh shipB  (~9.5 min; carry as shipA) the candidate's GPU test file, memcheck of the
#                  Hopper summers and benchmark JSONs.
#   call.sh ship16 (~9.5 min; carry marlin_quant/_lib as `pip install -e .` builds the release with
#                  16 x 128 tiles at two blocks an SM, and .dev/rel50_pip.so, the release before):
#                  smoke, one A/B round at m = 9 / 16 (7B, 3B, 70B per layer), the Llama-2 benchmark
#                  JSON, the GPU test file, and the Llama-3 / Qwen2 JSON if time is left.
#   call.sh ship16b (~3-5 min; carry as ship16) memcheck of the new tile's cases, the Llama-3 /
#                  Qwen2 JSON unless ship16 wrote it ($1 = skip-sets).
#   call.sh extra16 (~1 min; carry as ship16; ran as an inline command of the same steps, logs
#                  ship/extra/) racecheck of the m = 16 determinism test on 4096x4096 and of
#                  640x13568 at m = 16, then the second A/B round at m = 9 / 16.
#   call.sh occ32  (~5 min, written, not run: the device time ran out; carry .dev/occ32bx_exp.so:
#                  -DMQ_EXPERIMENT, HEAD + occ32/occ32b.patch, 32 x 128 tiles of four or five stages
#                  and 16 x 256 of four built for two blocks an SM, 128 registers: spills of 108-156
#                  bytes, 25 / 23 local accesses in the 32 x 128 stage loops, 532 bytes and 99 in the
#                  16 x 256 one) smoke of each, then ROUNDS (2) rounds of sweep_wgmma.py at m = 17 /
#                  24 / 32 (7B, 3B, 70B): the plan, 32 x 128 of six stages (one block an SM, the
#                  release's) and the two new 32 x 128 tiles; and at m = 16 (7B, 70B) the plan
#                  against 16 x 256 at two blocks. (occ32/occ32.patch, the first build, lacks the
#                  16 x 256 tile.)
#   call.sh occg   (~4 min, written, not run; carry .dev/occgx_exp.so: -DMQ_EXPERIMENT, HEAD +
#                  occg/occg.patch, the 16 x 128 tile of four stages with its scales in the loop
#                  (groups of 32 / 64, per channel) at two blocks an SM: 126 / 121 registers, no
#                  spill) smoke, then sweep_wgmma.py at m = 9 / 16 (7B, 3B) with groups of 64, 32
#                  and per channel: the plan (the tiled kernel on these layers) against it.
#   call.sh occ2   (~4 min; carry .dev/occ2x_exp.so: -DMQ_EXPERIMENT, HEAD + occ2/occ2.patch,
#                  16 x 128 tiles of seven or four stages built for two blocks an SM, 128 registers, and
#                  planned with twice the SMs' ranges) smoke of the forced tile, then two rounds of
#                  sweep_wgmma.py at m = 9 / 16 (7B, 3B, 70B): the plan, 16 x 128 of eight stages
#                  (one block an SM) and the two new tiles, each layer.
#   call.sh first  (~8 min; carry shipA's and occ2's) occ2's smoke and one sweep round, then shipA
#                  with one A/B round; call.sh second (~6 min) the other rounds of both and the
#                  m = 64 / 128 round.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
NEW=${NEW:-.dev/w050_pip.so}
REL=.dev/rel50_pip.so
libv() { case $1 in rel) echo "MARLIN_QUANT_LIB=$REL" ;; before) echo MARLIN_QUANT_LIB=.dev/rel49_pip.so ;; *) echo "MARLIN_QUANT_LIB=$NEW" ;; esac; }
# The release, the candidate and the release before in turn, one process each, per layer: ROUND...; logs
# $D/bench_{rel,new}_ROUND.log (7B and 3B at m = 16 / 32) and bench70_* (70B at 16 / 32).
ab2() {
  local r v
  for r in "$@"; do
    for v in rel new before; do
      timeout 70 env $(libv $v) python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b --m 16,32 --per-layer \
        > "$D/bench_${v}_$r.log" 2>&1
      timeout 60 env $(libv $v) python scripts/bench_kernel.py --sets llama2-70b --m 16,32 --per-layer > "$D/bench70_${v}_$r.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log" "$D/bench70_${v}_$r.log"; pack
    done
  done
}
HOPPER_MEMCHECK="(sixteen_token and 11008-4096-16-128) or (hopper_pairs and 33-4096-4096) or (deterministic and (16- or 64-))"
occ2_smoke() {
  forced_smoke occ2 .dev/occ2x_exp.so "16,1,7,2 16,1,4,2" "--m 16 --k 4096 --n 4096" "--m 9 --k 11008 --n 4096" \
    "--m 16 --k 8192 --n 57344" "--m 12 --k 3072 --n 3072"
}
occ2_sweep() {
  sweep "occ2_$1" .dev/occ2x_exp.so 200 9,16 llama2-7b,llama3.2-3b,llama2-70b plan,16:1:8:2,16:1:7:2,16:1:4:2
}
ab_smoke_bits() {
  for shape in "--m 16 --k 4096 --n 4096" "--m 16 --k 3072 --n 3072" "--m 32 --k 4096 --n 4096" \
      "--m 64 --k 4096 --n 4096" "--m 100 --k 8192 --n 8192" "--m 1 --k 11008 --n 4096"; do
    timeout 40 env $(libv new) python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
  done
  echo "== smoke ($((SECONDS - start)) s)"
  export SAME_BITS_M=12,16,32,64,128
  env $(libv rel) python benchmarks/logs/h100_s32/same_bits.py dump /tmp/bits_rel.pt > "$D/bits.log" 2>&1
  env $(libv new) python benchmarks/logs/h100_s32/same_bits.py dump /tmp/bits_new.pt >> "$D/bits.log" 2>&1
  python benchmarks/logs/h100_s32/same_bits.py compare /tmp/bits_rel.pt /tmp/bits_new.pt >> "$D/bits.log" 2>&1
  echo "== bits rc=$? ($((SECONDS - start)) s)"; tail -1 "$D/bits.log"; pack
}
ab64() {
  for v in rel before; do
    timeout 70 env $(libv $v) python scripts/bench_kernel.py --sets llama2-7b,llama2-70b --m 64,128 --per-layer \
      > "$D/bench64_${v}_1.log" 2>&1
    echo "== bench m=64,128 $v ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench64_${v}_1.log"; pack
  done
}
# The release before ($REL) and the `pip install -e .` library in turn, one process each, per layer
# at m = 9 / 16 (7B, 3B, 70B): ROUND, logs $D/bench16_{rel,pip}_ROUND.log.
ab16() {
  local v lib
  for v in rel pip; do
    lib=$([ $v = rel ] && echo "MARLIN_QUANT_LIB=$REL")
    timeout 70 env $lib python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b,llama2-70b --m 9,16 --per-layer \
      > "$D/bench16_${v}_$1.log" 2>&1
    echo "== bench m=9,16 $v $1 ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench16_${v}_$1.log"; pack
  done
}
# The Llama-3-8B / Qwen2-7B benchmark JSON of the `pip install -e .` library.
bench_sets() {
  timeout 120 python scripts/bench_kernel.py --sets llama3-8b,qwen2-7b --json "$D/bench-llama3-qwen2.json" \
    > "$D/bench_sets.log" 2>&1
  echo "== bench sets rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_sets.log"; pack
}
case "$1" in
ship16)
  for shape in "--m 16 --k 4096 --n 4096" "--m 9 --k 11008 --n 4096" "--m 16 --k 8192 --n 8192" \
      "--m 12 --k 3072 --n 3072" "--m 16 --k 8192 --n 57344" "--m 64 --k 4096 --n 4096" "--m 1 --k 4096 --n 4096"; do
    timeout 40 python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
  done
  echo "== smoke ($((SECONDS - start)) s)"
  ab16 1
  timeout 130 python scripts/bench_kernel.py --json "$D/bench.json" > "$D/bench_llama2.log" 2>&1
  echo "== bench llama2 rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_llama2.log"; pack
  gpu_tests final pip $((570 - (SECONDS - start) > 330 ? 330 : 570 - (SECONDS - start)))
  if [ $((SECONDS - start)) -lt 450 ]; then
    bench_sets
  fi
  ;;
ship16b)
  memcheck_tests narrow pip 150 "(sixteen_narrow and 640-13568) or (sixteen_token and (4096-4160-16-128 or 11008-4096-16-128)) or (hopper_summer and 16-5632-1024-128)"
  if [ "$2" != skip-sets ]; then
    bench_sets
  fi
  ;;
extra16)
  timeout 150 compute-sanitizer --tool racecheck --print-limit 10 python -m pytest -q -p no:cacheprovider \
    tests/test_kernel_gpu.py -k "(deterministic and 16-4096) or (sixteen_narrow and 640-13568)" > "$D/racecheck16.log" 2>&1
  echo "== racecheck rc=$? ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$D/racecheck16.log" | tail -3
  ab16 2
  ;;
occ32)
  forced_smoke occ32 .dev/occ32bx_exp.so "32,1,4,2 32,1,5,2 16,2,4,2" "--m 32 --k 4096 --n 4096" "--m 17 --k 11008 --n 4096" \
    "--m 24 --k 8192 --n 57344" "--m 16 --k 3072 --n 3072" || exit 1
  for r in $(seq "${ROUNDS:-2}"); do
    sweep "occ32_$r" .dev/occ32bx_exp.so 200 17,24,32 llama2-7b,llama3.2-3b,llama2-70b plan,32:1:6:2,32:1:4:2,32:1:5:2
    sweep "occ256_$r" .dev/occ32bx_exp.so 120 16 llama2-7b,llama2-70b plan,16:2:4:2
  done
  ;;
occg)
  forced_smoke occg .dev/occgx_exp.so 16,1,4,2 "--m 16 --k 4096 --n 4096 --groupsize 64" \
    "--m 16 --k 4096 --n 4096 --groupsize 32" "--m 16 --k 4096 --n 4096 --groupsize -1" || exit 1
  for g in 64 32 -1; do
    timeout 120 env MARLIN_QUANT_LIB=.dev/occgx_exp.so python scripts/sweep_wgmma.py --m 9,16 --sets llama2-7b,llama3.2-3b \
      --configs plan,16:1:4:2 --groupsize $g > "$D/sweep_occg_$g.log" 2>&1
    echo "== sweep occg g=$g rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_occg_$g.log"; pack
  done
  ;;
occ2)
  occ2_smoke && { occ2_sweep 1; occ2_sweep 2; }
  ;;
first)
  occ2_smoke && occ2_sweep 1
  ab_smoke_bits
  ab2 1
  no_slower 1
  ;;
second)
  occ2_sweep 2
  ab2 2
  [ $((SECONDS - start)) -lt 420 ] && ab64
  ;;
shipA)
  ab_smoke_bits
  ab2 1 2
  [ $((SECONDS - start)) -lt 420 ] && ab64
  no_slower 1 2
  ;;
shipB)
  gpu_tests final "$NEW" 300
  memcheck_tests hopper "$NEW" 100 "$HOPPER_MEMCHECK"
  benches "$NEW"
  ;;
*) echo "usage: call.sh ship16 | ship16b [skip-sets] | extra16 | occ32 | occg | occ2 | first | second | shipA | shipB" >&2; exit 2 ;;
esac

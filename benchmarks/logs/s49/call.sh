#!/bin/bash
# The forty-fourth session's device calls (H100).
#   call.sh live   (~7 min; carry .dev/{head49,lived49,onef49,headtr49,oneftr49}_exp.so) the skinny
#                  summers at m <= 4: lived49 (compact/live_d.patch: the lanes of dead tokens read
#                  a live lane's float4, half the bytes, rounds of four ranges as before) and onef49
#                  (compact/oneround_f.patch: lane (t, g) reads the live float4s of 16 / Q ranges a
#                  round, Q = 1 at m <= 2, 2 at m <= 4): smoke, same bits at m = 1-8, HEAD's sm_90a
#                  build and both in turn, two rounds at m = 1 / 2 / 4 (7B, 3B; 70B at 1), then
#                  -DMQ_TRACE timelines of HEAD and onef at m = 1 / 4, and onef's GPU tests of the
#                  skinny summers (m = 1-8).
#   call.sh hflags (~8 min; carry marlin_quant/_lib and .dev/{head49,hflags48}_exp.so) the Hopper
#                  summers on per-range flags (hflags48 = HEAD + s48/hopper_flags/hopper_flags.patch,
#                  csrc unchanged since): smoke, same bits at m = 12-128, HEAD's sm_90a build and
#                  hflags48 in turn, two rounds (7B and 3B at m = 16 / 32 / 64, 70B at 16 / 32),
#                  then its GPU tests of the summing paths and a memcheck.
#   call.sh ship1  (~8 min; carry marlin_quant/_lib as `pip install -e .` builds the Hopper flags, the
#                  same 129 kernels as hflags48 by sass_same.py, and .dev/rel49_pip.so, HEAD's): smoke,
#                  same bits at m = 1-128, the release and the new library in turn, two rounds (7B
#                  and 3B at m = 16 / 32, 70B at 16 / 32); where the new library's 7B and 70B sets
#                  are not slower at m = 16 in both rounds, its benchmark JSONs.
#   call.sh ship2  (~6 min; carry marlin_quant/_lib) its whole GPU test file and a memcheck of the
#                  Hopper summers.
#   call.sh shipA  (~9 min; carry as ship1) ship1 and ship2 in one call for a scarce device: smoke, same
#                  bits at m = 12-128, one A/B round, and unless the new library is slower at m = 16
#                  the GPU test file and the memcheck.
#   call.sh shipB  (~5 min; carry as ship1) the second A/B round and the benchmark JSONs.
#   call.sh shipC  (~9.5 min; carry as ship1) what a release needs in one call: smoke, same bits at
#                  m = 16 / 64 / 128, one A/B round, the GPU test file, the benchmark JSONs.
#   call.sh next   (~7 min; written for the next session, not run; carry marlin_quant/_lib as
#                  `pip install -e .` builds this release, .dev/rel49_pip.so (the release before, no
#                  Hopper flags), .dev/headship49_exp.so (this release, s44/build.sh) and
#                  .dev/hw049_exp.so (s49/hopper_w0/hopper_w0.patch: the four-range Hopper summers
#                  wait in warp 0 for every flag, as the others)): smoke, same bits of hw049 at
#                  m = 12 / 16 / 32, then at m = 16 the four libraries in turn, two rounds (7B, 3B,
#                  70B per layer: does w0 keep the large layers' gain and lose 4096x4096's loss?),
#                  then the release before and this release at m = 64 / 128, two rounds (what the
#                  table's m >= 64 rows owe to the flags).
#   call.sh abonly (~5 min; carry as ship1) smoke, same bits at m = 12-128 and two A/B rounds (7B and
#                  3B at m = 16 / 32 / 64, 70B at 16 / 32).
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
# The release (.dev/rel49_pip.so) and the installed library in turn, one process each, per layer:
# ROUND..., 7B and 3B at m = 16 / 32, 70B at 16 / 32; logs $D/bench_{rel,new}_ROUND.log, bench70_*.
ab_pip() {
  local r v lib
  for r in "$@"; do
    for v in rel new; do
      lib=$([ $v = rel ] && echo "MARLIN_QUANT_LIB=.dev/rel49_pip.so")
      timeout 70 env $lib python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b --m "${AB_M:-16,32}" --per-layer \
        > "$D/bench_${v}_$r.log" 2>&1
      timeout 60 env $lib python scripts/bench_kernel.py --sets llama2-70b --m 16,32 --per-layer > "$D/bench70_${v}_$r.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log" "$D/bench70_${v}_$r.log"; pack
    done
  done
}
# The installed library's smoke run (four Hopper shapes and SHAPE...), then its bits against the
# release's (.dev/rel49_pip.so) at the m values SAME_BITS (same_bits.py): SAME_BITS [SHAPE...].
smoke_bits_pip() {
  local shape ms=$1; shift
  for shape in "--m 16 --k 4096 --n 4096" "--m 64 --k 4096 --n 4096" "--m 100 --k 8192 --n 8192" \
      "--m 33 --k 3072 --n 5120" "$@"; do
    timeout 40 python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
  done
  echo "== smoke ($((SECONDS - start)) s)"
  export SAME_BITS_M=$ms
  MARLIN_QUANT_LIB=.dev/rel49_pip.so python benchmarks/logs/h100_s32/same_bits.py dump /tmp/bits_rel.pt > "$D/bits.log" 2>&1
  python benchmarks/logs/h100_s32/same_bits.py dump /tmp/bits_new.pt >> "$D/bits.log" 2>&1
  python benchmarks/logs/h100_s32/same_bits.py compare /tmp/bits_rel.pt /tmp/bits_new.pt >> "$D/bits.log" 2>&1
  echo "== bits rc=$? ($((SECONDS - start)) s)"; tail -1 "$D/bits.log"; pack
}
HOPPER_MEMCHECK="(sixteen_token and 11008-4096-16-128) or (hopper_pairs and 33-4096-4096) or (deterministic and (16- or 64-))"
case "$1" in
live)
  for v in lived49 onef49; do
    smoke $v "--m 1 --k 11008 --n 4096" "--m 4 --k 4096 --n 4096" "--m 2 --k 8192 --n 57344" "--m 3 --k 3072 --n 3072"
  done
  export SAME_BITS_M=1,2,3,4,5,8; same_bits lived49 onef49
  for r in 1 2; do
    for v in head49 lived49 onef49; do
      timeout 70 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b \
        --m 1,2,4 --per-layer > "$D/bench_${v}_$r.log" 2>&1
      timeout 50 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/bench_kernel.py --sets llama2-70b --m 1 \
        --per-layer > "$D/bench70_${v}_$r.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log" "$D/bench70_${v}_$r.log"; pack
    done
  done
  for v in headtr49 oneftr49; do
    timeout 90 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/trace_launches.py --m 1,4 \
      --layers 4096x12288,4096x4096,4096x22016,11008x4096 > "$D/trace_$v.log" 2>&1
    echo "== trace $v ($((SECONDS - start)) s)"; cat "$D/trace_$v.log"; pack
  done
  gpu_tests onef49 .dev/onef49_exp.so 150 tests/test_kernel_gpu.py -k "summer_partial_counts or many_range or skinny_plan"
  ;;
hflags)
  smoke hflags48 "--m 16 --k 4096 --n 4096" "--m 64 --k 4096 --n 4096" "--m 100 --k 8192 --n 8192" "--m 33 --k 3072 --n 5120"
  export SAME_BITS_M=12,16,32,64,128; same_bits hflags48
  for r in 1 2; do
    for v in head49 hflags48; do
      timeout 70 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b \
        --m 16,32,64 --per-layer > "$D/bench_${v}_$r.log" 2>&1
      timeout 60 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/bench_kernel.py --sets llama2-70b --m 16,32 \
        --per-layer > "$D/bench70_${v}_$r.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log" "$D/bench70_${v}_$r.log"; pack
    done
  done
  checks hflags48 150 "$SUMMER_TESTS or hopper or many_range" \
    "(sixteen_token and 11008-4096-16-128) or (hopper_pairs and 33-4096-4096) or (deterministic and (16- or 64-))"
  ;;
shipC)
  # All a release needs in one call (~9.5 min; carry as ship1): smoke, same bits at m = 16 / 64 /
  # 128, one A/B round (stop if slower at m = 16), the GPU test file, the Llama-2 benchmark JSON,
  # and the Llama-3 / Qwen2 one if time is left.
  smoke_bits_pip 16,64,128
  ab_pip 1
  no_slower 1 || { echo "== slower at m = 16: stop"; exit 0; }
  gpu_tests final pip 300
  timeout 130 python scripts/bench_kernel.py --json "$D/bench.json" > "$D/bench_llama2.log" 2>&1
  echo "== bench llama2 rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_llama2.log"; pack
  if [ $((SECONDS - start)) -lt 440 ]; then
    timeout 120 python scripts/bench_kernel.py --sets llama3-8b,qwen2-7b --json "$D/bench-llama3-qwen2.json" \
      > "$D/bench_sets.log" 2>&1
    echo "== bench sets rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_sets.log"; pack
  fi
  ;;
next)
  smoke hw049 "--m 16 --k 4096 --n 4096" "--m 16 --k 3072 --n 3072" "--m 32 --k 4096 --n 4096" "--m 64 --k 4096 --n 4096"
  export SAME_BITS_M=12,16,32; same_bits hw049
  lib_next() { case $1 in before) echo MARLIN_QUANT_LIB=.dev/rel49_pip.so ;; pip) ;; *) echo "MARLIN_QUANT_LIB=$(lib_of $1)" ;; esac; }
  for r in 1 2; do
    for v in before pip headship49 hw049; do
      timeout 60 env $(lib_next $v) python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b,llama2-70b --m 16 \
        --per-layer > "$D/bench16_${v}_$r.log" 2>&1
      echo "== bench m=16 $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench16_${v}_$r.log"; pack
    done
  done
  for r in 1 2; do
    for v in before pip; do
      timeout 70 env $(lib_next $v) python scripts/bench_kernel.py --sets llama2-7b,llama2-70b --m 64,128 \
        --per-layer > "$D/bench64_${v}_$r.log" 2>&1
      echo "== bench m=64,128 $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench64_${v}_$r.log"; pack
    done
  done
  ;;
abonly)
  # The A/B alone (~5 min; carry as ship1): smoke, same bits at m = 12-128, two rounds with the
  # 7B and 3B sets at m = 16 / 32 / 64.
  smoke_bits_pip 12,16,32,64,128
  AB_M=16,32,64 ab_pip 1 2
  no_slower 1 2
  ;;
ship1 | shipA)
  smoke_bits_pip "$([ "$1" = shipA ] && echo 12,16,32,64,128 || echo 1,8,12,16,32,64,128)" "--m 1 --k 11008 --n 4096"
  if [ "$1" = shipA ]; then
    ab_pip 1
    no_slower 1 || { echo "== slower at m = 16: stop"; exit 0; }
    gpu_tests final pip 330
    memcheck_tests hopper pip 100 "$HOPPER_MEMCHECK"
  else
    ab_pip 1 2
    no_slower 1 2 && benches pip
  fi
  ;;
ship2)
  gpu_tests final pip 330
  memcheck_tests hopper pip 100 "$HOPPER_MEMCHECK"
  ;;
shipB)
  # shipA's second half on another start: a second A/B round, then the benchmark JSONs.
  ab_pip 2
  benches pip
  ;;
*) echo "usage: call.sh live | hflags | ship1 | ship2 | shipA | shipB | shipC | abonly | next" >&2; exit 2 ;;
esac

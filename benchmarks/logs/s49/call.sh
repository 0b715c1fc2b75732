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
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
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
*) echo "usage: call.sh live | hflags" >&2; exit 2 ;;
esac

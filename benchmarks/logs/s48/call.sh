#!/bin/bash
# The forty-third session's device calls (H100).
#   call.sh floor  (~1 min) scripts/stream_floor.cu built there, at one and two blocks per SM, on
#                  the 7B and 70B layers' weight bytes: plain, pdl and the new contract column (PDL
#                  within what our kernels may do: 32 KB a block before the wait, held in registers;
#                  8 KB of activations after it; 128 registers, so two blocks of any launch an SM).
#   call.sh tiles  (~1.5 min; carry marlin_quant/_lib) the contract also on the skinny plans' stream-K
#                  ranges over Marlin's layout (KxN:C layers), beside the shipping library's per-layer
#                  times at m = 1 on the same start.
#   call.sh ring   (~2 min; carry marlin_quant/_lib) ring_floor.cu: one block an SM streaming its share
#                  through a cp.async ring of S stages of B KB (4 x 32, 6 x 32, 7 x 32, 8 x 16), PDL,
#                  the first S - 1 stages before the wait; beside the library's per-layer times at
#                  m = 16 and 32 on the same start.
#   call.sh flags  (~8 min) the skinny summers on per-range flags against the release (see the mode).
#   call.sh ship1  (~6 min; carry marlin_quant/_lib and .dev/rel48_pip.so) the shipping library of the
#                  per-range flags against the release: bits, groups of 32 / 64 / 128, benchmark JSONs.
#   call.sh ship2  (~5 min; carry marlin_quant/_lib) its whole GPU test file and a memcheck.
#   call.sh recheck (~1 min) the two floors as committed after the review's refactor.
#   call.sh trace  (~2 min) timelines of the release before and this release at m = 1 / 8 (see the mode).
#   call.sh g64    (~2 min) groups of 64, the release before and this release in turn, two rounds.
#   call.sh hflags (~8 min; written, not run) the Hopper summers on per-range flags (see the mode).
#   call.sh hflagsq (~2.5 min) hflags cut short: smoke, same bits and one A/B round at m = 16.
#   call.sh ncu    (~5 min; carry marlin_quant/_lib as `pip install -e .` builds it; it ran with the same
#                  commands in a copy of call_lib.sh's ncu_one with a 120 s limit) ncu --set full of
#                  one launch of the shipping library on the unmet rows' layers: m = 1 (4096x4096,
#                  11008x4096, 4096x22016), m = 16 (4096x12288, 8192x57344), m = 32 (4096x22016,
#                  28672x8192); details as text, the SASS source page as CSV.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
floor)
  nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a scripts/stream_floor.cu -o /tmp/floor > "$D/build.log" 2>&1 \
    || { cat "$D/build.log"; exit 1; }
  for per in 2 1 2; do
    timeout 60 /tmp/floor --per-sm $per 25.2 8.4 45.1 22.5 41.9 33.6 234.9 117.4 >> "$D/floor.log" 2>&1
    echo "== floor per-sm $per ($((SECONDS - start)) s)"
  done
  cat "$D/floor.log"; pack
  ;;
tiles)
  # The contract on the skinny plans' own ranges (KxN:C, the chunks plan_skinny picks at m = 1 on
  # 132 SMs; 4096x4096 runs one block per SM), two rounds, then the shipping library's per-layer
  # times at m = 1 on the same start (carry marlin_quant/_lib).
  nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a scripts/stream_floor.cu -o /tmp/floor > "$D/build.log" 2>&1 \
    || { cat "$D/build.log"; exit 1; }
  for r in 1 2; do
    timeout 60 /tmp/floor --per-sm 2 4096x12288:4 4096x4096:4 4096x22016:4 11008x4096:4 8192x10240:4 8192x8192:4 \
      8192x57344:8 28672x8192:4 >> "$D/tiles.log" 2>&1
    timeout 30 /tmp/floor --per-sm 1 4096x4096:4 >> "$D/tiles.log" 2>&1
    echo "== tiles round $r ($((SECONDS - start)) s)"
  done
  cat "$D/tiles.log"; pack
  timeout 90 python scripts/bench_kernel.py --sets llama2-7b,llama2-70b --m 1 --per-layer > "$D/bench_m1.log" 2>&1
  echo "== bench m=1 rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_m1.log"; pack
  ;;
ring)
  # ring_floor.cu (the Hopper path's data movement without math), two rounds, then the shipping
  # library's per-layer times at m = 16 and 32 on the same start (carry marlin_quant/_lib).
  nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a benchmarks/logs/s48/ring_floor.cu -o /tmp/ring \
    > "$D/build.log" 2>&1 || { cat "$D/build.log"; exit 1; }
  for r in 1 2; do
    timeout 90 /tmp/ring 4:32,6:32,7:32,8:16 25.2 8.4 45.1 22.5 41.9 33.6 234.9 117.4 >> "$D/ring.log" 2>&1
    echo "== ring round $r ($((SECONDS - start)) s)"
  done
  cat "$D/ring.log"; pack
  for m in 16 32; do
    timeout 90 python scripts/bench_kernel.py --sets llama2-7b,llama2-70b --m $m --per-layer > "$D/bench_m$m.log" 2>&1
    echo "== bench m=$m rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_m$m.log"; pack
  done
  ;;
flags)
  # Skinny summers on per-range flags (flags/range_flags.patch; carry .dev/flags48_exp.so built by
  # `bash benchmarks/logs/s44/build.sh flags48_exp benchmarks/logs/s48/flags/range_flags.patch`, and
  # marlin_quant/_lib, the release): smoke, same bits at m = 1 / 3 / 8, the release and flags48 in
  # turn (two rounds at m = 1, one at 8), then flags48's GPU tests of the skinny paths and a memcheck.
  smoke flags48 "--m 1 --k 11008 --n 4096" "--m 8 --k 4096 --n 4096" "--m 1 --k 8192 --n 57344" "--m 3 --k 3072 --n 3072"
  same_bits flags48
  ab 2 1 1 flags48
  ab 1 8 8 flags48
  gpu_tests flags48 .dev/flags48_exp.so 170 tests/test_kernel_gpu.py -k "(summer_partial_counts and not hopper and not \
sixteen) or deterministic or skinny_plan or (llama_shapes and (1- or 8-)) or graph or back_to_back or streams or m_sweep"
  memcheck_tests flags48 .dev/flags48_exp.so 80 "deterministic and (1- or 8-)"
  ;;
ship1)
  # The library `pip install -e .` builds from this tree (carry marlin_quant/_lib) against the
  # release's (.dev/rel48_pip.so, the same build of ff7c1b0): smoke, same bits at m = 1 / 3 / 8,
  # groups of 32 / 64 (7B and 3B sets) and 128 (70B: its eight-chunk 8192x57344) at m = 1 / 8 in
  # turn, then the new library's benchmark JSONs.
  smoke_pip() {
    for shape in "--m 1 --k 16384 --n 256" "--m 8 --k 45056 --n 1024" "--m 1 --k 11008 --n 4096" "--m 3 --k 8192 --n 57344"; do
      timeout 40 python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
        || { echo "== smoke failed: $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
    done
    echo "== smoke ($((SECONDS - start)) s)"
  }
  smoke_pip
  MARLIN_QUANT_LIB=.dev/rel48_pip.so python benchmarks/logs/h100_s32/same_bits.py dump /tmp/bits_rel.pt > "$D/bits.log" 2>&1
  python benchmarks/logs/h100_s32/same_bits.py dump /tmp/bits_new.pt >> "$D/bits.log" 2>&1
  python benchmarks/logs/h100_s32/same_bits.py compare /tmp/bits_rel.pt /tmp/bits_new.pt >> "$D/bits.log" 2>&1
  echo "== bits rc=$? ($((SECONDS - start)) s)"; tail -1 "$D/bits.log"; pack
  for g in 32 64; do
    for v in rel new; do
      lib=$([ $v = rel ] && echo "MARLIN_QUANT_LIB=.dev/rel48_pip.so")
      timeout 60 env $lib python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b --m 1,8 --groupsize $g \
        --per-layer > "$D/bench_g${g}_$v.log" 2>&1
      echo "== bench g$g $v ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_g${g}_$v.log"; pack
    done
  done
  for v in rel new; do
    lib=$([ $v = rel ] && echo "MARLIN_QUANT_LIB=.dev/rel48_pip.so")
    timeout 60 env $lib python scripts/bench_kernel.py --sets llama2-70b --m 1,8 --per-layer > "$D/bench70_$v.log" 2>&1
    echo "== bench 70B $v ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench70_$v.log"; pack
  done
  benches pip
  ;;
ship2)
  # The same library's whole GPU test file, then memcheck of the many-range summers.
  gpu_tests final pip 330
  memcheck_tests many pip 100 "many_range_summers and -256-"
  ;;
recheck)
  # The floors as committed after the review's refactor (scripts/graph_timing.cuh): stream_floor's
  # tiles on four layers and ring_floor's 4 x 32 and 6 x 32 rings, one round (~1 min).
  nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a scripts/stream_floor.cu -o /tmp/floor > "$D/build.log" 2>&1 \
    && nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a benchmarks/logs/s48/ring_floor.cu -o /tmp/ring \
    >> "$D/build.log" 2>&1 || { cat "$D/build.log"; exit 1; }
  timeout 60 /tmp/floor --per-sm 2 4096x12288:4 11008x4096:4 8192x57344:8 28672x8192:4 > "$D/recheck.log" 2>&1
  timeout 60 /tmp/ring 4:32,6:32 25.2 22.5 234.9 117.4 >> "$D/recheck.log" 2>&1
  cat "$D/recheck.log"; pack
  ;;
trace)
  # What the flags saved: -DMQ_TRACE timelines of the release before (.dev/rel48trace_exp.so,
  # BASE=ff7c1b0) and this release (.dev/flagstrace48_exp.so, HEAD), both by
  # `DEFS=-DMQ_TRACE bash benchmarks/logs/s44/build.sh NAME`, in turn, two rounds, m = 1 / 8 on the
  # 7B layers and 3072x16384 (~2 min; carry both).
  for r in 1 2; do
    for v in rel48trace flagstrace48; do
      timeout 90 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/trace_launches.py --m 1,8 \
        --layers 4096x12288,4096x4096,4096x22016,11008x4096,3072x16384 > "$D/trace_${v}_$r.log" 2>&1
      echo "== trace $v $r ($((SECONDS - start)) s)"; cat "$D/trace_${v}_$r.log"; pack
    done
  done
  ;;
g64)
  # Groups of 64 at m = 1 / 8, the release before (.dev/rel48_pip.so) and this release (the
  # installed library) in turn, two rounds, 7B and 3B sets per layer (~2 min; carry both).
  for r in 1 2; do
    for v in rel new; do
      lib=$([ $v = rel ] && echo "MARLIN_QUANT_LIB=.dev/rel48_pip.so")
      timeout 60 env $lib python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b --m 1,8 --groupsize 64 \
        --per-layer > "$D/bench_g64_${v}_$r.log" 2>&1
      echo "== bench g64 $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_g64_${v}_$r.log"; pack
    done
  done
  ;;
hflags)
  # Written, not run: the Hopper summers on per-range flags (hopper_flags/hopper_flags.patch on
  # 77e81a9; build `BASE=77e81a9 bash benchmarks/logs/s44/build.sh hflags48_exp
  # benchmarks/logs/s48/hopper_flags/hopper_flags.patch`; carry it and marlin_quant/_lib as `pip
  # install -e .` builds 77e81a9): smoke, same bits at m = 12-128, the release and hflags48 in turn
  # two rounds (7B and 3B sets at m = 16 / 32 / 64, 70B at 16 / 32), then its GPU tests of the
  # summing paths and a memcheck (~8 min).
  smoke hflags48 "--m 16 --k 4096 --n 4096" "--m 64 --k 4096 --n 4096" "--m 100 --k 8192 --n 8192" "--m 33 --k 3072 --n 5120"
  export SAME_BITS_M=12,16,32,64,128; same_bits hflags48
  ab 2 16,32,64 16,32 hflags48
  checks hflags48 150 "$SUMMER_TESTS or hopper or many_range" \
    "(sixteen_token and 11008-4096-16-128) or (hopper_pairs and 33-4096-4096) or (deterministic and (16- or 64-))"
  ;;
hflagsq)
  # hflags cut to the session's last device seconds (~2.5 min): smoke, same bits at m = 16, one
  # round of the release and hflags48 at m = 16 (7B, 3B and 70B sets).
  smoke hflags48 "--m 16 --k 4096 --n 4096" "--m 64 --k 4096 --n 4096" "--m 100 --k 8192 --n 8192"
  export SAME_BITS_M=16; same_bits hflags48
  ab 1 16 16 hflags48
  ;;
ncu)
  for shape in "1 4096 4096" "1 11008 4096" "1 4096 22016" "16 4096 12288" "16 8192 57344" "32 4096 22016" \
      "32 28672 8192"; do
    ncu_one $shape
  done
  ;;
*) echo "usage: call.sh floor | tiles | ring | flags | ship1 | ship2 | recheck | trace | g64 | hflags | hflagsq | ncu" >&2; exit 2 ;;
esac

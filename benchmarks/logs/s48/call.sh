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
#   call.sh ncu    (~5 min; carry marlin_quant/_lib as `pip install -e .` builds it) ncu --set full of
#                  one launch of the shipping library on the unmet rows' layers: m = 1 (4096x4096,
#                  11008x4096, 4096x22016), m = 16 (4096x12288, 8192x57344), m = 32 (4096x22016,
#                  28672x8192); details as text, the SASS source page as CSV.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
# One ncu profile of the library's GEMM kernel (skinny or Hopper) for M K N: $D/ncu_mM_K_N.{txt,csv.gz}.
ncu_gemm() {
  local f=$D/ncu_m$1_$2_$3
  timeout 120 ncu --set full --import-source no --clock-control none -k regex:"gemm_kernel" -s 3 -c 1 -o "$f" \
    python scripts/profile_kernel.py --m $1 --k $2 --n $3 --iters 5 > "$f.run.txt" 2>&1
  ncu --import "$f.ncu-rep" > "$f.txt" 2>&1
  ncu --import "$f.ncu-rep" --page source --csv --print-source sass 2>/dev/null | gzip > "$f.csv.gz"
  rm -f "$f.ncu-rep"
  echo "== ncu m=$1 $2x$3 ($((SECONDS - start)) s): $(grep -E '^ +Duration|DRAM Throughput|Registers Per|Grid Size' "$f.txt" | tr -s ' ' | tr '\n' ';')"
  pack
}
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
ncu)
  for shape in "1 4096 4096" "1 11008 4096" "1 4096 22016" "16 4096 12288" "16 8192 57344" "32 4096 22016" \
      "32 28672 8192"; do
    ncu_gemm $shape
  done
  ;;
*) echo "usage: call.sh floor | tiles | ring | ncu" >&2; exit 2 ;;
esac

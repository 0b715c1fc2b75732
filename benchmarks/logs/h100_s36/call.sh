#!/bin/bash
# The thirty-first session's device calls. Logs are packed into one tarball after every step.
#   call.sh ship  (H100) scripts/gpu_checks.sh on the release with p32 (32 x 256 tiles, scales
#                 after the MMA, on every layer at m = 17-32; p32/ has its A/B), benchmark first,
#                 logs under $OUT/final (~8 min).
#   call.sh h200  (H200) the chunk sweep owed since the twenty-sixth session (four against two
#                 64-column chunks a skinny tile at m = 1 / 4 / 8, the planner's plan between them,
#                 same process, two rounds; .dev/head36_exp.so: this csrc with -DMQ_EXPERIMENT,
#                 sm_90a; carry it), then the release's benchmark on the H200 (benchmarks/h200.json
#                 format; carry marlin_quant/_lib) (~5 min).
#   call.sh tiles (H100) same-process sweeps on .dev/head36_exp.so (carry it): the 16-token tiles
#                 at m = 9 / 12 / 16 on the 7B and 70B sets (the planner's plan; 16 x 256 and
#                 16 x 512 with scales after the MMA on every layer; the experiment-only five-stage
#                 16 x 512, scales before), then the m = 17-32 boundary of this release's rule on
#                 70B (its 32 x 256 plan against 32 x 512, scales before, at m = 17 / 20 / 24 / 28 /
#                 32) (~1.5 min).
#   call.sh cwrites (H100; written, not run) why the 128-token tiles' C stores split the layers
#                 (c128/): ncu's speed-of-light and memory tables (L1 / L2 / DRAM store sectors and
#                 requests) of the release (8-byte stores) and cpack64 (.dev/cpack64_exp.so, 2-byte;
#                 carry it and marlin_quant/_lib) at m = 256 on the layers that went opposite ways:
#                 8192x8192 and 28672x8192 (2-byte faster), 4096x12288 and 4096x22016 (8-byte
#                 faster). One cold launch each after three warm ones (~2.5 min).
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
ship)
  BENCH_FIRST=1 OUT=$OUT/final timeout 575 bash scripts/gpu_checks.sh
  echo "== gpu_checks rc=$? ($((SECONDS - start)) s)"
  gzip -f "$OUT/final/racecheck.log"
  ;;
h200)
  timeout 220 env MARLIN_QUANT_LIB=.dev/head36_exp.so python scripts/sweep_wgmma.py --m 1,4,8 \
    --configs plan,sk=8:2:4,sk=8:2:2,plan,sk=8:2:4,sk=8:2:2 --sets llama2-7b,llama2-70b,llama3.2-3b > "$D/sweep_chunks_h200.log" 2>&1
  echo "== sweep rc=$? ($((SECONDS - start)) s)"; grep -A12 "^totals" "$D/sweep_chunks_h200.log"; pack
  timeout 200 python scripts/bench_kernel.py --json "$D/bench_h200.json" > "$D/bench_h200.log" 2>&1
  echo "== bench rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_h200.log"
  ;;
tiles)
  timeout 150 env MARLIN_QUANT_LIB=.dev/head36_exp.so python scripts/sweep_wgmma.py --m 9,12,16 \
    --configs plan,16:2:8:2,16:4:4:2,16:4:5:2,plan,16:2:8:2,16:4:4:2,16:4:5:2 --sets llama2-7b,llama2-70b > "$D/sweep16.log" 2>&1
  echo "== sweep16 rc=$? ($((SECONDS - start)) s)"; grep -A8 "^totals" "$D/sweep16.log"; pack
  timeout 150 env MARLIN_QUANT_LIB=.dev/head36_exp.so python scripts/sweep_wgmma.py --m 17,20,24,28,32 \
    --configs plan,32:4:4:2,plan,32:4:4:2,plan,32:4:4:2 --sets llama2-70b > "$D/sweep32.log" 2>&1
  echo "== sweep32 rc=$? ($((SECONDS - start)) s)"; grep -A8 "^totals" "$D/sweep32.log"
  ;;
cwrites)
  for v in rel cpack64; do
    for shape in "8192 8192" "28672 8192" "4096 12288" "4096 22016"; do
      set -- $shape; f=$D/ncu_${v}_256_$1_$2
      timeout 90 env MARLIN_QUANT_LIB=$(lib_of $v) ncu --section SpeedOfLight --section MemoryWorkloadAnalysis \
        --section MemoryWorkloadAnalysis_Tables --section LaunchStats --clock-control none -k regex:"gemm_kernel" -s 3 -c 1 \
        python scripts/profile_kernel.py --m 256 --k $1 --n $2 --iters 5 > "$f.txt" 2>&1
      echo "== ncu $v 256x$1x$2 rc=$? ($((SECONDS - start)) s): $(grep -E '^ +Duration|DRAM Throughput' "$f.txt" | tr -s ' ' | tr '\n' ';')"
      pack
    done
  done
  ;;
*) echo "usage: call.sh ship | h200 | tiles | cwrites" >&2; exit 2 ;;
esac
pack

#!/bin/bash
# The thirty-second session's device calls. Logs are packed into one tarball after every step.
#   call.sh skc (H100) skinny cluster plans (.dev/skc_exp.so: csrc with the CL kernels and
#               -DMQ_EXPERIMENT, sm_90a; carry it): how many clusters of 2-8 skinny blocks the GPU
#               runs at once; a smoke run; the m <= 8 GPU tests with cluster plans forced wherever
#               one fits; a same-process sweep of the planner's stream-K plans against cluster
#               plans at m = 1 / 4 / 8; memcheck of cluster plans (~2 min).
#   call.sh trace (H100) timelines (scripts/trace_launches.py) of the planner's stream-K plans
#               and cluster plans at m = 1 / 8 (.dev/skc_trace.so: -DMQ_TRACE -DMQ_EXPERIMENT; carry it).
#   call.sh pairs (H100) m = 16 / 24 / 32, same process, the release's kernels (.dev/head36_exp.so;
#               carry it): the planner's pairs against single blocks and split caps (~1 min).
#   call.sh ship  (H100) the release with no pairs on 16 x 256 tiles nor on 32-token tiles over
#               k >= 8192: benchmark, GPU tests, memcheck (logs under $OUT/final), the 3B and 7B
#               sets at m = 16 / 24 / 32 per layer, the release before (.dev/ship36_tested.so) and
#               this one in turn, two rounds, then racecheck if time is left (~7-9 min).
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
skc_max() {  # MQ_SKC_MAX for the build: the fewer of the two- and four-chunk kernels' counts
  MARLIN_QUANT_LIB=$1 python - <<'PY'
import ctypes, os
lib = ctypes.CDLL(os.environ["MARLIN_QUANT_LIB"])
import torch; torch.cuda.init(); torch.zeros(1, device="cuda")
rows = {}
for cw in (2, 4):
    out = (ctypes.c_int * 9)()
    lib.mq_skinny_clusters(cw, out)
    rows[cw] = list(out)
    import sys; print(f"cw={cw} clusters of 0..8:", list(out), file=sys.stderr)
print(",".join(str(min(rows[2][s], rows[4][s])) for s in range(2, 9)))
PY
}
case "$1" in
skc)
  export MQ_SKC_MAX=$(skc_max .dev/skc_exp.so 2> "$D/skc_max.log"); cat "$D/skc_max.log"; echo "MQ_SKC_MAX=$MQ_SKC_MAX" | tee -a "$D/skc_max.log"
  export MQ_FORCE_SKINNY=8,0,0,-1
  smoke skc "--m 1 --k 4096 --n 4096" "--m 8 --k 11008 --n 4096" "--m 3 --k 4096 --n 22016"
  timeout 200 env MARLIN_QUANT_LIB=.dev/skc_exp.so python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "skinny_plan or summer_partial_counts or deterministic or small_and_odd or (llama_shapes and (1- or 8-)) or (m_sweep and (1- or 2- or 3- or 5- or 8-)) or graph or back_to_back or two_streams" \
    > "$D/gpu_tests_skc.log" 2>&1
  echo "== GPU tests skc rc=$? ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_skc.log" | tail -3; pack
  unset MQ_FORCE_SKINNY
  timeout 240 env MARLIN_QUANT_LIB=.dev/skc_exp.so python scripts/sweep_wgmma.py --m 1,4,8 \
    --configs plan,sk=8:0:0:-1,sk=8:0:2:-1,sk=8:0:4:-1,plan,sk=8:0:0:-1,sk=8:0:2:-1,sk=8:0:4:-1 \
    --sets llama2-7b,llama2-70b,llama3.2-3b > "$D/sweep_skc.log" 2>&1
  echo "== sweep rc=$? ($((SECONDS - start)) s)"; grep -A12 "^totals" "$D/sweep_skc.log"; pack
  MQ_FORCE_SKINNY=8,0,0,-1 timeout 90 env MARLIN_QUANT_LIB=.dev/skc_exp.so compute-sanitizer --tool memcheck --print-limit 10 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "skinny_plan and (5-11008-4096-128 or 8-3072-3072-32 or 1-4096-4096-64 or 1-4096-4096--1)" > "$D/memcheck_skc.log" 2>&1
  echo "== memcheck skc ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_skc.log" | tail -2
  ;;
trace)
  export MQ_SKC_MAX=132,79,62,47,39,32,30  # the skc call's counts on the H100
  for v in "" "8,0,0,-1" "8,0,4,-1"; do
    timeout 100 env MQ_FORCE_SKINNY=$v MARLIN_QUANT_LIB=.dev/skc_trace.so python scripts/trace_launches.py --m 1,8 \
      --layers 4096x12288,4096x4096,4096x22016,11008x4096,8192x8192 > "$D/trace_${v:-plan}.log" 2>&1
    echo "== trace ${v:-plan} rc=$? ($((SECONDS - start)) s)"; cat "$D/trace_${v:-plan}.log"; pack
  done
  ;;
pairs)
  # m = 16-32 on the Hopper path: the planner's plan (pairs where its rule says so) against the
  # same tiles unpaired, unpaired with at most 4 / 2 ranges a tile, and 32 x 512 tiles.
  timeout 330 env MARLIN_QUANT_LIB=.dev/head36_exp.so python scripts/sweep_wgmma.py --m 16,24,32 \
    --configs plan,plan@single,plan@single/s4,plan@single/s2,32:4:4:2,plan,plan@single,plan@single/s4 \
    --sets llama2-7b,llama3.2-3b,llama2-70b > "$D/sweep_pairs.log" 2>&1
  echo "== sweep rc=$? ($((SECONDS - start)) s)"; grep -A12 "^totals" "$D/sweep_pairs.log"; pack
  timeout 200 env MARLIN_QUANT_LIB=.dev/head36_exp.so python scripts/sweep_wgmma.py --m 40,64,128,256 \
    --configs plan,plan@single,plan,plan@single --sets llama2-7b,llama3.2-3b,llama2-70b > "$D/sweep_pairs64.log" 2>&1
  echo "== sweep64 rc=$? ($((SECONDS - start)) s)"; grep -A18 "^totals" "$D/sweep_pairs64.log"
  ;;
ship)
  # gpu_checks.sh's steps, tests first and racecheck last and time-boxed, for a call that may be
  # cut short (a planner-only change: the kernels are instruction for instruction the last
  # release's); memcheck over the newly planned single 16 x 256 summers too.
  F=$OUT/final; mkdir -p "$F"
  timeout 240 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py 2>&1 | grep -v DEBUG > "$F/gpu_tests.log"
  echo "== GPU tests ($((SECONDS - start)) s)"; tail -2 "$F/gpu_tests.log"; pack
  timeout 90 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "(small_and_odd and (1- or 7- or 16- or 20- or 33- or 300-)) or every_hopper_tile or (sixteen_token and (4096-16448-9- or 8192-8192-12- or 28672-8192-16-128)) or (hopper_pairs and (20-4096-4096 or 33-4096-4096 or 200-8192-8192)) or (hopper_summer_partial_counts and 16-)" > "$F/memcheck.log" 2>&1
  echo "== memcheck ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$F/memcheck.log" | tail -2; pack
  timeout 120 python scripts/bench_kernel.py --json "$F/bench.json" > "$F/bench.log" 2>&1
  echo "== bench rc=$? ($((SECONDS - start)) s)"; cat "$F/bench.log"; pack
  for v in ship36_tested rel; do  # the release before and this one, 3B and 7B at m = 16-32
    lib=.dev/$v.so; [ $v = rel ] && lib=marlin_quant/_lib/libmarlin_quant_kernels.so
    timeout 28 env MARLIN_QUANT_LIB=$lib python scripts/bench_kernel.py --sets llama3.2-3b,llama2-7b --m 16,24,32 \
      --per-layer > "$D/bench3b_$v.log" 2>&1
    echo "== bench3b $v rc=$? ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench3b_$v.log"; pack
  done
  NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=50000000 timeout 150 compute-sanitizer --tool racecheck --print-limit 100000 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "deterministic or (hopper_pairs and (20-4096-4096 or 33-4096-4096))" \
    > "$F/racecheck.log" 2>&1
  echo "== racecheck ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$F/racecheck.log" | tail -2
  python scripts/racecheck_summary.py "$F/racecheck.log"; gzip -f "$F/racecheck.log"
  ;;
*) echo "usage: call.sh skc | trace | pairs | ship" >&2; exit 2 ;;
esac
pack

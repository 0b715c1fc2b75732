#!/bin/bash
# The twenty-sixth session's device calls (carry marlin_quant/_lib and the .dev libraries a mode
# uses). Logs are returned as one tarball (a call brings back at most 8 files).
# .dev/release_prev.so is the release the session started from (21231fa); on a fresh checkout:
#   out=$PWD/.dev/release_prev.so; git worktree add /tmp/prev 21231fa && \
#     (cd /tmp/prev && python scripts/build_kernels.py --out "$out"); git worktree remove --force /tmp/prev
# (run from the repository root; ~2.5 min), and .dev/head_exp.so by address_math/build_variants.sh.
#   call.sh a   one skinny block per SM where two would stream one batch each (the release's new
#               planner rule): the sweep (head_exp.so, `plan` = the rule, `sk=8:2` = two per SM
#               everywhere, as before) at m = 1 / 4 / 8 on the 7B and Llama-3.2-3B sets, two
#               rounds; the benchmark of the release before (.dev/release_prev.so, same kernels)
#               and this one alternating, two rounds; then this release's full benchmark and its
#               memcheck subset (~5 min)
#   call.sh b   this release's GPU test file and racecheck subset (~7 min)
#   call.sh c   (for an H100) the skinny plan's chunks per tile and blocks per SM at m = 1 / 4 / 8
#               on the three sets (`sk=8:PER_SM:CHUNKS`, head_exp.so), then call a's A/B
#               benchmark and the release's full benchmark (~5 min)
#   call.sh d   (for an H200) two rounds of the chunks-per-tile sweep at two blocks per SM (~1 min;
#               it ran on the H100 held then: benchmarks/logs/h100_s31/sweep_chunks_2.log)
#   call.sh e   the candidate planner (four-chunk tiles on long ranges, one per SM on whole
#               batches only) against the session's first release, two rounds; GPU tests of
#               the m <= 8 paths, memcheck and racecheck of the changed plans; the benchmark
#               if time is left (~7 min)
#   call.sh f   call e cut to what fits the session's last device minutes: one A/B round, the
#               skinny plans' GPU tests, memcheck of two of them (~3 min)
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
# Logs are written outside $OUT and packed after every step, so that a call cut by its time limit
# still brings back one tarball of what ran.
D=/tmp/x
rm -rf "$D"; mkdir -p "$D"
pack() { tar czf "$OUT/logs_$MODE.tgz" -C /tmp x; }
MODE=$1
start=$SECONDS
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit,memory.total --format=csv > "$D/gpu_$1.txt" 2>&1
left() { echo $(( ${LIMIT:-560} - (SECONDS - start) )); }
# The release before (.dev/release_prev.so) and this one in turn, one process each, 7B and
# Llama-3.2-3B sets at m = 1 / 4 / 8, per layer: ROUNDS SECONDS-EACH SUFFIX LINES-REGEX;
# logs $D/bench_{prev,new}_ROUND$SUFFIX.log.
ab_bench() {
  for r in $(seq "$1"); do
    for v in prev new; do
      lib=; [ $v = prev ] && lib=.dev/release_prev.so
      timeout "$2" env MARLIN_QUANT_LIB=$lib python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b --m 1,4,8 \
        --per-layer > "$D/bench_${v}_$r$3.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -E "$4" "$D/bench_${v}_$r$3.log"; pack
    done
  done
}
case "$1" in
a)
  timeout 120 env MARLIN_QUANT_LIB=.dev/head_exp.so python scripts/sweep_wgmma.py --m 1,4,8 \
    --configs plan,sk=8:2,plan,sk=8:2 --sets llama2-7b,llama3.2-3b > "$D/sweep.log" 2>&1
  echo "== sweep ($((SECONDS - start)) s)"; grep -A20 "^totals" "$D/sweep.log"
  ab_bench 2 100 "" "^llama"
  timeout $(( $(left) > 200 ? 200 : $(left) )) python scripts/bench_kernel.py --json "$D/bench.json" > "$D/bench.log" 2>&1
  echo "== benchmark ($((SECONDS - start)) s)"; cat "$D/bench.log"
  timeout $(( $(left) )) compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "(small_and_odd and (1- or 7- or 16- or 20- or 33- or 300-)) or every_hopper_tile or (sixteen_token and (4096-16448-9- or 8192-8192-12- or 28672-8192-16-128)) or (hopper_pairs and (20-4096-4096 or 33-4096-4096 or 200-8192-8192))" > "$D/memcheck.log" 2>&1
  echo "== memcheck ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck.log" | tail -2
  ;;
c)
  timeout 150 env MARLIN_QUANT_LIB=.dev/head_exp.so python scripts/sweep_wgmma.py --m 1,4,8 \
    --configs plan,sk=8:2,sk=8:2:2,sk=8:2:4,sk=8:1:2,plan --sets llama2-7b,llama2-70b,llama3.2-3b > "$D/sweep_chunks.log" 2>&1
  echo "== sweep ($((SECONDS - start)) s)"; grep -A20 "^totals" "$D/sweep_chunks.log"
  ab_bench 2 100 "" "^llama"
  timeout $(( $(left) > 240 ? 240 : $(left) )) python scripts/bench_kernel.py --json "$D/bench.json" > "$D/bench.log" 2>&1
  echo "== benchmark ($((SECONDS - start)) s)"; cat "$D/bench.log"
  ;;
d)
  timeout 200 env MARLIN_QUANT_LIB=.dev/head_exp.so python scripts/sweep_wgmma.py --m 1,4,8 \
    --configs plan,sk=8:2:4,sk=8:2:2,plan,sk=8:2:4,sk=8:2:2 --sets llama2-7b,llama2-70b,llama3.2-3b > "$D/sweep_chunks_h200.log" 2>&1
  echo "== sweep ($((SECONDS - start)) s)"; cat "$D/sweep_chunks_h200.log"
  ;;
e)
  ab_bench 2 60 "" "^llama|k=11008|k=4096 n=4096|k=3072 n=3072"
  timeout 170 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "m_sweep or small_and_odd or llama_shapes or skinny_plan or deterministic or streams or back_to_back or graph" > "$D/gpu_tests_e.log" 2>&1
  echo "== GPU tests ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_e.log" | tail -2; pack
  sub="deterministic and (1-4096 or 8-4096 or 1-11008 or 8-11008)"
  timeout 90 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "$sub or (skinny_plan and (5-11008 or 5-4096-4096 or 8-14336))" > "$D/memcheck_e.log" 2>&1
  echo "== memcheck ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_e.log" | tail -2; pack
  timeout 120 compute-sanitizer --tool racecheck --print-limit 100000 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "$sub" > "$D/racecheck_e.log" 2>&1
  echo "== racecheck ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$D/racecheck_e.log" | tail -2
  python scripts/racecheck_summary.py "$D/racecheck_e.log"; echo "racecheck_summary rc=$?"
  (( $(left) > 140 )) && timeout $(( $(left) - 10 )) python scripts/bench_kernel.py --json "$D/bench.json" > "$D/bench.log" 2>&1 \
    && echo "== benchmark ($((SECONDS - start)) s)" && cat "$D/bench.log"
  ;;
f)
  ab_bench 1 45 _f "^llama|k=11008|k=4096 n=4096|k=3072 n=3072"
  timeout 90 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "skinny_plan or deterministic or (llama_shapes and (1- or 8-))" > "$D/gpu_tests_f.log" 2>&1
  echo "== GPU tests ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_f.log" | tail -2; pack
  timeout 60 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "skinny_plan and (5-11008-4096-128 or 5-4096-4096-128 or 1-11008-4096--1)" > "$D/memcheck_f.log" 2>&1
  echo "== memcheck ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_f.log" | tail -2
  ;;
b)
  timeout 330 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py > "$D/gpu_tests.log" 2>&1
  echo "== GPU tests ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests.log" | tail -3
  NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=50000000 timeout $(left) compute-sanitizer --tool racecheck --print-limit 100000 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "deterministic or (hopper_pairs and (20-4096-4096 or 33-4096-4096))" > "$D/racecheck.log" 2>&1
  echo "== racecheck ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$D/racecheck.log" | tail -2
  python scripts/racecheck_summary.py "$D/racecheck.log"; echo "racecheck_summary rc=$?"
  ;;
esac
pack

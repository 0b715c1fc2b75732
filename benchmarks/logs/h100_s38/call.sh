#!/bin/bash
# The thirty-third session's device calls. Logs are packed into one tarball after every step.
#   call.sh checks (H100) the release's checks that the thirty-second session's device time cut
#               (scripts/gpu_checks.sh's steps with time boxes, tests first; the benchmark of this
#               library is benchmarks/h100.json already): the whole GPU test file, memcheck,
#               racecheck (~9 min). Carry marlin_quant/_lib.
#   call.sh hs    (H100) what the split-k handshake costs, as bounds: the release against hs1 (the
#               contributors' count without its release fence) and hs2 (the skinny kernel with no
#               count and no wait: wrong sums), per layer, 7B at m = 1 / 8 / 16, 70B at m = 1 / 16,
#               two rounds (.dev/hs1_exp.so, .dev/hs2_exp.so from hs/*.patch; carry both) (~6 min).
#   call.sh owed  (H100) the GPU tests that the thirty-second session's box cut (16-token tiles,
#               pairs, compile) and racecheck, then hs while the call lasts (~9.5 min). Run once:
#               its 170 s racecheck box was too short (the step takes ~205 s on the H100; box
#               raised to 240 since) and racecheck ran again on its own in the next call.
#   call.sh trace (H100) timelines (scripts/trace_launches.py) of the release and of hs2 (no
#               handshake) at m = 1 / 8 on the 7B layers: whether 11008x4096's 2.5 us over its read
#               floor with no handshake is the loop (230 blocks on 132 SMs) or the summers' reads
#               (.dev/rel38_trace.so, .dev/hs2_trace.so: -DMQ_TRACE builds of csrc and of
#               hs/hs2_trace.patch, which is hs2 stamping slot 4 where the summer starts reading;
#               carry both) (~2 min).
#   call.sh ll    (H100) the skinny kernel's split-k partials with the flag in band
#               (ll.patch, .dev/ll_exp.so; carry it and .dev/hs2_exp.so): a smoke run, the same bits
#               as the release (same additions in the same order), the m <= 8 GPU tests and memcheck,
#               then the release / ll / hs2 (the bound) per layer at m = 1 / 8 (70B m = 1), two rounds (~8 min).
#   call.sh h200  (H200) owed since the twenty-sixth session: the release's benchmark there (for
#               benchmarks/h200.json), then the skinny chunk sweep at m = 1 / 4 / 8 (plan against
#               four- and two-chunk tiles; .dev/head36_exp.so, whose skinny planner is this
#               release's; carry it and marlin_quant/_lib) (~7 min).
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
checks)
  F=$OUT/final; mkdir -p "$F"
  md5sum marlin_quant/_lib/libmarlin_quant_kernels.so > "$F/lib.md5"
  timeout 330 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py 2>&1 | grep -v DEBUG > "$F/gpu_tests.log"
  echo "== GPU tests ($((SECONDS - start)) s)"; tail -3 "$F/gpu_tests.log"
  timeout 100 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "(small_and_odd and (1- or 7- or 16- or 20- or 33- or 300-)) or every_hopper_tile or (sixteen_token and (4096-16448-9- or 8192-8192-12- or 28672-8192-16-128)) or (hopper_pairs and (20-4096-4096 or 33-4096-4096 or 200-8192-8192 or 32-5120-3072)) or (hopper_summer_partial_counts and 16-)" > "$F/memcheck.log" 2>&1
  echo "== memcheck ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$F/memcheck.log" | tail -2
  left=$((570 - SECONDS + start))
  NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=50000000 timeout $left compute-sanitizer --tool racecheck --print-limit 100000 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "deterministic or (hopper_pairs and (20-4096-4096 or 33-4096-4096))" \
    > "$F/racecheck.log" 2>&1
  echo "== racecheck rc=$? in ${left} s box ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$F/racecheck.log" | tail -2
  python scripts/racecheck_summary.py "$F/racecheck.log"; gzip -f "$F/racecheck.log"
  ;;
hs|owed)
  if [ "$1" = owed ]; then
    # What the thirty-second session's checks did not reach (its GPU test box and racecheck),
    # then the handshake bounds while the call's time lasts.
    F=$OUT/final; mkdir -p "$F"
    md5sum marlin_quant/_lib/libmarlin_quant_kernels.so > "$F/lib.md5"
    timeout 150 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "sixteen_token or hopper_pairs or compile" 2>&1 \
      | grep -v DEBUG > "$F/gpu_tests_rest.log"
    echo "== GPU tests, the rest ($((SECONDS - start)) s)"; tail -3 "$F/gpu_tests_rest.log"
    NV_COMPUTE_SANITIZER_MAX_RACECHECK_HAZARDS=50000000 timeout 240 compute-sanitizer --tool racecheck --print-limit 100000 \
      python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "deterministic or (hopper_pairs and (20-4096-4096 or 33-4096-4096))" \
      > "$F/racecheck.log" 2>&1
    echo "== racecheck rc=$? ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$F/racecheck.log" | tail -2
    python scripts/racecheck_summary.py "$F/racecheck.log"; gzip -f "$F/racecheck.log"
  fi
  for r in 1 2; do
    for v in rel hs1 hs2; do
      [ $((SECONDS - start)) -gt 520 ] && break 2
      timeout 40 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/bench_kernel.py --sets llama2-7b --m 1,8,16 \
        --per-layer > "$D/bench_${v}_$r.log" 2>&1
      timeout 40 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/bench_kernel.py --sets llama2-70b --m 1,16 \
        --per-layer > "$D/bench70_${v}_$r.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log" "$D/bench70_${v}_$r.log"; pack
    done
  done
  ;;
trace)
  for v in rel38 hs2; do
    timeout 100 env MARLIN_QUANT_LIB=.dev/${v}_trace.so python scripts/trace_launches.py --m 1,8 \
      --layers 4096x12288,4096x4096,4096x22016,11008x4096 > "$D/trace_$v.log" 2>&1
    echo "== trace $v rc=$? ($((SECONDS - start)) s)"; cat "$D/trace_$v.log"; pack
  done
  ;;
ll)
  smoke ll "--m 1 --k 4096 --n 4096" "--m 8 --k 11008 --n 4096" "--m 3 --k 4096 --n 22016" "--m 1 --k 8192 --n 57344"
  same_bits ll
  checks ll 150 "$SKINNY_TESTS or small_and_odd or two_streams" "$SKINNY_MEMCHECK or (deterministic and 1-11008)"
  ab 2 1,8 1 ll hs2
  ;;
h200)
  F=$OUT/final; mkdir -p "$F"
  timeout 200 python scripts/bench_kernel.py --json "$F/bench_h200.json" > "$F/bench_h200.log" 2>&1
  echo "== bench rc=$? ($((SECONDS - start)) s)"; cat "$F/bench_h200.log"; pack
  timeout 240 env MARLIN_QUANT_LIB=${SWEEP_LIB:-.dev/head36_exp.so} python scripts/sweep_wgmma.py --m 1,4,8 \
    --configs plan,sk=8:2:4,sk=8:2:2,plan,sk=8:2:4,sk=8:2:2 --sets llama2-7b,llama2-70b,llama3.2-3b > "$D/sweep_chunks_h200.log" 2>&1
  echo "== sweep rc=$? ($((SECONDS - start)) s)"; grep -A12 "^totals" "$D/sweep_chunks_h200.log"
  ;;
*) echo "usage: call.sh checks | hs | owed | trace | ll | h200" >&2; exit 2 ;;
esac
pack

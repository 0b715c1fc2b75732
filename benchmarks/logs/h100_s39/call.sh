#!/bin/bash
# The thirty-fourth session's device calls. Logs are packed into one tarball after every step.
#   call.sh graph  captured launches' ticket slots (csrc mq_graph_tickets; .dev/graph39.so, carry it
#                  and .dev/old39, the release before as a package with its library): the graph and
#                  stream GPU tests, the decode step of bench_e2e (CUDA graph) before / after, the
#                  graph tests under memcheck, then the rest of the GPU tests while the call lasts.
#   call.sh trace  = h100_s38/call.sh trace (timelines of the release and of hs2 on the 7B layers);
#                  ran on the ABI-6 trace builds, which this package refuses (ABI 7): see measure.
#   call.sh measure (~5 min) the slot give-back test as fixed after the graph call (plain and under
#                  memcheck); timelines of the release and of hs2 on the 7B layers at m = 1 / 8
#                  (.dev/rel39_trace.so, .dev/hs2_39_trace.so: -DMQ_TRACE builds of csrc and of
#                  h100_s38/hs/hs2_trace.patch at ABI 7); then h100_s38's flagged partials
#                  (.dev/ll39_exp.so from h100_s38/ll.patch): smoke, and the release / ll per layer
#                  at m = 1 / 8 (70B m = 1), two rounds. Carry the three and marlin_quant/_lib.
#   call.sh slots  (~3 min) the graph tests as split after measure (shares / gives back), plain,
#                  and memcheck on the sharing one, the side-by-side one and small shapes.
#   call.sh sum1   (~4 min) the four- and two-chunk skinny summers at m <= 2 with every range's
#                  loads in one round trip (sum1/one_trip.patch, .dev/sum1_exp.so; carry it):
#                  smoke, same bits as the release at m = 1 / 2 / 8, release / sum1 per layer at
#                  m = 1 / 2 (70B m = 1) two rounds, then its m <= 2 GPU tests.
#   call.sh trace2 (~1 min; not run) timelines from .dev/rel39b_trace.so (-DMQ_TRACE of csrc at
#                  this session's end, which stamps the skinny summer's partials added and C
#                  stored): the 7B layers and 8192x3072 at m = 1 / 2 / 8; carry it.
#   call.sh h200   (~7 min; not run) h100_s38's owed H200 call at ABI 7: the release's benchmark
#                  (for benchmarks/h200.json), then the skinny chunk sweep at m = 1 / 4 / 8
#                  (.dev/head39_exp.so, -DMQ_EXPERIMENT; carry it and marlin_quant/_lib).
#   call.sh llchecks (~4 min) ll39's same bits as the release, its m <= 8 GPU tests and memcheck.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
NEW=.dev/graph39.so
case "$1" in
graph)
  md5sum $NEW .dev/old39/marlin_quant/_lib/libmarlin_quant_kernels.so > "$D/libs.md5"
  G="graph or compile or back_to_back or two_streams or first_call or workspace"
  timeout 150 env MARLIN_QUANT_LIB=$NEW python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "$G" \
    > "$D/gpu_tests_graph.log" 2>&1
  echo "== GPU tests, graphs ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_graph.log" | tail -4; pack
  for r in 1 2; do
    timeout 120 env PYTHONPATH=.dev/old39 python benchmarks/logs/h100_s39/e2e_step.py --rounds 3 > "$D/e2e_old_$r.log" 2>&1
    echo "== e2e old $r ($((SECONDS - start)) s)"; grep -E "^batch|Error" "$D/e2e_old_$r.log"
    timeout 120 env PYTHONPATH=. MARLIN_QUANT_LIB=$NEW python benchmarks/logs/h100_s39/e2e_step.py --rounds 3 > "$D/e2e_new_$r.log" 2>&1
    echo "== e2e new $r ($((SECONDS - start)) s)"; grep -E "^batch|Error" "$D/e2e_new_$r.log"; pack
    [ $((SECONDS - start)) -gt 330 ] && break
  done
  timeout 90 env MARLIN_QUANT_LIB=$NEW compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q \
    -p no:cacheprovider tests/test_kernel_gpu.py -k "graph_takes or side_by_side or first_call" > "$D/memcheck_graph.log" 2>&1
  echo "== memcheck graphs ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_graph.log" | tail -2; pack
  left=$((570 - SECONDS + start))
  [ $left -gt 30 ] && timeout $left env MARLIN_QUANT_LIB=$NEW python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "not ($G)" -x > "$D/gpu_tests_rest.log" 2>&1
  echo "== GPU tests, the rest in ${left} s ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_rest.log" | tail -3
  ;;
trace)
  exec bash benchmarks/logs/h100_s38/call.sh trace
  ;;
measure)
  timeout 60 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "graph_takes or side_by_side" > "$D/gpu_tests_slot.log" 2>&1
  echo "== GPU tests, slots ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_slot.log" | tail -2
  timeout 90 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "graph_takes or side_by_side or first_call" > "$D/memcheck_slot.log" 2>&1
  echo "== memcheck slots ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_slot.log" | tail -2; pack
  for v in rel39 hs2_39; do
    timeout 100 env MARLIN_QUANT_LIB=.dev/${v}_trace.so python scripts/trace_launches.py --m 1,8 \
      --layers 4096x12288,4096x4096,4096x22016,11008x4096 > "$D/trace_$v.log" 2>&1
    echo "== trace $v rc=$? ($((SECONDS - start)) s)"; grep -v "^ " "$D/trace_$v.log" | tail -30; pack
  done
  smoke ll39 "--m 1 --k 4096 --n 4096" "--m 8 --k 11008 --n 4096" "--m 3 --k 4096 --n 22016" "--m 1 --k 8192 --n 57344"
  ab 2 1,8 1 ll39
  ;;
llchecks)
  same_bits ll39
  checks ll39 150 "$SKINNY_TESTS or small_and_odd or two_streams" "$SKINNY_MEMCHECK or (deterministic and 1-11008)"
  ;;
slots)
  # The slot tests as split after the measure call (the give-back check out of memcheck's list).
  timeout 90 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "graph or compile or two_streams or first_call" \
    > "$D/gpu_tests_slots.log" 2>&1
  echo "== GPU tests, graphs ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_slots.log" | tail -2
  timeout 120 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "graph_shares or side_by_side or first_call or (small_and_odd and (1- or 7-))" > "$D/memcheck_slots.log" 2>&1
  echo "== memcheck ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_slots.log" | tail -2
  ;;
sum1)
  smoke sum1 "--m 1 --k 4096 --n 4096" "--m 2 --k 11008 --n 4096" "--m 1 --k 3072 --n 3072" "--m 1 --k 28672 --n 8192"
  export SAME_BITS_M=1,2,8; same_bits sum1
  ab 2 1,2 1 sum1
  timeout 100 env MARLIN_QUANT_LIB=.dev/sum1_exp.so python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "skinny_plan or deterministic or (llama_shapes and (1- or 2-)) or (m_sweep and (1- or 2-)) or small_and_odd" > "$D/gpu_tests_sum1.log" 2>&1
  echo "== GPU tests sum1 ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_sum1.log" | tail -2
  ;;
trace2)
  # Written after the device time was spent, not run: where 11008x4096's last 2 us go.
  for v in rel39b; do
    timeout 100 env MARLIN_QUANT_LIB=.dev/${v}_trace.so python scripts/trace_launches.py --m 1,2,8 \
      --layers 4096x12288,4096x4096,4096x22016,11008x4096,8192x3072 > "$D/trace_$v.log" 2>&1
    echo "== trace $v rc=$? ($((SECONDS - start)) s)"; cat "$D/trace_$v.log"; pack
  done
  ;;
h200)
  # h100_s38/call.sh h200 at ABI 7 (written, not run): its sweep on .dev/head39_exp.so (this csrc
  # with -DMQ_EXPERIMENT, sm_90a) instead of the ABI-6 head36.
  SWEEP_LIB=.dev/head39_exp.so exec bash benchmarks/logs/h100_s38/call.sh h200
  ;;
*) echo "usage: call.sh graph | trace | measure | llchecks | slots | sum1 | trace2 | h200" >&2; exit 2 ;;
esac
pack

#!/bin/bash
# The thirty-fourth session's device calls. Logs are packed into one tarball after every step.
#   call.sh graph  captured launches' ticket slots (csrc mq_graph_tickets; .dev/graph39.so, carry it
#                  and .dev/old39, the release before as a package with its library): the graph and
#                  stream GPU tests, the decode step of bench_e2e (CUDA graph) before / after, the
#                  graph tests under memcheck, then the rest of the GPU tests while the call lasts.
#   call.sh trace  = h100_s38/call.sh trace (timelines of the release and of hs2 on the 7B layers).
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
*) echo "usage: call.sh graph | trace" >&2; exit 2 ;;
esac
pack

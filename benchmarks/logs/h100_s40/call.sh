#!/bin/bash
# The thirty-fifth session's device calls. Logs are packed into one tarball after every step.
#   call.sh first  (~2 min) h100_s39's trace2 (.dev/rel39b_trace.so, carry it: the skinny summer's
#                  partials added / C stored stamps; raw per-block stamps
#                  under raw/ for entry time against loop end), then the graph GPU tests on the shipped
#                  library (the 943066e reserve change had not run on a GPU).
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
first)
  timeout 100 env MARLIN_QUANT_LIB=.dev/rel39b_trace.so python scripts/trace_launches.py --m 1,2,8 \
    --layers 4096x12288,4096x4096,4096x22016,11008x4096,8192x3072 --dump "$D/raw" > "$D/trace_rel39b.log" 2>&1
  echo "== trace rc=$? ($((SECONDS - start)) s)"; cat "$D/trace_rel39b.log"; pack
  timeout 90 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "graph or compile or two_streams or first_call or workspace" \
    > "$D/gpu_tests_graph.log" 2>&1
  echo "== GPU tests, graphs ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_graph.log" | tail -3
  ;;
*) echo "usage: call.sh first" >&2; exit 2 ;;
esac
pack

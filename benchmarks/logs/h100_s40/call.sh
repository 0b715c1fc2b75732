#!/bin/bash
# The thirty-fifth session's device calls. Logs are packed into one tarball after every step.
#   call.sh first  (~2 min) h100_s39's trace2 (.dev/rel39b_trace.so, carry it: the skinny summer's
#                  partials added / C stored stamps; raw per-block stamps
#                  under raw/ for entry time against loop end), then the graph GPU tests on the shipped
#                  library (the 943066e reserve change had not run on a GPU).
#   call.sh align  (~6 min) tile-aligned skinny ranges (align/align.patch; carry .dev/align_exp.so,
#                  .dev/align_trace.so and marlin_quant/_lib): smoke, then per layer at m = 1 / 8
#                  the release, align, and align with MQ_FORCE_ALIGN=0 (the same binary planning
#                  uniform ranges) in turn, two rounds; timelines of align (its cross / rest
#                  columns assume uniform ranges: ignore them); its skinny GPU tests and memcheck.
#   call.sh trip   (~1 min; carry .dev/trip_trace.so: -DMQ_TRACE -DMQ_TRACE_TRIP of trip/trip_stamp.patch,
#                  the skinny summer stamps slot 6 after its first round of partial loads): timelines
#                  at m = 1 back to back as in the benchmark, then with a small kernel between
#                  launches (--gap: nothing overlaps), raw stamps of both for the summers' rounds;
#                  then the GPU tests that go through check() (NaN-poisoned output block).
#   call.sh trip_bench  trip, then the release's benchmark (bench_kernel.py --json) in the same call.
#   call.sh pack   (~6 min; written, not run) packed partials of tokens 0-1 at m <= 2
#                  (pack/packed_rows.patch; carry .dev/pack_exp.so, .dev/pack_trace.so and
#                  marlin_quant/_lib): smoke, same bits as the release at m = 1 / 2 / 8, release /
#                  pack per layer at m = 1 / 2 (70B m = 1) two rounds, pack's timelines at m = 1 / 2
#                  with raw stamps, its m <= 2 GPU tests and memcheck.
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
align)
  smoke align "--m 1 --k 11008 --n 4096" "--m 8 --k 4096 --n 22016" "--m 3 --k 8192 --n 3072" "--m 1 --k 4096 --n 4096"
  for r in 1 2; do
    for v in rel align align0; do
      lib=$(lib_of ${v%0}); env0=""; [ $v = align0 ] && env0="MQ_FORCE_ALIGN=0"
      timeout 70 env $env0 MARLIN_QUANT_LIB=$lib python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b --m 1,8 \
        --per-layer > "$D/bench_${v}_$r.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log"; pack
    done
  done
  timeout 60 env MARLIN_QUANT_LIB=.dev/align_trace.so python scripts/trace_launches.py --m 1,8 \
    --layers 4096x22016,11008x4096,8192x3072,4096x12288 --dump "$D/raw" > "$D/trace_align.log" 2>&1
  echo "== trace align rc=$? ($((SECONDS - start)) s)"; cat "$D/trace_align.log"; pack
  checks align 150 "$SKINNY_TESTS or small_and_odd or two_streams or summer" "$SKINNY_MEMCHECK or (deterministic and 1-11008)"
  ;;
trip)
  for g in "" --gap; do
    timeout 60 env MARLIN_QUANT_LIB=.dev/trip_trace.so python scripts/trace_launches.py --m 1 $g \
      --layers 11008x4096,8192x3072,4096x12288,4096x4096 --dump "$D/raw$g" > "$D/trace_trip$g.log" 2>&1
    echo "== trace trip $g rc=$? ($((SECONDS - start)) s)"; cat "$D/trace_trip$g.log"; pack
  done
  timeout 60 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "m_sweep or llama_shapes" -x \
    > "$D/gpu_tests_check.log" 2>&1
  echo "== GPU tests through check() ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_check.log" | tail -2
  ;;
trip_bench)
  # trip, then (on an H200) the release's benchmark for benchmarks/h200.json while the call lasts.
  bash "$0" trip
  tar xzf "$OUT/logs_trip.tgz" -C /tmp; MODE=trip_bench
  timeout 200 python scripts/bench_kernel.py --json "$D/bench.json" > "$D/bench.log" 2>&1
  echo "== bench rc=$? ($((SECONDS - start)) s)"; cat "$D/bench.log"
  ;;
pack)
  smoke pack "--m 1 --k 11008 --n 4096" "--m 2 --k 8192 --n 3072" "--m 1 --k 4096 --n 4096" "--m 2 --k 28672 --n 8192"
  export SAME_BITS_M=1,2,8; same_bits pack
  ab 2 1,2 1 pack
  timeout 60 env MARLIN_QUANT_LIB=.dev/pack_trace.so python scripts/trace_launches.py --m 1,2 \
    --layers 11008x4096,8192x3072,4096x12288,4096x4096 --dump "$D/raw" > "$D/trace_pack.log" 2>&1
  echo "== trace pack rc=$? ($((SECONDS - start)) s)"; cat "$D/trace_pack.log"; pack
  checks pack 120 "skinny_plan or deterministic or (llama_shapes and (1- or 2-)) or (m_sweep and (1- or 2-)) or small_and_odd or summer or graph" \
    "$SKINNY_MEMCHECK or (deterministic and 1-11008) or (small_and_odd and (1-576 or 1-64-))"
  ;;
*) echo "usage: call.sh first | align | trip | trip_bench | pack" >&2; exit 2 ;;
esac
pack

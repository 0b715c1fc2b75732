#!/bin/bash
# The fortieth session's device calls.
#   (first, on an H200: `s44/call.sh next`, its logs in next/; and one same-process sweep of the
#   32-token widths on four sets, sweep_width2.log)
#   call.sh deep   (~6 min; carry marlin_quant/_lib as `pip install -e .` builds it, .dev/head44x_exp.so
#                  (HEAD before this session, -DMQ_EXPERIMENT) and .dev/deep32_exp.so (deep32.patch:
#                  32 x 128 tiles at m = 17-32 only below 3 x 2^24 weights)): the same-process width
#                  sweep on the H100 (32 x 256 / 32 x 128 on the 7B, Llama-3-8B and Qwen2-7B sets, two
#                  rounds), deep32's GPU tests of the 32-token plans and its memcheck, then the release
#                  and deep32 in turn on the Llama-3-8B and Qwen2-7B sets at m = 17 / 24 / 32 (two rounds)
#                  and deep32's benchmark of those two sets (JSON). Also the 16-token widths on the two
#                  new sets (16 x 128 / 256 / 512 against the plan at m = 16, two rounds), and last the
#                  end-to-end decode benchmark (`marlin-quant bench --e2e --static-cache`) of the release.
#                  As run, marlin_quant/_lib had already been rebuilt by `pip install -e .` with
#                  deep32's rule, so its "rel" rounds repeat deep32 (the same plans; bench_rel_*.log):
#                  the baseline of the release before is the sweep's plan column (head44x_exp.so).
#   call.sh wide   (~2 min; carry .dev/head44x_exp.so) Qwen2-7B and Llama-3-8B at m = 64 / 128 / 256:
#                  the plan against 128 x 256 (128-k and 64-k stages), 64 x 256, 64 x 512 on every
#                  layer and single blocks instead of pairs, two rounds (Qwen2-7B read 0.83x at 256).
#   (call.sh s128, written for small128.patch and never run here, was superseded by s46/call.sh s128,
#   which ran the narrowed rule.)
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
deep)
  smoke deep32 "--m 32 --k 14336 --n 4096" "--m 17 --k 18944 --n 3584" "--m 24 --k 11008 --n 4096"
  timeout 150 env MARLIN_QUANT_LIB=.dev/head44x_exp.so python scripts/sweep_wgmma.py --m 17,24,32 \
    --sets llama2-7b,llama3-8b,qwen2-7b --configs plan,32:2:8:2,32:1:6:2,plan,32:2:8:2,32:1:6:2 > "$D/sweep_width.log" 2>&1
  echo "== sweep_width rc=$? ($((SECONDS - start)) s)"
  grep -E "11008x4096|14336x4096|18944x3584" "$D/sweep_width.log"; grep -A10 "^totals" "$D/sweep_width.log"; pack
  timeout 100 env MARLIN_QUANT_LIB=.dev/head44x_exp.so python scripts/sweep_wgmma.py --m 16 \
    --sets llama3-8b,qwen2-7b --configs plan,16:1:8:2,16:2:8:2,16:4:4:2,plan,16:1:8:2,16:2:8:2,16:4:4:2 > "$D/sweep16.log" 2>&1
  echo "== sweep16 rc=$? ($((SECONDS - start)) s)"; grep -A4 "^totals" "$D/sweep16.log"; pack
  checks deep32 120 "narrow_deep or hopper_pairs or (llama_shapes and [32-) or (m_sweep and (17- or 24- or 32-))" \
    "narrow_deep and (14336-4096-17 or 18944-3584-32 or 11008-4096-24)"
  for r in 1 2; do
    for v in rel deep32; do
      timeout 60 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/bench_kernel.py --sets llama3-8b,qwen2-7b --m 17,24,32 \
        --per-layer > "$D/bench_${v}_$r.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama\|^qwen" "$D/bench_${v}_$r.log"; pack
    done
  done
  timeout 120 env MARLIN_QUANT_LIB=.dev/deep32_exp.so python scripts/bench_kernel.py --sets llama3-8b,qwen2-7b \
    --json "$D/sets_deep32.json" > "$D/bench_sets_deep32.log" 2>&1
  echo "== bench sets rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_sets_deep32.log"; pack
  timeout 120 python -m cli.app bench --e2e --static-cache > "$D/e2e_static.log" 2>&1
  echo "== e2e rc=$? ($((SECONDS - start)) s)"; grep -E "^batch|^ms|Error" -A1 "$D/e2e_static.log"; pack
  ;;
wide)
  timeout 200 env MARLIN_QUANT_LIB=.dev/head44x_exp.so python scripts/sweep_wgmma.py --m 64,128,256 --sets qwen2-7b,llama3-8b \
    --configs plan,128:2:4:2,128:2:6:1,64:2:6:2,64:4:4:2,plan@single,plan,128:2:4:2,128:2:6:1,64:2:6:2,64:4:4:2,plan@single \
    > "$D/sweep_wide.log" 2>&1
  echo "== sweep_wide rc=$? ($((SECONDS - start)) s)"; cat "$D/sweep_wide.log"; pack
  ;;
*) echo "usage: call.sh deep | wide" >&2; exit 2 ;;
esac

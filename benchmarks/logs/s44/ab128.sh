#!/bin/bash
# m = 128, the one m of the shipped set not compared on one start this session: the release before
# (.dev/cand_exp.so, the thirty-eighth session's sm_90a code) and ship_exp.so in turn, two rounds,
# 7B / 3B / 70B sets. Carry both libraries. NEW_LIB: this release's library instead of ship_exp.so
# (e.g. marlin_quant/_lib/libmarlin_quant_kernels.so, as `pip install -e .` builds it).
. "$(dirname "$0")/../h100_s32/call_lib.sh" ab128
for r in 1 2; do
  for v in cand ship; do
    lib=.dev/${v}_exp.so; [ "$v" = ship ] && lib=${NEW_LIB:-.dev/ship_exp.so}
    timeout 40 env MARLIN_QUANT_LIB=$lib python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b,llama2-70b \
      --m 128 --per-layer > "$D/bench_${v}_$r.log" 2>&1
    echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log"; pack
  done
done

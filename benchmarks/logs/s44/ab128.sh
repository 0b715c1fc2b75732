#!/bin/bash
# m = 128, the one m of the shipped set not compared on one start this session: the release before
# (.dev/cand_exp.so, the thirty-eighth session's sm_90a code) and ship_exp.so in turn, two rounds,
# 7B / 3B / 70B sets. Carry both libraries.
. "$(dirname "$0")/../h100_s32/call_lib.sh" ab128
for r in 1 2; do
  for v in cand ship; do
    timeout 40 env MARLIN_QUANT_LIB=.dev/${v}_exp.so python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b,llama2-70b \
      --m 128 --per-layer > "$D/bench_${v}_$r.log" 2>&1
    echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log"; pack
  done
done

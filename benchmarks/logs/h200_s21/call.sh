#!/bin/bash
# One device call of the sixteenth session: runs next_calls.sh modes in order inside a time
# limit, all logs in one tarball (the device returns at most 8 files).
#   bash benchmarks/logs/h200_s21/call.sh SECONDS "mode args" ["mode args" ...]
cd "$(dirname "$0")/../../.."
limit=$1; shift
W=$(mktemp -d); REAL_OUT=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader > $W/gpu.txt 2>&1
for m in "$@"; do
  left=$(( limit - SECONDS ))
  (( left < 60 )) && { echo "== out of time: skipping $m"; continue; }
  echo "== next_calls.sh $m (${left}s left)"
  mkdir -p $W/${m// /_}
  OUT=$W/${m// /_} timeout $left bash benchmarks/logs/address_math/next_calls.sh $m 2>&1 | tee -a $W/console.log
done
for f in $W/*/final/bench.json; do  # checks/ or ship_V/: one benchmark each
  [ -f "$f" ] && cp "$f" "$REAL_OUT/bench_$(basename "$(dirname "$(dirname "$f")")").json"
done
tar czf $REAL_OUT/logs.tgz -C $W .

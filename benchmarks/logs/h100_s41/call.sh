#!/bin/bash
# The thirty-sixth session's device calls. Logs are packed into one tarball after every step.
#   call.sh pack   h100_s40/call.sh pack (packed partials of tokens 0-1 at m <= 2; carry
#                  .dev/pack_exp.so, .dev/pack_trace.so and marlin_quant/_lib).
#   call.sh ch16   (~7 min) 16 x 128 Hopper tiles at m = 9-16 (ch16/ch16.patch, experiment build
#                  .dev/ch16_exp.so: -DMQ_EXPERIMENT, sm_90a; carry it): smoke, then the planner
#                  against 16 x 128 with 8 and 14 stages per layer at m = 16 and 12, two rounds in one
#                  process (sweep_wgmma.py), then the GPU tests around m = 16 with 16 x 128 forced
#                  (groups of 128 only; other group sizes keep the plan) and a memcheck subset.
#                  Build (~1.5 min): in a HEAD worktree with the patch applied, `nvcc -O3 -std=c++17
#                  -shared -Xcompiler -fPIC -lineinfo -DMQ_EXPERIMENT -gencode arch=compute_90a,code=sm_90a
#                  csrc/marlin_kernel.cu -o .dev/ch16_exp.so` (head39_exp.so: the same without the patch).
#   call.sh both   (~9 min; carry the libraries of both) packq, then, if it left time, ch16's smoke,
#                  one sweep round at m = 16 and its forced GPU tests: for a session that gets few machines.
#   call.sh packq  (~5 min) pack's essentials for a call of little device time: smoke, same bits, one
#                  round of release / pack at m = 1 / 2 (70B m = 1), a shorter GPU test run and memcheck.
#   call.sh h200   h100_s39/call.sh h200 (the release's benchmark, then the skinny chunk sweep;
#                  carry .dev/head39_exp.so and marlin_quant/_lib).
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
pack) exec bash benchmarks/logs/h100_s40/call.sh pack ;;
h200) exec bash benchmarks/logs/h100_s39/call.sh h200 ;;
packq)
  smoke pack "--m 1 --k 11008 --n 4096" "--m 2 --k 8192 --n 3072"
  export SAME_BITS_M=1,2,8; same_bits pack
  ab 1 1,2 1 pack
  checks pack 80 "skinny_plan or (deterministic and (1- or 8-)) or (m_sweep and (1- or 2-)) or (summer_partial and (1- or 8-))" \
    "$SKINNY_MEMCHECK or (deterministic and 1-11008)"
  ;;
both)
  # Each step packs its own tarball (logs_packq.tgz, logs_ch16.tgz).
  bash "$0" packq
  [ $((SECONDS - start)) -lt 330 ] || exit 0
  QUICK=1 bash "$0" ch16
  ;;
ch16)
  smoke ch16 "--m 16 --k 4096 --n 4096" "--m 16 --k 11008 --n 4096" "--m 9 --k 8192 --n 3072"
  for f in 16,1,8,2 16,1,14,2; do
    timeout 40 env MQ_FORCE_WG=$f MARLIN_QUANT_LIB=.dev/ch16_exp.so python scripts/profile_kernel.py --m 16 --k 4096 --n 4096 \
      --iters 5 > "$D/smoke_$f.log" 2>&1 || { echo "== smoke failed: $f"; tail -5 "$D/smoke_$f.log"; pack; exit 1; }
  done
  echo "== smoke forced ($((SECONDS - start)) s)"
  cfgs=plan,16:1:8:2,16:1:14:2,plan,16:1:8:2,16:1:14:2; ms=16,12
  [ -n "$QUICK" ] && { cfgs=plan,16:1:8:2,16:1:14:2,plan; ms=16; }
  timeout $([ -n "$QUICK" ] && echo 150 || echo 300) env MARLIN_QUANT_LIB=.dev/ch16_exp.so python scripts/sweep_wgmma.py --m $ms \
    --configs $cfgs --sets llama2-7b,llama2-70b,llama3.2-3b \
    > "$D/sweep_ch16.log" 2>&1
  echo "== sweep rc=$? ($((SECONDS - start)) s)"; grep -A12 "^totals" "$D/sweep_ch16.log"; pack
  T="(m_sweep and (9- or 12- or 16-)) or (llama_shapes and [16-) or (summer_partial and 16-) or (hopper_summer and 16-) or deterministic"
  timeout $([ -n "$QUICK" ] && echo 60 || echo 120) env MQ_FORCE_WG=16,1,14,2 MARLIN_QUANT_LIB=.dev/ch16_exp.so python -m pytest -q -p no:cacheprovider \
    tests/test_kernel_gpu.py -k "$T" > "$D/gpu_tests_ch16.log" 2>&1
  echo "== GPU tests ch16 forced ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_ch16.log" | tail -2; pack
  [ -n "$QUICK" ] && exit 0
  timeout 60 env MQ_FORCE_WG=16,1,14,2 MARLIN_QUANT_LIB=.dev/ch16_exp.so compute-sanitizer --tool memcheck --print-limit 10 \
    python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py -k "(m_sweep and 16-128) or (deterministic and 12-8192)" \
    > "$D/memcheck_ch16.log" 2>&1
  echo "== memcheck ch16 ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_ch16.log" | tail -2
  ;;
*) echo "usage: call.sh pack | ch16 | both | packq | h200" >&2; exit 2 ;;
esac
pack

#!/bin/bash
# Device calls for the next session. Build first, on the CPU machine:
#   bash benchmarks/logs/address_math/build_variants.sh   (.dev/head_exp.so, ~5 MB, and the
#   shipped library in marlin_quant/_lib, 14 MB; the twenty-first session built both and recorded
#   from what in .dev/BUILT: `bash benchmarks/logs/h200_s23/manifest.sh --check` says whether they
#   still match csrc/, so that they need no rebuild; a rebuild records them again), then run modes through
# benchmarks/logs/h200_s21/call.sh (several modes in one call, one tarball back), carrying what
# they use. Each mode stops starting new work after 8 minutes. The plan (KERNEL_NOTES.md,
# twenty-seventh session: the release with both skinny planner rules passed gpu_checks.sh on the
# H100, benchmarks/logs/h100_s32/checks/; the summer's reads split over k-warps was rejected):
#   1. On an H200: `bash benchmarks/logs/h100_s32/call.sh either` (carry .dev/head_exp.so and
#      marlin_quant/_lib; ~2 min): the four-chunk rule's sweep there, owed since it shipped on
#      H100 evidence only. On an H100 the same mode re-times the two rows that flip between starts.
#   2. Two summer experiments, written in the twenty-seventh session, not yet run. Build (CPU
#      machine, ~2 min each):
#        bash benchmarks/logs/h100_s32/build_exp.sh grp benchmarks/logs/h100_s32/grp/summer_groups.patch
#        bash benchmarks/logs/h100_s32/build_exp.sh dct benchmarks/logs/h100_s32/dct/deferred_count.patch
#      then `bash benchmarks/logs/h100_s32/call.sh summers` (~5.5 min) and `call.sh summers_tests`
#      (~4 min), carrying .dev/grp_exp.so, .dev/dct_exp.so and marlin_quant/_lib. grp: the
#      summers' partials four ranges a round trip (skinny kernel, m <= 8; unpaired 16 x 256 Hopper
#      tile, m = 9-16), where the release runs count % N leftover ranges one trip each. dct: a
#      crossing range counts in at its end, not mid-range where the release waits for the next
#      batch's loads (the crossing ranges' 0.8-1.0 us lag). Both keep the same bits; the calls
#      check that, time them against the release, and run their tests and memcheck.
# Modes:
#   next_calls.sh checks          the shipped library's gpu_checks.sh, benchmark first (~6-7 min;
#                                 the previous release's passed in the twentieth session,
#                                 benchmarks/logs/h200_s24/, by `auto`). The
#                                 sixteenth ran the modes below (benchmarks/logs/h200_s21/); they
#                                 are kept for re-runs.
#   next_calls.sh ab ahead128     GPU tests of read-ahead on 128-token tiles, then A/B sweeps
#                                 against head, two rounds (~3 min)
#   next_calls.sh cutover         32-token Hopper tiles at m = 24, 32 against the tiled kernel
#   next_calls.sh splits          head with at most 1 or 2 split-k ranges per tile (m = 64, 128)
#   next_calls.sh ch1             64 x 128 Hopper tiles (.dev/ch1_exp.so from h200_s21/ch1.patch; rejected)
#   next_calls.sh wg16            16-token Hopper tiles at m = 9-16 (.dev/wg16_exp.so from
#                                 h200_s21/wg16.patch, which is in HEAD since the twenty-first
#                                 session: kept for its logs; wg16x is the mode for HEAD)
#   next_calls.sh wg16x           the release's 16-token rule against each 16-token tile, m = 16,
#                                 and ncu of 16 x 512 (.dev/head_exp.so)
#   next_calls.sh run             running copy pointers (HEAD) against the release before them
#                                 (.dev/base_exp.so): Hopper GPU tests, then m = 16/32/128 sweeps,
#                                 two rounds (~7 min)
#   next_calls.sh post            group scales after the MMA (.dev/post_exp.so): GPU tests, then
#                                 the m = 16 / 32 sweep against the planner (~6 min)
#   next_calls.sh skinny1         one skinny block per SM against two at m = 1 / 4 / 8 (for an H100;
#                                 run in the twenty-third session: two stay)
#   next_calls.sh post128         64 x 256 tiles with scales after the MMA against 128 x 256 at
#                                 m = 96 / 128 (head_exp.so)
#   next_calls.sh scales          the planner's plans at m = 8-64 with group scales and per
#                                 channel, two rounds (release library; ~3 min): the ceiling of
#                                 scaling after the MMA
#   next_calls.sh tb2 [tb2|tb2r]  two token groups on the skinny kernel at m = 9-16 (.dev/tb2_exp.so
#                                 and tb2r_exp.so from h200_s22/skinny_tb2.patch; not yet run)
#   next_calls.sh ship tb2|tb2r   gpu_checks.sh on a candidate release of two token groups
#                                 (.dev/ship_V.so from build_variants.sh; ~5 min): the run owed
#                                 since the sixteenth session and the new path's in one
#   next_calls.sh auto            when one call is all there is: both variants' sweeps, then
#                                 gpu_checks.sh on the winner's release (or the shipped library)
#   next_calls.sh la              the skinny kernel's split-k sum by the last share to arrive
#                                 (.dev/la_exp.so from h200_s23/last_arriver.patch): GPU tests,
#                                 its deferred sum forced (.dev/la_delay_exp.so), then against
#                                 head at m = 1 and 8, two rounds (~6 min)
#   next_calls.sh ncu [V]         ncu of V (tb2 or tb2r; tb2 if not given) at m = 16 and of the
#                                 32-token Hopper tiles at m = 32
#                                 (head_exp.so, rebuilt by build_variants.sh; ~3 min)
# `tests` and `sweeps` do the two halves of `ab` separately (`sweeps` reads the tests' logs from
# .dev/, so copy them there from files_at first). M (environment): the sweeps' token counts,
# 33,64,128,256 unless set. The fifteenth session ran the fourteenth's variants (OLD=1 in
# build_variants.sh; benchmarks/logs/h200_s20/, KERNEL_NOTES).
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
mode=$1; shift
VARIANTS="${*:-ahead128}"
START=$SECONDS
late() { (( SECONDS - START > 480 )) && echo "== out of time: skipping $1" && return 0; return 1; }
# Whether a pytest log ends in a pass with nothing failed.
passed() { case "$(tail -1 "$1" 2>/dev/null)" in *failed*|*rror*|"") return 1 ;; *passed*) return 0 ;; *) return 1 ;; esac; }
# Whether a pytest log shows a failure or an error (a run cut by its time limit shows neither).
failed() { grep -qE "^(FAILED|ERROR)|[0-9]+ (failed|errors?)\b" "$1"; }
# GPU tests of .dev/LIB.so: LIB NAME SECONDS -k-EXPRESSION, log $OUT/gpu_tests_NAME.log; true if all passed.
gpu_tests() {
  MARLIN_QUANT_LIB=.dev/$1.so timeout $3 python -m pytest -q -x -p no:cacheprovider tests/test_kernel_gpu.py -k "$4" \
    > $OUT/gpu_tests_$2.log 2>&1
  echo "== tests $2: $(tail -1 $OUT/gpu_tests_$2.log)"
  passed $OUT/gpu_tests_$2.log
}
# The candidate release's one Python change (ship_V.patch, ops.py): two token groups need twice
# the per-SM partials, which HEAD's per-stream scratch would hand to torch's allocator instead,
# an allocation each call that the benchmark would time. Patched in this copy only.
ship_ops() {
  sed -i 's/^_SCRATCH_PARTIALS_PER_SM = 2 \* 8 \* 512$/& * 2/' marlin_quant/ops.py
  grep -q '^_SCRATCH_PARTIALS_PER_SM = 2 \* 8 \* 512 \* 2$' marlin_quant/ops.py
}
# gpu_checks.sh (logs $OUT/final/) on candidate release V (.dev/ship_V.so, ops.py patched), or on
# the shipped library where V is empty: V SECONDS. BENCH_FIRST passes through.
release_checks() {
  local lib=
  if [ -n "$1" ]; then
    ship_ops || { echo "ops.py not patched"; return 1; }
    lib=.dev/ship_$1.so
  fi
  echo "== gpu_checks.sh on ${lib:-the shipped library}"
  MARLIN_QUANT_LIB=$lib OUT=$OUT/final timeout $2 bash scripts/gpu_checks.sh
}
# The m = 16 sweep of two-token-group variant V (tb2 or tb2r): the tiled kernel ("off") and the
# skinny kernel alternating, per layer, and four-chunk tiles everywhere (sk=16:2:4), outputs
# checked against fp16 before timing: V SECONDS, log $OUT/sweep_V.log.
tb2_sweep() {
  MARLIN_QUANT_LIB=.dev/$1_exp.so timeout $2 python scripts/sweep_wgmma.py --m ${M:-16} \
    --configs off,sk=16,sk=16:2:4,off,sk=16 --sets llama2-7b,llama2-70b > $OUT/sweep_$1.log 2>&1
}
# One ncu profile (--set full, one launch after warm-up) of kernels matching KREGEX in LIB at
# m, k, n, with env assignments ENV (space-separated, may be empty): NAME LIB KREGEX "ENV" M K N,
# log $OUT/ncu_NAME_mM_K_N.txt.
profile() {
  local f=$OUT/ncu_$1_m$5_$6_$7.txt
  env $4 MARLIN_QUANT_LIB=$2 timeout 120 ncu --set full --clock-control none -k regex:"$3" -s 3 -c 1 \
    python scripts/profile_kernel.py --m $5 --k $6 --n $7 --iters 5 > $f 2>&1
  echo "== ncu $1 $5 $6 $7: $(grep -E '^ +Duration|DRAM Throughput' $f | tr -s ' ' | tr '\n' ';')"
}
# Two rounds of the planner's own plans, each experiment library a separate process, alternating:
# M VARIANT..., logs $OUT/sweep_VARIANT_ROUND.log.
sweep_rounds() {
  local m=$1; shift
  for r in 1 2; do
    for v in "$@"; do
      late "sweep $v $r" && return
      MARLIN_QUANT_LIB=.dev/${v}_exp.so timeout ${SWEEP_S:-100} python scripts/sweep_wgmma.py --m $m --configs plan \
        --sets llama2-7b,llama2-70b > $OUT/sweep_${v}_$r.log 2>&1
      echo "== $v $r"; tail -8 $OUT/sweep_${v}_$r.log
    done
  done
}
case "$mode" in
  checks)
    # The benchmark first, so that a call cut short still brings it back.
    BENCH_FIRST=1 release_checks "" 540
    ;;
  ship)
    # gpu_checks.sh (GPU tests, memcheck, racecheck, benchmark) on a candidate release of two token
    # groups for m = 9-16 (h200_s23/ship_V.patch; .dev/ship_V.so from build_variants.sh, its
    # kernels instruction for instruction .dev/V_exp.so's). The tests are the committed ones: the
    # patch changes only CPU planner tests, and the GPU file already sweeps m = 1-16.
    release_checks ${1:?ship needs tb2 or tb2r} 420
    ;;
  tests|ab)
    for v in $VARIANTS; do
      late "tests $v" && break
      gpu_tests ${v}_exp $v 130 "hopper or m_sweep or llama or deterministic or graph or two_streams or back_to_back"
    done
    [ "$mode" = tests ] && exit 0
    ;&
  sweeps)
    logs=.dev
    [ "$mode" = ab ] && logs=$OUT
    timed="head"
    for v in $VARIANTS; do  # a variant is timed only if all its tests passed
      [ "$v" = head ] && continue
      passed $logs/gpu_tests_$v.log && timed="$timed $v"
    done
    echo "timing: $timed"
    sweep_rounds ${M:-33,64,128,256} $timed
    ;;
  copysel)
    # h100_s30/copy_select.patch (.dev/copysel_exp.so): 16 x 512 and 32 x 512 tiles select their
    # weight-copy base once a stage (B's base with no stride for columns past n) instead of two
    # SELs a copy; stage loops 742 -> 720 (16 x 512), 599 -> 586 (with scales after the MMA),
    # 750 -> 735 (32 x 512) instructions, every other kernel's SASS unchanged. Tests on those tiles
    # (ragged n included: 4096x16448 has columns past n in its last tile), memcheck on the ragged
    # copies, then m = 16 / 32 against head, two rounds.
    gpu_tests copysel_exp copysel 150 "sixteen_token or every_hopper_tile or m_sweep or llama or small_and_odd or deterministic" || exit 1
    MARLIN_QUANT_LIB=.dev/copysel_exp.so timeout 90 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q \
      -p no:cacheprovider tests/test_kernel_gpu.py -k "every_hopper_tile or (sixteen_token and (4096-16448 or 28672-8192-16-128))" \
      > $OUT/memcheck_copysel.log 2>&1
    echo "== memcheck copysel: $(grep -E 'ERROR SUMMARY' $OUT/memcheck_copysel.log | tail -1); $(tail -1 $OUT/memcheck_copysel.log)"
    SWEEP_S=60 sweep_rounds ${M:-16,32} head copysel
    ;;
  la)
    # The skinny kernel's split-k sum by the last share to arrive (h200_s23/last_arriver.patch,
    # .dev/la_exp.so) against HEAD at m = 1 and 8 (M): its GPU tests first (a variant is timed
    # only if they all pass), then the two libraries alternating, two rounds, each a separate
    # process (sweep_wgmma.py --configs plan: the planner's own plans).
    gpu_tests la_exp la 200 "m_sweep or small_and_odd or llama or deterministic or graph or two_streams or back_to_back" || exit 1
    # The deferred sum (a range's mid-range share arriving last), which timing almost never
    # gives: .dev/la_delay_exp.so (-DMQ_SKINNY_DELAY_MID) holds such shares back 200 us.
    gpu_tests la_delay_exp la_delay 120 "llama or deterministic or m_sweep" || exit 1
    sweep_rounds ${M:-1,8} head la
    ;;
  cutover)
    # 32-token tiles (shipped since the sixteenth session, m = 17-32) against the tiled kernel
    # ("off") and 64-token tiles at m = 17-32, per layer; the Hopper path cannot be forced below
    # m = 17. The sixteenth session's run of this, from the wg32 patch: h200_s21/c3/cutover/.
    MARLIN_QUANT_LIB=.dev/head_exp.so timeout 300 python scripts/sweep_wgmma.py --m ${M:-24,32} \
      --configs off,plan,32:4:4:2,32:2:8:2,64:4:4:2 --sets llama2-7b,llama2-70b > $OUT/sweep_cutover.log 2>&1
    tail -12 $OUT/sweep_cutover.log
    ;;
  wg16)
    # 16-token Hopper tiles (h200_s21/wg16.patch, .dev/wg16_exp.so) at m = 9-16: the sweep first
    # (it checks every output against fp16 before timing it), m = 16 against the tiled
    # kernel ("off") and 32-token tiles, per layer; then the GPU tests with each tile forced on
    # every m >= 9, as long as time is left.
    MQ_WG_MIN_M=9 MARLIN_QUANT_LIB=.dev/wg16_exp.so timeout 200 python scripts/sweep_wgmma.py --m ${M:-16} \
      --configs off,16:4:4:2,16:2:8:2,32:2:8:2,off --sets llama2-7b,llama2-70b > $OUT/sweep_wg16.log 2>&1
    tail -30 $OUT/sweep_wg16.log
    for cfg in 16,4,4,2 16,2,8,2; do
      late "tests wg16 $cfg" && break
      MQ_WG_MIN_M=9 MQ_FORCE_WG=$cfg gpu_tests wg16_exp wg16_${cfg//,/_} 120 "m_sweep or small_and_odd or llama or deterministic"
    done
    ;;
  wg16x)
    # 16-token Hopper tiles (shipped in the twenty-first session at m = 9-16 on layers of 2^26
    # weights or more) against the tiled kernel, per layer: the planner's pick, 16 x 512 with 4 and
    # 5 stages and 16 x 256 everywhere (head_exp.so), at m = 16 (M); then ncu of the 16 x 512 tile
    # where it loses (4096x4096) and where it wins most (8192x57344). On an H100 this is also the
    # first check of the size rule there.
    # (No MQ_WG_MIN_M: "plan" is the release's rule, and head_exp.so applies forced tiles from m = 9.)
    MARLIN_QUANT_LIB=.dev/head_exp.so timeout 200 python scripts/sweep_wgmma.py --m ${M:-16} \
      --configs off,plan,16:4:4:2,16:4:5:2,16:2:8:2,off --sets llama2-7b,llama2-70b > $OUT/sweep_wg16x.log 2>&1
    tail -14 $OUT/sweep_wg16x.log
    for spec in "16 4096 4096" "16 8192 57344"; do
      set -- $spec
      late "ncu $spec" && break
      profile wg16 .dev/head_exp.so wgmma MQ_FORCE_WG=16,4,4,2 $1 $2 $3
    done
    ;;
  run)
    # Running copy pointers on the Hopper path (HEAD since the twenty-second session; base_exp.so:
    # the release before it, copied from head_exp.so before the rebuild): the Hopper tests on
    # head_exp.so (every tile forced in turn, pairs, the planner's tiles), then the planner's
    # plans, base and head alternating, each a separate process, two rounds, at m = 16 / 32 / 128
    # (16 x 512, 32 x 512 and 32 x 256, 128 x 256: the tiles whose stage got shorter).
    gpu_tests head_exp head 150 "hopper or sixteen or m_sweep or llama or deterministic or graph" || exit 1
    SWEEP_S=130 sweep_rounds ${M:-16,32,128} base head
    ;;
  post)
    # Group scales after the MMA in fp32 (h100_s27/post_scales.patch, .dev/post_exp.so;
    # MQ_WG_POST=1 takes it at group size 128 on 32 x 256, 16 x 256 and 16 x 512 tiles): GPU tests
    # with the planner's tiles (pairs, the 16-token tests, Llama shapes), then with 32 x 256 and
    # 16 x 256 forced from m = 9 (other group sizes run the release kernels there), then the sweep
    # at m = 16 / 32, outputs checked against fp16 first. Static: 16 x 512 stage 742 -> 599
    # instructions, 32 x 256 479 -> 416, one full wgmma wait a stage (after the first stripe's
    # dequantization).
    # A run cut by its limit with nothing failed goes on to the sweep (which checks every output).
    MQ_WG_POST=1 gpu_tests post_exp post_plan 110 "hopper_pairs or hopper_path or sixteen or llama or m_sweep"
    failed $OUT/gpu_tests_post_plan.log && exit 1
    for t in 32,2,8,2 16,2,8,2; do
      late "tests post $t" && break
      MQ_WG_POST=1 MQ_FORCE_WG=$t gpu_tests post_exp post_${t//,/_} 90 "m_sweep or small_and_odd or llama or deterministic"
      failed $OUT/gpu_tests_post_${t//,/_}.log && exit 1
    done
    MARLIN_QUANT_LIB=.dev/post_exp.so timeout 200 python scripts/sweep_wgmma.py --m ${M:-16,32} \
      --configs plan,plan+post,32:2:8:2,32:2:8:2+post,16:4:4:2+post,16:2:8:2+post,plan --sets llama2-7b,llama2-70b > $OUT/sweep_post.log 2>&1
    tail -6 $OUT/sweep_post.log
    ;;
  post128)
    # 64 x 256 tiles with group scales after the MMA (the release's m = 33-64 tile at groups of
    # 128; forced, the planner keeps post on it) against the planner's 128 x 256 at m = 65-128,
    # where the 128-token tiles have no registers for the stage set. Two rounds in one process.
    MARLIN_QUANT_LIB=.dev/head_exp.so timeout 300 python scripts/sweep_wgmma.py --m ${M:-96,128} \
      --configs plan,64:2:6:2,plan,64:2:6:2 --sets llama2-7b,llama2-70b > $OUT/sweep_post128.log 2>&1
    tail -6 $OUT/sweep_post128.log
    ;;
  skinny1)
    # One skinny block per SM against the planner's two, m = 1-8 (head_exp.so): two were chosen on
    # the H200 (HBM3e needs 64 KB in flight per SM); on the H100, before the Hopper path, one
    # block beside the next launch's won on the 7B set, whose m <= 8 is 3.0-3.2x of 3.5x there.
    # For an H100; two rounds in one process, each config timed twice per layer.
    MARLIN_QUANT_LIB=.dev/head_exp.so timeout 200 python scripts/sweep_wgmma.py --m ${M:-1,4,8} \
      --configs plan,sk=8:1,plan,sk=8:1 --sets llama2-7b,llama2-70b > $OUT/sweep_skinny1.log 2>&1
    tail -8 $OUT/sweep_skinny1.log
    ;;
  scales)
    # What group scales cost each kernel: the planner's own plans with scales per group of 128
    # and per channel (-1: no scale words, no HMUL2, one scale a feature applied after the MMA),
    # the release library, each a separate process, alternating, two rounds, at m = 8 / 16 / 32 /
    # 64. Per channel also streams 3% fewer bytes; a gap much wider than that is the price of the
    # in-loop scaling, and the ceiling of moving group scales after the MMA (KERNEL_NOTES,
    # twenty-first session).
    for r in 1 2; do
      for gs in 128 -1; do
        late "scales $gs $r" && break 2
        timeout 100 python scripts/sweep_wgmma.py --m ${M:-8,16,32,64} --configs plan --groupsize $gs \
          --sets llama2-7b,llama2-70b > $OUT/sweep_gs${gs}_$r.log 2>&1
        echo "== groupsize $gs, round $r"; tail -8 $OUT/sweep_gs${gs}_$r.log
      done
    done
    ;;
  auto)
    # One call for a session whose device time allows one (the twentieth: starts refused for an
    # hour): both variants' sweeps (outputs checked against fp16), decide.py --sweeps-only on
    # them, then gpu_checks.sh on the winner's candidate release (tests, memcheck, racecheck,
    # benchmark: also the run owed on the shipped library since the sixteenth session, which the
    # release contains), or on the shipped library if neither wins.
    for v in tb2 tb2r; do
      tb2_sweep $v 90
      echo "== sweep $v"; tail -4 $OUT/sweep_$v.log
    done
    python benchmarks/logs/h200_s23/decide.py --sweeps-only $OUT > $OUT/decide.txt 2>&1
    cat $OUT/decide.txt
    v=$(tail -1 $OUT/decide.txt | sed -n 's/^winner: \(tb2r\?\)$/\1/p')
    BENCH_FIRST=1 release_checks "$v" 600
    ;;
  tb2)
    # Two token groups on the skinny kernel for m = 9-16 (h200_s22/skinny_tb2.patch; variant
    # tb2: running sums in shared memory, .dev/tb2_exp.so; tb2r: in registers in units of the
    # group's scale, .dev/tb2r_exp.so; MQ_FORCE_SKINNY=16 takes them): the sweep first
    # (tb2_sweep, at m = 16: m = 9-16 run the same kernels of both paths; four chunks because
    # the n = 4096 layers' two-chunk kernels spill), then the GPU tests with the skinny path
    # forced up to m = 16.
    v=${1:-tb2}
    tb2_sweep $v 150
    tail -30 $OUT/sweep_$v.log
    late "tests $v" && exit 0
    MQ_FORCE_SKINNY=16 gpu_tests ${v}_exp $v 150 "m_sweep or small_and_odd or llama or deterministic or graph or two_streams or back_to_back"
    ;;
  ncu)
    # Profiles (ncu --set full, one launch after warm-up): two token groups at m = 16 (tb2) on the
    # shapes the ninth session profiled on the tiled kernel (benchmarks/logs/ncu_m16/: 26.2
    # instructions a 16 x 16 weight tile, 2.58 TB/s on 8192x57344) and on the two 4096-column
    # layers where the twentieth session's sweep had them lose to the tiled kernel by 15-33%, and
    # the 32-token Hopper tiles at m = 32, never profiled. One text file each.
    v=${1:-tb2}
    for spec in "$v 16 4096 4096" "$v 16 11008 4096" "$v 16 8192 57344" "head 32 8192 57344" "head 32 4096 12288"; do
      set -- $spec
      late "ncu $spec" && break
      profile $1 .dev/${1}_exp.so "skinny|wgmma" "$([ $1 != head ] && echo MQ_FORCE_SKINNY=16)" $2 $3 $4
    done
    ;;
  ch1)
    # 64 x 128 Hopper tiles (ch1.patch, benchmarks/logs/h200_s21/): correctness with the tile forced
    # on every m >= 33, then m = 33-128 against the planner's tiles, per layer.
    MQ_FORCE_WG=64,1,8,2 gpu_tests ch1_exp ch1 150 "m_sweep or small_and_odd or llama or deterministic or graph" || exit 1
    MARLIN_QUANT_LIB=.dev/ch1_exp.so timeout 200 python scripts/sweep_wgmma.py --m ${M:-33,64,128} \
      --configs plan,64:1:8:2,64:1:6:2,64:2:6:2,plan --sets llama2-7b,llama2-70b > $OUT/sweep_ch1.log 2>&1
    tail -30 $OUT/sweep_ch1.log
    ;;
  splits)
    # Fewer ranges per tile (no partials with /s1) against the planner's stream-K, where the
    # fixup is as large as the multiply (narrow layers at m = 64-128).
    MARLIN_QUANT_LIB=.dev/head_exp.so timeout 400 python scripts/sweep_wgmma.py --m 64,128 \
      --configs plan,plan/s1,plan/s2,64:2:6:2/s1,plan,plan/s1,plan/s2,64:2:6:2/s1 --sets llama2-7b,llama2-70b > $OUT/sweep_splits.log 2>&1
    tail -6 $OUT/sweep_splits.log
    ;;
  *) echo "usage: next_calls.sh checks | auto | ship V | ab|tests|sweeps [variant...] | cutover | wg16 | wg16x | run | post | scales | skinny1 | tb2 | ncu | ch1 | splits" >&2; exit 2 ;;
esac

# Helpers of the device-call scripts h100_s32/call.sh onwards, sourced by them
# (`. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"`): the working folder, log packing, a smoke
# run, the same-bits check, the A/B timing and a variant's GPU tests with their memcheck.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."  # the repository root (callers live two folders down)
D=/tmp/x
rm -rf "$D"; mkdir -p "$D"
pack() { tar czf "$OUT/logs_$MODE.tgz" -C /tmp x; }
MODE=$1
start=$SECONDS
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit,memory.total --format=csv > "$D/gpu_$1.txt" 2>&1
lib_of() { [ "$1" = rel ] || echo ".dev/$1_exp.so"; }  # a variant's library (rel: the release)
# Prints library V's plan for each product and ends the call if V fails or hangs on one (a
# deadlock in a new handshake would eat the call): V "PROFILE_KERNEL_ARGS" ... (rel: the installed
# library).
smoke() {
  local v=$1 shape; shift
  for shape in "$@"; do
    timeout 40 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/profile_kernel.py $shape --iters 5 > "$D/smoke.log" 2>&1 \
      || { echo "== smoke failed: $v $shape"; tail -5 "$D/smoke.log"; pack; exit 1; }
    grep -h -m1 LaunchPlan "$D/smoke.log"
  done
  echo "== smoke $v ($((SECONDS - start)) s)"
}
# Whether each variant V gives the release's bits on same_bits.py's shapes (its m values from
# SAME_BITS_M, default 1,3,8): V..., log $D/bits.log.
same_bits() {
  python benchmarks/logs/h100_s32/same_bits.py dump /tmp/bits_rel.pt > "$D/bits.log" 2>&1
  for v in "$@"; do
    MARLIN_QUANT_LIB=$(lib_of $v) python benchmarks/logs/h100_s32/same_bits.py dump /tmp/bits_$v.pt >> "$D/bits.log" 2>&1
    python benchmarks/logs/h100_s32/same_bits.py compare /tmp/bits_rel.pt /tmp/bits_$v.pt >> "$D/bits.log" 2>&1
    echo "== bits $v rc=$? ($((SECONDS - start)) s)"; tail -1 "$D/bits.log"
  done
  pack
}
# The release and variants V... in turn, one process each, per layer: ROUNDS M M70 V..., the 7B
# and Llama-3.2-3B sets at m = M and (unless M70 is empty) the 70B set at m = M70; logs
# $D/bench_V_ROUND.log, $D/bench70_V_ROUND.log.
ab() {
  local rounds=$1 m=$2 m70=$3 r v; shift 3
  for r in $(seq "$rounds"); do
    for v in rel "$@"; do
      timeout 70 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/bench_kernel.py --sets llama2-7b,llama3.2-3b --m "$m" \
        --per-layer > "$D/bench_${v}_$r.log" 2>&1
      [ -n "$m70" ] && timeout 50 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/bench_kernel.py --sets llama2-70b \
        --m "$m70" --per-layer > "$D/bench70_${v}_$r.log" 2>&1
      echo "== bench $v $r ($((SECONDS - start)) s)"; grep -h "^llama" "$D/bench_${v}_$r.log" "$D/bench70_${v}_$r.log" 2>/dev/null; pack
    done
  done
}
# Whether the new library's (logs $D/bench*_new_ROUND.log against bench*_rel_*; s49 and s50 call.sh) 7B and 70B sets at m = 16 are no slower than the release's in every
# ROUND... given.
no_slower() {
  local r set ok=1
  us() { grep -h "^$1 *16 " "$D"/bench*_"$2"_"$3".log | awk '{print $4}'; }
  for r in "$@"; do
    for set in llama2-7b llama2-70b; do
      awk -v a="$(us $set new $r)" -v b="$(us $set rel $r)" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= b + 0) }' || ok=0
    done
  done
  echo "== new no slower at m = 16: $ok"
  [ $ok = 1 ]
}
# A variant's GPU tests and its memcheck subset: V SECONDS TESTS-K MEMCHECK-K.
# `env` arguments that point the kernel at library LIB (pip: the `pip install -e .` one, no override).
lib_env() { [ "$1" = pip ] || echo "MARLIN_QUANT_LIB=$1"; }
# The GPU test file (or PYTEST-ARGS) on library LIB: NAME LIB SECONDS [PYTEST-ARGS...], log
# $D/gpu_tests_NAME.log (s46 and s47 call.sh).
gpu_tests() {
  local name=$1 lib=$2 secs=$3; shift 3
  [ $# -gt 0 ] || set -- tests/test_kernel_gpu.py
  timeout "$secs" env $(lib_env "$lib") python -m pytest -q -p no:cacheprovider "$@" > "$D/gpu_tests_$name.log" 2>&1
  echo "== GPU tests $name ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_$name.log" | grep -E "FAILED|passed|failed" | tail -5; pack
}
# memcheck of the GPU tests pytest -k SELECTION picks, on library LIB: NAME LIB SECONDS SELECTION,
# log $D/memcheck_NAME.log.
memcheck_tests() {
  timeout "$3" env $(lib_env "$2") compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q \
    -p no:cacheprovider tests/test_kernel_gpu.py -k "$4" > "$D/memcheck_$1.log" 2>&1
  echo "== memcheck $1 ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_$1.log" | tail -2; pack
}
# racecheck of the GPU tests pytest -k SELECTION picks, on library LIB: NAME LIB SECONDS SELECTION,
# log $D/racecheck_NAME.log.
racecheck_tests() {
  timeout "$3" env $(lib_env "$2") compute-sanitizer --tool racecheck --print-limit 10 python -m pytest -q \
    -p no:cacheprovider tests/test_kernel_gpu.py -k "$4" > "$D/racecheck_$1.log" 2>&1
  echo "== racecheck $1 ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$D/racecheck_$1.log" | tail -3; pack
}
# Library LIB's benchmark JSONs: the Llama-2 sets ($D/bench.json), then Llama-3-8B / Qwen2-7B
# ($D/bench-llama3-qwen2.json): LIB.
benches() {
  timeout 130 env $(lib_env "$1") python scripts/bench_kernel.py --json "$D/bench.json" > "$D/bench_llama2.log" 2>&1
  echo "== bench llama2 rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_llama2.log"; pack
  timeout 120 env $(lib_env "$1") python scripts/bench_kernel.py --sets llama3-8b,qwen2-7b \
    --json "$D/bench-llama3-qwen2.json" > "$D/bench_sets.log" 2>&1
  echo "== bench sets rc=$? ($((SECONDS - start)) s)"; cat "$D/bench_sets.log"; pack
}
# Configurations timed in one process (scripts/sweep_wgmma.py) on library LIB: NAME LIB SECONDS MS
# SETS CONFIGS, log $D/sweep_NAME.log.
sweep() {
  timeout "$3" env $(lib_env "$2") python scripts/sweep_wgmma.py --m "$4" --sets "$5" --configs "$6" > "$D/sweep_$1.log" 2>&1
  echo "== sweep $1 rc=$? ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_$1.log"; pack
}
# Variants V... in turn, one process each, ROUNDS rounds, the plan only (scripts/sweep_wgmma.py)
# at m = MS on SETS: ROUNDS MS SETS V..., logs $D/sweep_V_ROUND.log (s46 and s47 call.sh).
ab_sweep() {
  local rounds=$1 ms=$2 sets=$3 r v; shift 3
  for r in $(seq "$rounds"); do
    for v in "$@"; do
      timeout 75 env MARLIN_QUANT_LIB=$(lib_of $v) python scripts/sweep_wgmma.py --m "$ms" --sets "$sets" \
        --configs plan > "$D/sweep_${v}_$r.log" 2>&1
      echo "== sweep $v $r ($((SECONDS - start)) s)"; sed -n '/^totals/,$p' "$D/sweep_${v}_$r.log"; pack
    done
  done
}
checks() {
  timeout "$2" env MARLIN_QUANT_LIB=$(lib_of $1) python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "$3" > "$D/gpu_tests_$1.log" 2>&1
  echo "== GPU tests $1 ($((SECONDS - start)) s)"; grep -v DEBUG "$D/gpu_tests_$1.log" | tail -2; pack
  timeout 60 env MARLIN_QUANT_LIB=$(lib_of $1) compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q \
    -p no:cacheprovider tests/test_kernel_gpu.py -k "$4" > "$D/memcheck_$1.log" 2>&1
  echo "== memcheck $1 ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck_$1.log" | tail -2; pack
}
SKINNY_TESTS="skinny_plan or deterministic or (llama_shapes and (1- or 8-)) or (m_sweep and (1- or 3- or 8-)) or graph or back_to_back"
SUMMER_TESTS="skinny_plan or deterministic or sixteen_token or (llama_shapes and (1- or 8- or 16-)) or (m_sweep and (1- or 3- or 8- or 12- or 16-)) or graph or back_to_back"
SKINNY_MEMCHECK="skinny_plan and (5-11008-4096-128 or 8-3072-3072-32 or 1-4096-4096-64)"
SUMMER_MEMCHECK="($SKINNY_MEMCHECK) or (sixteen_token and (11008-4096-16-128 or 4096-4160-9-128)) or (deterministic and 1-11008)"
# One ncu profile of every kernel of one product (the main kernel; a summer is part of it) on the
# library MARLIN_QUANT_LIB names, or the installed one: M K N, logs $D/ncu_mM_K_N.txt (details),
# .run.txt (the plan) and .csv.gz (source page, SASS) (h100_s34, h200_s42 and s48 call.sh).
ncu_one() {
  local f=$D/ncu_m$1_$2_$3
  timeout 150 ncu --set full --import-source no --clock-control none -k regex:"gemm_kernel" -s 3 -c 1 -o "$f" \
    python scripts/profile_kernel.py --m $1 --k $2 --n $3 --iters 5 > "$f.run.txt" 2>&1
  ncu --import "$f.ncu-rep" > "$f.txt" 2>&1
  ncu --import "$f.ncu-rep" --page source --csv --print-source sass 2>/dev/null | gzip > "$f.csv.gz"
  rm -f "$f.ncu-rep"
  echo "== ncu m=$1 $2x$3 ($((SECONDS - start)) s): $(grep -E '^ +Duration|DRAM Throughput|Registers Per|Grid Size' "$f.txt" | tr -s ' ' | tr '\n' ';')"
  grep -m1 LaunchPlan "$f.run.txt"
  pack
}
# Library LIB (an -DMQ_EXPERIMENT build) on each tile of TILES forced (MQ_FORCE_WG) and each
# profile_kernel.py SHAPE; returns 1 at the first failure or hang: NAME LIB "TILES" SHAPE... (s50 and s51 call.sh)
forced_smoke() {
  local name=$1 lib=$2 tiles=$3 tile shape; shift 3
  for tile in $tiles; do
    for shape in "$@"; do
      timeout 40 env MQ_FORCE_WG=$tile MARLIN_QUANT_LIB=$lib python scripts/profile_kernel.py $shape --iters 5 \
        > "$D/smoke_$name.log" 2>&1 || { echo "== $name smoke failed: $tile $shape"; tail -5 "$D/smoke_$name.log"; pack; return 1; }
    done
  done
  echo "== $name smoke ($((SECONDS - start)) s)"
}
# The release before (REL_LIB) and the `pip install -e .` library in turn, one process each, per
# layer, for each group size G: TAG REL_LIB ROUND MS SETS G..., logs
# $D/benchTAG_{rel,pip}_gG_ROUND.log; starts no run once STOP seconds have passed (where STOP is
# set) (s51 and s52 call.sh).
ab_groups() {
  local tag=$1 rel=$2 r=$3 ms=$4 sets=$5 g v lib; shift 5
  for g in "$@"; do
    for v in rel pip; do
      [ -z "$STOP" ] || [ $((SECONDS - start)) -lt "$STOP" ] || return 0
      lib=$([ $v = rel ] && echo "MARLIN_QUANT_LIB=$rel")
      timeout 80 env $lib python scripts/bench_kernel.py --sets "$sets" --m "$ms" --groupsize $g --per-layer \
        > "$D/bench${tag}_${v}_g${g}_$r.log" 2>&1
      echo "== bench m=$ms g=$g $v $r ($((SECONDS - start)) s)"; grep -hE "^(llama|qwen)" "$D/bench${tag}_${v}_g${g}_$r.log"; pack
    done
  done
}
# memcheck of four non-POST 32 x 128 cases (groups of 64 / 32, per channel, a summer reading 14-15
# partials) and racecheck of two, on the installed library: logs $D/memcheck32.log,
# $D/racecheck32.log (s51 and s52 call.sh owed).
sanitize32() {
  timeout 150 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "(narrow_deep and (4096-4096-17-64 or 11008-4096-32--1 or 3072-5120-24-32)) or (hopper_summer_partial and 32-5632-1024--1)" \
    > "$D/memcheck32.log" 2>&1
  echo "== memcheck rc=$? ($((SECONDS - start)) s)"; grep -E "ERROR SUMMARY|passed|failed" "$D/memcheck32.log" | tail -2
  timeout 100 compute-sanitizer --tool racecheck --print-limit 10 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
    -k "narrow_deep and (4096-4096-32-64 or 11008-4096-17--1)" > "$D/racecheck32.log" 2>&1
  echo "== racecheck rc=$? ($((SECONDS - start)) s)"; grep -E "RACECHECK SUMMARY|passed|failed" "$D/racecheck32.log" | tail -3
  pack
}

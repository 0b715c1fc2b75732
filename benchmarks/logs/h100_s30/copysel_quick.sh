#!/bin/bash
# The copy-select variant in the twenty-fifth session's last device seconds (~270 s left): the
# sweeps first (they decide), then the tests and memcheck on its tiles, all straight into $OUT.
# carry .dev/head_exp.so, .dev/copysel_exp.so, marlin_quant/_lib.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
for r in 1 2; do
  for v in head copysel; do
    MARLIN_QUANT_LIB=.dev/${v}_exp.so timeout 30 python scripts/sweep_wgmma.py --m 16,32 --configs plan \
      --sets llama2-70b >> $OUT/sweeps.log 2>&1
    echo "== $v $r: $(grep -E '^llama2-70b +m=' $OUT/sweeps.log | tail -2 | tr -s ' ' | tr '\n' ';')"
  done
done
MARLIN_QUANT_LIB=.dev/copysel_exp.so timeout 60 python -m pytest -q -p no:cacheprovider tests/test_kernel_gpu.py \
  -k "sixteen_token or every_hopper_tile or (llama and 16-)" 2>&1 | grep -v DEBUG > $OUT/gpu_tests.log
echo "== tests: $(tail -1 $OUT/gpu_tests.log)"; grep -E "^(FAILED|ERROR)" $OUT/gpu_tests.log | head -3
MARLIN_QUANT_LIB=.dev/copysel_exp.so timeout 50 compute-sanitizer --tool memcheck --print-limit 10 python -m pytest -q \
  -p no:cacheprovider tests/test_kernel_gpu.py -k "every_hopper_tile or (sixteen_token and (4096-16448 or 28672-8192-16-128))" \
  > $OUT/memcheck.log 2>&1
echo "== memcheck: $(grep -E 'ERROR SUMMARY' $OUT/memcheck.log | tail -1); $(tail -1 $OUT/memcheck.log)"

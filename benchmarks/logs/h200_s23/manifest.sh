#!/bin/bash
# What the prebuilt device libraries were built from, so that a later session can carry them
# without rebuilding (~10 min on this machine) when nothing they depend on changed.
#   manifest.sh          write .dev/BUILT (address_math/build_variants.sh runs it at its end)
#   manifest.sh --check  exit 1, naming what changed, if csrc/ or a patch differs from .dev/BUILT
#                        or a library is missing or not the one recorded
set -euo pipefail
cd "$(dirname "$0")/../../.."
inputs() {
  echo "csrc $(git rev-parse HEAD:csrc) $(git diff --quiet HEAD -- csrc && echo clean || echo DIRTY)"
  for p in benchmarks/logs/address_math/ahead_128.patch benchmarks/logs/h200_s21/wg16.patch \
           benchmarks/logs/h200_s22/skinny_tb2.patch benchmarks/logs/h200_s23/ship_tb2.patch \
           benchmarks/logs/h200_s23/ship_tb2r.patch benchmarks/logs/h200_s23/last_arriver.patch; do
    echo "patch $(sha256sum "$p" | cut -c1-16) $p"
  done
}
libs() {
  for f in .dev/{head,ahead128,wg16,tb2,tb2r,la,la_delay}_exp.so .dev/ship_{tb2,tb2r}.so marlin_quant/_lib/libmarlin_quant_kernels.so; do
    if [ -f "$f" ]; then echo "lib $(sha256sum "$f" | cut -c1-16) $f"; else echo "lib MISSING $f"; fi
  done
}
if [ "${1:-}" = --check ]; then
  [ -f .dev/BUILT ] || { echo "no .dev/BUILT: build everything"; exit 1; }
  if diff <(grep -v '^#' .dev/BUILT) <(inputs; libs); then
    echo "prebuilt libraries match csrc/ and the patches"
  else
    echo "stale (lines above: < recorded, > now): rebuild with address_math/build_variants.sh"
    exit 1
  fi
else
  { echo "# $(date -u +%FT%TZ), HEAD $(git rev-parse --short HEAD)"; inputs; libs; } > .dev/BUILT
  grep -q MISSING .dev/BUILT && { echo "some libraries are missing:"; grep MISSING .dev/BUILT; exit 1; }
  cat .dev/BUILT
fi

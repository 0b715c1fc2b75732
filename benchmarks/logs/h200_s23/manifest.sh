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
  # The patched variants address_math/build_variants.sh builds.
  for p in benchmarks/logs/h100_s27/post_scales.patch; do
    echo "patch $(sha256sum "$p" | cut -c1-16) $p"
  done
}
libs() {
  for f in .dev/head_exp.so .dev/post_exp.so marlin_quant/_lib/libmarlin_quant_kernels.so; do
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

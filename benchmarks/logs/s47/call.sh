#!/bin/bash
# The forty-second session's device calls (all ran, on an H100). Libraries (benchmarks/logs/s44/build.sh,
# sm_90a): .dev/head46x_exp.so = HEAD a8c8f05 built with -DMQ_EXPERIMENT (the kernels and plans of
# the release at b37c682); wp47x_exp.so / wp47_exp.so = eaba50f plus whole_pairs.patch (the pairs
# rule of b95dd69, whose comment was reworded after these were built) with and without
# -DMQ_EXPERIMENT. The same session ran s46/call.sh rest and pairs128 (logs in rest/, pairs128/).
# pair_ranges.py (no GPU) prints the pair ranges a tile holds per benchmark layer and m.
#   call.sh pairs  (~2 min; carry .dev/head46x_exp.so) the plan against plan@single (MQ_FORCE_PAIR=0)
#                  in one process, two rounds, at m = 33 / 48 / 64 / 129 / 192 / 256 on five sets:
#                  where pairs of blocks beat single ones beyond s46/call.sh pairs128's m = 65-128.
#   call.sh rule   (~7 min; carry .dev/head46x_exp.so, .dev/wp47x_exp.so, .dev/wp47_exp.so) the
#                  release and the whole-ranges pairs rule (whole_pairs.patch; wp47x with
#                  -DMQ_EXPERIMENT) in turn, one process each, two rounds, the plan at m = 33-128 on
#                  five sets; then wp47_exp.so's whole GPU test file and a memcheck of its new plans.
#   call.sh bench  (~4.5 min; carry .dev/wp47_exp.so) its benchmark JSONs, as s46/call.sh rest.
#   call.sh forcepair (~1.5 min; carry .dev/fp47x_exp.so = b95dd69 + force_pair.patch, -DMQ_EXPERIMENT)
#                  the plan against plan@pair (MQ_FORCE_PAIR=2: pairs on every 256- and 512-column
#                  tile) in one process, two rounds, at m = 12 / 16 / 24 / 32 on five sets.
#   call.sh final  (~4 min; carry marlin_quant/_lib as `pip install -e .` builds it) the whole GPU
#                  test file on the shipping library.
#   call.sh shipbench (~2 min; carry marlin_quant/_lib likewise) its benchmark JSONs.
. "$(dirname "$0")/../h100_s32/call_lib.sh" "$@"
case "$1" in
pairs)
  sweep pairs .dev/head46x_exp.so 240 33,48,64,129,192,256 llama2-7b,llama3-8b,qwen2-7b,llama3.2-3b,llama2-70b plan,plan@single,plan,plan@single
  ;;
rule)
  smoke wp47 "--m 96 --k 3072 --n 5120" "--m 64 --k 8192 --n 10240"
  ab_sweep 2 33,48,64,65,96,128 llama2-7b,llama3-8b,qwen2-7b,llama3.2-3b,llama2-70b head46x wp47x
  gpu_tests wp47_full .dev/wp47_exp.so 300
  memcheck_tests wp47 .dev/wp47_exp.so 90 "hopper_pairs_left_single and (128 or 64-)"
  ;;
bench)
  benches .dev/wp47_exp.so
  ;;
forcepair)
  sweep forcepair .dev/fp47x_exp.so 200 12,16,24,32 llama2-7b,llama2-70b,llama3-8b,qwen2-7b,llama3.2-3b \
    plan,plan@pair,plan,plan@pair
  ;;
final)
  # The library `pip install -e .` builds from the session's last commit (carry marlin_quant/_lib):
  # the whole GPU test file.
  gpu_tests final pip 300
  ;;
shipbench)
  # That library's benchmark JSONs (what benchmarks/h100*.json hold).
  benches pip
  ;;
*) echo "usage: call.sh pairs | rule | bench | forcepair | final | shipbench" >&2; exit 2 ;;
esac

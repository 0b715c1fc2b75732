#!/bin/bash
# Builds .dev/grp_exp.so (csrc at HEAD with summer_groups.patch, sm_90a); see ../build_exp.sh.
exec bash "$(dirname "$0")/../build_exp.sh" grp benchmarks/logs/h100_s32/grp/summer_groups.patch

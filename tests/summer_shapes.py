"""Layers whose split-k summers read every count of partials, on a GPU of 132 SMs.

The summer of a shared tile adds the partials of the other ranges that hold part of it, four
ranges a round trip with the last round predicated (csrc/marlin_kernel.cu, the skinny kernel's
finish_tile). ``SUMMER_PARTIALS[(k, n)]`` is how many partials the tiles' summers read under the
Hopper decode plan (m <= 8) on 132 SMs (H100, H200): every count from 1 to 16, so every
remainder of the last round, and rounds of one to four. HOPPER_SUMMER_PARTIALS (below) does the
same for the Hopper path's 16-, 32- and 64-token tiles. test_ops_cpu checks that the planner still
gives these counts; test_kernel_gpu runs the shapes against the reference.
"""

SUMMER_PARTIALS: dict[tuple[int, int], tuple[int, ...]] = {
    (512, 768): (1,),
    (768, 768): (2,),
    (1024, 1024): (3,),
    (1280, 768): (4,),
    (2048, 5120): (5,),
    (1792, 1024): (6,),
    (2048, 1024): (7,),
    (2304, 768): (8,),
    (6144, 3072): (9, 10),
    (3072, 1024): (11,),
    (3328, 768): (12,),
    (5120, 2048): (13,),
    (9216, 2048): (14, 15),
    (4352, 768): (16,),
}

# Layers whose skinny tiles (m <= 8, 132 SMs) are shared by more ranges than a warp has lanes, so
# a summer polls its ranges' flags (one per range) in several passes of 32:
# ``MANY_RANGE_SUMMERS[(k, n)]`` is (tile columns, the partials the busiest summer reads). Two-chunk
# tiles (128 columns) with 31 and 63, four-chunk (256) with 59; eight-chunk tiles are only planned
# where a tile holds a few ranges.
MANY_RANGE_SUMMERS: dict[tuple[int, int], tuple[int, int]] = {
    (8192, 256): (128, 31),
    (16384, 256): (128, 63),
    (45056, 1024): (256, 59),
}

# Layers whose Hopper-path summers (groups of 128, 132 SMs and 66 clusters of two, as on the H100
# and H200) read 1 to 10 partials on the pairs of 64 x 256 tiles at m = 64, 1 to 7, 10, 11, 14 and
# 15 on the single 32 x 128 tiles at m = 32, and 3 to 9, 13, 17 and 21 on the 16 x 128 tiles at
# m = 16, two blocks an SM (every layer here has under 2^25 weights and n < 8192):
# ``HOPPER_SUMMER_PARTIALS[(k, n)][m]`` is (paired, the partial counts of the tiles' summers).
# A summer reads one partial from each later range that holds part of its tile (half a tile's
# in a pair). 16 x 128 and 32 x 128 tiles never pair, and every group size takes them here. (The
# pairs of 32 x 256 tiles that m = 32 ran here before no longer occur on these layers;
# test_kernel_gpu's test_hopper_pairs runs 32-token pairs on 6656x7936, over 3 x 2^24
# weights.) 3072x6912 and 3584x4864 hold 2.4 and 2.8 pair ranges a tile at m = 64, not whole
# ones, so they run single 64 x 256 tiles there (the planner's pairs rule at m = 33-128).
HOPPER_SUMMER_PARTIALS: dict[tuple[int, int], dict[int, tuple[bool, tuple[int, ...]]]] = {
    (512, 256): {16: (False, (3,)), 32: (False, (3,)), 64: (True, (1,))},
    (1536, 3072): {16: (False, (5,)), 32: (False, (3,)), 64: (True, (2,))},
    (1024, 256): {16: (False, (7,)), 32: (False, (7,)), 64: (True, (3,))},
    (3584, 2560): {16: (False, (9,)), 32: (False, (5, 6)), 64: (True, (4, 5))},
    (5120, 1792): {16: (False, (13,)), 32: (False, (7,)), 64: (True, (6, 7))},
    (6656, 1536): {16: (False, (17,)), 32: (False, (10, 11)), 64: (True, (8, 9))},
    (5632, 1024): {16: (False, (21,)), 32: (False, (14, 15)), 64: (True, (10,))},
    (512, 6912): {16: (False, (3,)), 32: (False, (1,)), 64: (True, (1,))},
    (3072, 6912): {16: (False, (4, 5)), 32: (False, (2, 3)), 64: (False, (4, 5))},
    (3584, 4864): {16: (False, (5, 6)), 32: (False, (3,)), 64: (False, (5, 6))},
    (1024, 3840): {16: (False, (7,)), 32: (False, (3,)), 64: (True, (3,))},
    (5632, 3840): {16: (False, (8, 9)), 32: (False, (4, 5)), 64: (True, (4, 5))},
}

# Layers of up to 2^26 weights whose 16 x 128 tiles' summers (groups of 128, 132 SMs, two blocks
# an SM) read the counts HOPPER_SUMMER_PARTIALS leaves out at m = 16: with it, every count from 1
# to 17. ``SIXTEEN_NARROW_SUMMER_PARTIALS[(k, n)]`` is the partial counts of the tiles' summers.
SIXTEEN_NARROW_SUMMER_PARTIALS: dict[tuple[int, int], tuple[int, ...]] = {
    (640, 13568): (1, 2),
    (4096, 2176): (10, 11),
    (4864, 1792): (12, 13),
    (5632, 1664): (14, 15),
    (6016, 1536): (15, 16),
}

# Layers of 2^26 to 2^27 weights, whose Hopper-path summers (groups of 128, 132 SMs) read 1 to 15
# partials on single 16 x 256 tiles at m = 16 (the tile of 2^26-2^27 weights; the smaller layers
# above take 16 x 128): ``SIXTEEN_WIDE_SUMMER_PARTIALS[(k, n)]`` is the partial counts of the
# tiles' summers. Every remainder of the summer's four-range rounds, and rounds of one to four.
SIXTEEN_WIDE_SUMMER_PARTIALS: dict[tuple[int, int], tuple[int, ...]] = {
    (3200, 20992): (1, 2),
    (6912, 9728): (3, 4),
    (11008, 6144): (5, 6),
    (15488, 4352): (7, 8),
    (20224, 3328): (9, 10),
    (23936, 2816): (11, 12),
    (27008, 2560): (13, 14),
    (29312, 2304): (14, 15),
}

"""Layers whose two-chunk skinny tiles are shared by 2 to 17 blocks, on a GPU of 132 SMs.

The summer of a shared tile adds the partials of the other ranges that hold part of it, four
ranges a round trip with the last round predicated (csrc/marlin_kernel.cu, the skinny kernel's
finish_tile). ``SUMMER_PARTIALS[(k, n)]`` is how many partials the tiles' summers read under the
Hopper decode plan (m <= 8) on 132 SMs (H100, H200): every count from 1 to 16, so every
remainder of the last round, and rounds of one to four. test_ops_cpu checks that the planner still
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

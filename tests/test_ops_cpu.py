"""The op on CPU: the reference path, input validation, MarlinLinear, fake tensors."""

import pytest
import torch

from marlin_quant import MarlinLinear, ops, packing
from summer_shapes import (HOPPER_SUMMER_PARTIALS, MANY_RANGE_SUMMERS, SIXTEEN_NARROW_SUMMER_PARTIALS,
                           SIXTEEN_WIDE_SUMMER_PARTIALS, SUMMER_PARTIALS)


def make_layer(k, n, groupsize, gen):
    w = torch.randn(k, n, generator=gen) * 0.05
    codes, scales = packing.quantize_rtn(w, groupsize)
    B, s = packing.pack(codes, scales, groupsize)
    return codes, scales, B, s


@pytest.mark.parametrize("groupsize", [32, 64, 128, -1])
def test_reference_matches_dense(groupsize, gen):
    k, n, m = 256, 192, 5
    codes, scales, B, s = make_layer(k, n, groupsize, gen)
    A = torch.randn(m, k, generator=gen).half()
    C = ops.gemm(A, B, s, groupsize)
    W = packing.dequantize(codes, scales, groupsize)
    expected = (A.double() @ W.double()).half()
    assert C.dtype == torch.float16 and C.shape == (m, n)
    torch.testing.assert_close(C, expected, atol=1e-3, rtol=1e-3)


def test_op_is_registered():
    assert hasattr(torch.ops.marlin_quant, "gemm")


def test_fake_tensor_shape():
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        A = torch.empty(7, 128, dtype=torch.float16)
        B = torch.empty(8, 512, dtype=torch.int32)
        s = torch.empty(1, 256, dtype=torch.float16)
        C = torch.ops.marlin_quant.gemm(A, B, s, -1, None)
    assert C.shape == (7, 256) and C.dtype == torch.float16


def test_torch_compile_fullgraph_cpu(gen):
    layer = MarlinLinear.from_linear(torch.nn.Linear(128, 64, bias=True), *packing.quantize_rtn(torch.randn(128, 64, generator=gen), 64), 64)
    x = torch.randn(3, 128, generator=gen).half()
    eager = layer(x)
    compiled = torch.compile(layer, fullgraph=True, backend="eager")(x)
    torch.testing.assert_close(eager, compiled)


def bad(**over):
    A = torch.zeros(4, 128, dtype=torch.float16)
    B = torch.zeros(8, 128, dtype=torch.int32)
    s = torch.zeros(2, 64, dtype=torch.float16)
    args = dict(A=A, B=B, s=s, groupsize=64)
    args.update(over)
    return args


@pytest.mark.parametrize(
    "over,match",
    [
        (dict(A=torch.zeros(4, 128)), "float16"),
        (dict(A=torch.zeros(0, 128, dtype=torch.float16)), "m = 0"),
        (dict(A=torch.zeros(4, 64, dtype=torch.float16)), "k/16"),
        (dict(A=torch.zeros(128, 4, dtype=torch.float16).t()), "contiguous|k/16"),
        (dict(B=torch.zeros(8, 128, dtype=torch.int64)), "int32"),
        (dict(s=torch.zeros(3, 64, dtype=torch.float16)), "expected"),
        (dict(s=torch.zeros(2, 64)), "float16"),
        (dict(groupsize=100), "group size"),
        (dict(B=torch.zeros(8, 100, dtype=torch.int32), s=torch.zeros(2, 50, dtype=torch.float16)), "multiples of 64"),
        (dict(A=torch.zeros(4, 2, 128, dtype=torch.float16)), "2-D"),
    ],
)
def test_bad_input_messages(over, match):
    with pytest.raises(ValueError, match=match):
        ops.gemm(**bad(**over))


def test_non_contiguous_A():
    A = torch.zeros(4, 256, dtype=torch.float16)[:, ::2]
    with pytest.raises(ValueError, match="contiguous"):
        ops.gemm(A, torch.zeros(8, 128, dtype=torch.int32), torch.zeros(2, 64, dtype=torch.float16), 64)


def test_workspace_checks():
    args = bad()
    with pytest.raises(ValueError, match="int32"):
        ops.gemm(**args, workspace=torch.zeros(16, dtype=torch.float32))


def test_marlin_linear_inputs_it_must_convert(gen):
    """1-D, fp32 and non-contiguous inputs, and a bias that became a parameter, all reach the
    product the same way a plain 2-D fp16 input does."""
    lin = torch.nn.Linear(256, 128, bias=True)
    codes, scales = packing.quantize_rtn(lin.weight.detach().t().contiguous(), 128)
    layer = MarlinLinear.from_linear(lin, codes, scales, 128)
    W = layer.dequantized_weight()
    bias = lin.bias.detach().half().float()
    x = torch.randn(256, 6, generator=gen).t()  # (6, 256), not contiguous, fp32
    y = layer(x)
    assert y.dtype == torch.float32 and y.shape == (6, 128)
    torch.testing.assert_close(y, x.half().float() @ W.t() + bias, atol=2e-2, rtol=1e-2)
    v = layer(x[0])
    assert v.shape == (128,)
    torch.testing.assert_close(v, y[0])
    layer.bias = torch.nn.Parameter(torch.ones(128, dtype=torch.float16), requires_grad=False)
    with torch.no_grad():
        torch.testing.assert_close(layer(x.half()), (x.half().float() @ W.t() + 1).half(), atol=2e-2, rtol=1e-2)


def test_marlin_linear_shapes_and_bias(gen):
    lin = torch.nn.Linear(256, 128, bias=True)
    w_kn = lin.weight.detach().t().contiguous()
    codes, scales = packing.quantize_rtn(w_kn, 128)
    layer = MarlinLinear.from_linear(lin, codes, scales, 128)
    x = torch.randn(2, 3, 256, generator=gen)
    y = layer(x)
    assert y.shape == (2, 3, 128) and y.dtype == x.dtype
    W = layer.dequantized_weight()
    expected = x.half().float() @ W.t() + lin.bias.detach().half().float()
    torch.testing.assert_close(y, expected, atol=2e-2, rtol=1e-2)
    assert layer(torch.zeros(0, 256)).shape == (0, 128)
    with pytest.raises(ValueError, match="features"):
        layer(torch.zeros(2, 255))


def test_plan_covers_every_shape(kernel_library, monkeypatch):
    """The kernel library's planner (pure host code: runs without a GPU)."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    for sms, optin, per_sm in ((132, 232448, 233472), (108, 166912, 167936), (84, 101376, 102400)):
        for m in (1, 3, 4, 5, 8, 9, 16, 17, 32, 48, 64, 65, 1000, 16384):
            for n, k in ((4096, 4096), (192, 576), (57344, 8192), (64, 64), (4096, 11008)):
                plan = ops.plan_launch(m, n, k, sms, optin, per_sm, groupsize=-1)
                assert plan.smem <= optin and plan.smem + 1024 <= per_sm
                assert plan.tickets <= ops.WORKSPACE_SIZE
                if m <= 8:
                    # Decoding sizes stream the weights: one token group of 8, every tile ticketed,
                    # two blocks per SM (64 KB of weight bytes in flight per SM).
                    assert plan.kernel == "skinny" and plan.m_blocks == 1
                    assert plan.tile_columns in (128, 256, 512)
                    tiles = -(-n // plan.tile_columns)
                    # One flag per range (its partial stored), which its tile's summer polls.
                    assert plan.tickets == plan.blocks <= 2 * sms and plan.partial_floats > 0
                    # Activation stages for the block (k-warps x 8 stripes x 256 B, two) and every
                    # warp's scale stages (g32's four rows, two).
                    k_warps = 8 // (plan.tile_columns // 64)
                    assert plan.smem == 2 * k_warps * 8 * 256 + 8 * 2 * 4 * 128
                    assert 2 * (plan.smem + 1024) <= per_sm
                    if tiles * (k // 16) >= 32 * sms:
                        # Large enough that the ranges are set by the SM count, not the minimum.
                        assert plan.blocks > sms, (m, n, k, sms, plan)
                    continue
                assert plan.kernel == "tiled" and plan.tile_columns in (128, 256, 512)
                assert plan.m_blocks == min(4, -(-m // 16))
                assert plan.stages >= 3 and plan.stripes in (4, 8, 16)
                tiles = -(-m // (16 * plan.m_blocks)) * -(-n // plan.tile_columns)
                if plan.m_blocks == 2:
                    # m = 17-32: at most 256-column tiles, 3 stages when 256 (measured faster).
                    assert plan.tile_columns <= 256
                    if plan.tile_columns == 256 and sms == 132:
                        assert plan.stages == 3
                widest = 256 if plan.m_blocks == 2 else 512
                if plan.tile_columns < widest and sms == 132:
                    # Narrow tiles only where wider ones would leave too few tiles per SM (on
                    # H100 every width fits; smaller GPUs may skip one that does not).
                    assert 5 * -(-m // (16 * plan.m_blocks)) * -(-n // (2 * plan.tile_columns)) < sms
                if plan.tickets:
                    assert plan.tickets == tiles and plan.blocks <= 2 * sms and plan.partial_floats > 0
                else:
                    assert plan.blocks == tiles and plan.partial_floats == 0
    with pytest.raises(ValueError, match="multiples of 64"):
        ops.plan_launch(1, 100, 64, 132, 232448, 233472)
    # Without the feature flag the Hopper path is never planned (Ampere, Ada, or an sm_90 build
    # without sm_90a code).
    assert ops.plan_launch(256, 4096, 4096, 132, 232448, 233472).kernel == "tiled"
    # Stream-K ranges are 32-bit (the split-k fixup divides by them): a shared-tile product with
    # 2^31 or more k-iterations is refused, not overflowed.
    with pytest.raises(ValueError, match="too large"):
        ops.plan_launch(16, 131072, 2**31 - 64, 132, 232448, 233472, groupsize=64)


def test_skinny_tile_widths_on_llama_layers(kernel_library, monkeypatch):
    """Decode-sized plans take four-chunk (256-column) tiles unless they would be shared by fewer
    than 2 or more than 10 of the 2 x 132 blocks (measured per layer on the H200,
    benchmarks/logs/skinny_cw/), and by more than 10 only where each block's range would be
    shorter than three batches (H100, benchmarks/logs/h100_s31/: 11008x4096 four, 8192x3072
    two)."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    expected = {  # (k, n): tile columns
        (4096, 12288): 256, (4096, 4096): 128, (4096, 22016): 256, (11008, 4096): 256,
        (8192, 10240): 256, (8192, 8192): 256, (8192, 57344): 512, (28672, 8192): 256,
        (3072, 3072): 128, (8192, 3072): 128, (4096, 6144): 128, (14336, 4096): 256,
    }
    for (k, n), columns in expected.items():
        for m in (1, 8):
            plan = ops.plan_launch(m, n, k, 132, 232448, 233472)
            assert plan.kernel == "skinny" and plan.tile_columns == columns, (k, n, m, plan)


def test_skinny_one_block_per_sm_where_two_would_stream_one_batch(kernel_library, monkeypatch):
    """On Hopper, a layer that two blocks per SM would stream in a single batch each (32 KB of
    weights a block: the whole of 4096x4096) runs one block per SM, so that the next launch's
    block can start beside it, where the one-per-SM ranges are whole batches (not 3072x3072);
    every other layer keeps two per SM. Elsewhere (no programmatic dependent launch) two per SM
    everywhere."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    sms = 132

    def batch_stripes(plan):  # stripes of one tile a block's batch holds: 8 a warp, 8 / chunks k-warps
        return plan.stripes * 8 // (plan.tile_columns // 64)

    for m in (1, 4, 8):
        # (k, n): whether two per SM would give each block one batch or less
        for (k, n), single in {(4096, 4096): True, (3072, 5120): True, (2048, 8192): True,
                               (4096, 12288): False, (11008, 4096): False, (8192, 8192): False,
                               (8192, 3072): False, (8192, 57344): False}.items():
            hopper = ops.plan_launch(m, n, k, sms, 232448, 233472, ops.FEATURE_WGMMA)
            other = ops.plan_launch(m, n, k, sms, 232448, 233472)
            assert hopper.kernel == other.kernel == "skinny"
            tiles = -(-n // other.tile_columns)
            assert (tiles * (k // 16) <= other.blocks * batch_stripes(other)) == single, (k, n, other)
            assert other.blocks > sms
            if single:
                assert hopper.blocks <= sms, (k, n, hopper)
            else:
                assert hopper == other, (k, n, hopper)
    # 4096x4096: 16 tiles of four chunks at one block per SM (half the blocks, two batches each),
    # a flag per range.
    plan = ops.plan_launch(1, 4096, 4096, sms, 232448, 233472, ops.FEATURE_WGMMA)
    assert (plan.tile_columns, plan.tickets, plan.blocks) == (256, 128, 128)
    # 3072x3072: two per SM would stream 24 stripes a block (under one 32-stripe batch), one per
    # SM 40 (a batch and a quarter): it keeps two per SM.
    plan = ops.plan_launch(1, 3072, 3072, sms, 232448, 233472, ops.FEATURE_WGMMA)
    assert plan == ops.plan_launch(1, 3072, 3072, sms, 232448, 233472) and plan.blocks == 192


def summer_reads(tiles: int, per_tile: int, upb: int) -> set[int]:
    """How many partials the tiles' summers read, for stream-K ranges of upb steps over tiles of
    per_tile steps each: a tile's summer is the range holding its first step, and it reads one
    partial from each later range holding part of the tile (0: the tile is not split)."""
    return {(t * per_tile + per_tile - 1) // upb - t * per_tile // upb for t in range(tiles)}


def skinny_range_stripes(total: int, blocks: int) -> int:
    """A skinny plan's range length in stripes, from its blocks (the planner's rule): a multiple of
    8, at least 16, the fewest ranges."""
    return -(-max(16, -(-total // blocks)) // 8) * 8


def test_two_chunk_summers_read_every_count_of_partials(kernel_library, monkeypatch):
    """tests/summer_shapes.py's layers still plan as two-chunk skinny tiles on 132 SMs whose
    summers read the listed numbers of partials (so the GPU test over them reaches every
    remainder of the summer's four-range rounds). A tile's summer is the range that holds its
    first stripe; it reads one partial from each later range that holds part of the tile."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    seen = set()
    for (k, n), counts in SUMMER_PARTIALS.items():
        for m in (1, 8):
            plan = ops.plan_launch(m, n, k, 132, 232448, 233472, ops.FEATURE_WGMMA)
            assert plan.kernel == "skinny" and plan.tile_columns == 128, (k, n, m, plan)
            stripes, tiles = k // 16, n // 128
            total = tiles * stripes
            upb = skinny_range_stripes(total, plan.blocks)
            assert -(-total // upb) == plan.blocks, (k, n, plan)
            reads = summer_reads(tiles, stripes, upb)
            assert tuple(sorted(reads - {0})) == counts, (k, n, m, sorted(reads))
            seen |= reads
    assert set(range(1, 17)) <= seen


def test_skinny_summers_poll_more_flags_than_a_warp_has_lanes(kernel_library, monkeypatch):
    """tests/summer_shapes.py's MANY_RANGE_SUMMERS still plan as skinny tiles of the listed width
    on 132 SMs whose busiest summer reads the listed number of partials, over 32 on two of them:
    its warp polls the ranges' flags in more than one pass (the GPU test runs them)."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    busiest = []
    for (k, n), (columns, partials) in MANY_RANGE_SUMMERS.items():
        for m in (1, 8):
            plan = ops.plan_launch(m, n, k, 132, 232448, 233472, ops.FEATURE_WGMMA)
            assert plan.kernel == "skinny" and plan.tile_columns == columns, (k, n, m, plan)
            stripes, tiles = k // 16, n // columns
            total = tiles * stripes
            upb = skinny_range_stripes(total, plan.blocks)
            assert -(-total // upb) == plan.blocks and plan.tickets == plan.blocks, (k, n, plan)
            assert max(summer_reads(tiles, stripes, upb)) == partials, (k, n, m)
        busiest.append(partials)
    assert max(busiest) > 32 and {128, 256} == {c for c, _ in MANY_RANGE_SUMMERS.values()}


def test_skinny_plans_never_need_more_flags_than_a_workspace_holds(kernel_library, monkeypatch):
    """A skinny plan takes a flag a range, so on a GPU with enough SMs its ranges could outnumber
    a ticket workspace: the planner then leaves the skinny kernel for one that fits, and at the
    bound itself keeps it."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    at_bound = ops.plan_launch(1, 4096, 1 << 20, 40000, 232448, 233472, ops.FEATURE_WGMMA)
    assert at_bound.kernel == "skinny" and at_bound.tickets == at_bound.blocks == ops.WORKSPACE_SIZE
    past = ops.plan_launch(1, 4096, 1 << 20, 100000, 232448, 233472, ops.FEATURE_WGMMA)
    assert past.kernel != "skinny" and past.tickets <= ops.WORKSPACE_SIZE


def test_hopper_plans_never_need_more_flags_than_a_workspace_holds(kernel_library, monkeypatch):
    """A split Hopper plan takes a flag a block, so on a GPU with enough SMs its ranges could
    outnumber a ticket workspace: the planner then caps them at the workspace (a row of flags for
    each block of a pair), single blocks and pairs alike."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    for clusters in ((), (0, 0, 50000) + H200_CLUSTERS[3:]):
        plan = ops.plan_launch(64, 4096, 1 << 21, 100000, 232448, 233472, ops.FEATURE_WGMMA, clusters, 128)
        assert plan.kernel == "wgmma" and plan.cluster == (2 if clusters else 0), plan
        assert plan.tickets == plan.blocks == ops.WORKSPACE_SIZE, plan


def test_hopper_summers_read_every_count_of_partials(kernel_library, monkeypatch):
    """tests/summer_shapes.py's Hopper layers still plan as wgmma tiles on 132 SMs with 66
    clusters of two (256 columns at m = 64, 128 at m = 16 and 32), paired or single as listed,
    whose summers read the listed numbers of partials: 1 to 10 for the pairs of 64-token tiles,
    1 to 7, 10, 11, 14 and 15 for the 32 x 128 tiles and, with SIXTEEN_NARROW_SUMMER_PARTIALS,
    1 to 17 for the 16 x 128 tiles, which never pair. A range is upb 128-k stages (even in a pair)
    over as many ranges as there are slots (SMs, clusters of two, or two blocks an SM for the
    16 x 128 tile). At m = 16 and 32 the other group sizes plan the same 16 x 128 and 32 x 128
    tiles and ranges, with their scales in the loop, so their summers read the same counts."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    seen: dict[tuple[int, bool], set[int]] = {}
    narrow = {(k, n): {16: (False, counts)} for (k, n), counts in SIXTEEN_NARROW_SUMMER_PARTIALS.items()}
    for (k, n), by_m in [*HOPPER_SUMMER_PARTIALS.items(), *narrow.items()]:
        for m, (paired, counts) in by_m.items():
            plan = ops.plan_launch(m, n, k, 132, 232448, 233472, ops.FEATURE_WGMMA, H200_CLUSTERS, 128)
            columns = 128 if m <= 32 else 256
            assert plan.kernel == "wgmma" and plan.tile_columns == columns and 16 * plan.m_blocks == m, (k, n, m, plan)
            assert (plan.cluster == 2) == paired, (k, n, m, plan)
            tiles, k_iters = -(-n // columns), k // (16 * plan.stripes)
            total = tiles * k_iters
            slots = min(H200_CLUSTERS[2], 132 // 2) if paired else 2 * 132 if m <= 16 else 132
            upb = -(-total // min(slots, total))
            upb += upb & 1 if paired else 0
            assert -(-total // upb) * (2 if paired else 1) == plan.blocks, (k, n, m, plan)
            reads = summer_reads(tiles, k_iters, upb)
            assert tuple(sorted(reads - {0})) == counts, (k, n, m, sorted(reads))
            seen.setdefault((m, paired), set()).update(reads)
            for groupsize in (32, 64, -1) if m <= 32 else ():
                other = ops.plan_launch(m, n, k, 132, 232448, 233472, ops.FEATURE_WGMMA, H200_CLUSTERS, groupsize)
                assert (other.kernel, other.tile_columns, other.stages, other.blocks, other.tickets, other.scales_after_mma) == (
                    "wgmma", 128, plan.stages, plan.blocks, plan.tickets, False), (k, n, groupsize, other)
    assert set(range(1, 11)) <= seen[(64, True)]
    assert (16, True) not in seen and (32, True) not in seen
    assert set(range(1, 8)) | {10, 11, 14, 15} <= seen[(32, False)]
    assert set(range(1, 18)) <= seen[(16, False)]


def test_sixteen_wide_summers_read_every_count_of_partials(kernel_library, monkeypatch):
    """tests/summer_shapes.py's layers of 2^26-2^27 weights still plan as single 16 x 256 tiles at
    m = 16 (groups of 128, 132 SMs), whose summers read the listed numbers of partials: every
    count from 1 to 15."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    seen: set[int] = set()
    for (k, n), counts in SIXTEEN_WIDE_SUMMER_PARTIALS.items():
        assert 2**26 < k * n < 2**27, (k, n)
        plan = ops.plan_launch(16, n, k, 132, 232448, 233472, ops.FEATURE_WGMMA, H200_CLUSTERS, 128)
        assert (plan.kernel, plan.m_blocks, plan.tile_columns, plan.cluster) == ("wgmma", 1, 256, 0), (k, n, plan)
        tiles, k_iters = -(-n // 256), k // (16 * plan.stripes)
        total = tiles * k_iters
        upb = -(-total // min(132, total))
        assert -(-total // upb) == plan.blocks, (k, n, plan)
        reads = summer_reads(tiles, k_iters, upb)
        assert tuple(sorted(reads - {0})) == counts, (k, n, sorted(reads))
        seen |= reads
    assert set(range(1, 16)) <= seen


@pytest.mark.parametrize("groupsize", [128, 64, 32, -1])
def test_plan_hopper_path(kernel_library, monkeypatch, groupsize):
    """With the wgmma feature (sm_90 + sm_90a code), m >= 17 takes the Hopper kernel: 128 x 256
    tiles above m = 64, 64 x 512 at m = 33-64, 32 x 512 up to 32, and 64 x 256 (32 x 256) where
    the wide tiles would leave SMs idle; 128-k stages where k allows, else 64-k (at m = 17-32,
    which has 128-k stages only, the tiled kernel). At m = 9-16, where k is a multiple of 128:
    16-token tiles on every layer, 16 x 128 up to 2^26 weights, from there 16 x 256 below 2^27
    with groups of 128 and 16 x 512 otherwise. Groups of 128 apply their scales after the MMA on the
    16 x 128, 16 x 256, 16 x 512, 32 x 128, 32 x 256 and 64 x 256 tiles, and take 32 x 256 at
    m = 17-32 and 64 x 256 at m = 33-64. Every group size takes 32 x 128 at m = 17-32 where
    n < 8192 below 3 x 2^24 weights, and 64 x 256 at m = 129-256 below 2^25 weights where k is a
    multiple of 128; per channel and groups of 128 up to m = 448 there (groups of 64 / 32 up to
    m = 320), and at m = 129-192 below 3 x 2^25 weights."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    sms, optin, per_sm = 132, 232448, 233472
    for m in (1, 3, 4, 5, 9, 12, 16, 17, 32, 33, 64, 65, 128, 129, 192, 193, 256, 257, 300, 320, 321, 448, 449, 16384):
        for n, k in ((4096, 4096), (192, 576), (57344, 8192), (64, 64), (4096, 11008), (12288, 4096), (8192, 28672),
                     (22016, 4096), (8192, 8192), (8192, 8064), (8064, 8192), (16384, 4160), (10240, 8192),
                     (4096, 14336), (3584, 18944), (4096, 4032)):
            if groupsize != -1 and k % groupsize:
                with pytest.raises(ValueError, match="group"):
                    ops.plan_launch(m, n, k, sms, optin, per_sm, ops.FEATURE_WGMMA, groupsize=groupsize)
                continue
            plan = ops.plan_launch(m, n, k, sms, optin, per_sm, ops.FEATURE_WGMMA, groupsize=groupsize)
            if m <= 8:
                assert plan.kernel == "skinny" and not plan.scales_after_mma
                continue
            post = groupsize == 128
            if m <= 32 and k % 128:
                assert plan.kernel == "tiled" and not plan.scales_after_mma, (m, n, k, plan)
                continue
            assert plan.kernel == "wgmma", (m, n, k, plan)
            assert plan.smem <= optin and plan.smem + 1024 <= per_sm
            assert plan.stripes == (8 if k % 128 == 0 else 4)
            ntok = plan.m_blocks * 16
            if m <= 16:
                columns = 128 if n * k <= 2**26 else 256 if post and n * k < 2**27 else 512
                assert (ntok, plan.tile_columns, plan.scales_after_mma) == (16, columns, post), (m, n, k, plan)
                continue
            after = post and k % 128 == 0 and (ntok, plan.tile_columns) in ((32, 128), (32, 256), (64, 256))
            assert plan.scales_after_mma == after, (m, n, k, plan)
            if m <= 32 and n < 8192 and n * k < 3 * 2**24:
                assert (ntok, plan.tile_columns) == (32, 128), (m, n, k, plan)  # every group size
                continue
            if post and k % 128 == 0 and 16 < m <= 64:
                assert (ntok, plan.tile_columns) == (32 if m <= 32 else 64, 256), (m, n, k, plan)  # every other layer
                continue
            post_or_channel = groupsize in (-1, 128)
            max_m64 = ((448 if post_or_channel else 320) if n * k < 2**25
                       else 192 if post_or_channel and n * k < 3 * 2**25 else 0)
            if k % 128 == 0 and 128 < m <= max_m64:
                assert (ntok, plan.tile_columns, plan.scales_after_mma) == (64, 256, post), (m, n, k, plan)
                continue
            wide = (128, 256) if m > 64 else (64, 512) if m > 32 else (32, 512)
            # The wide tile unless it leaves SMs idle: fewer tiles than a fifth of the SMs (128
            # tokens) or half of them (32 and 64), and under 32 stages of 64 k per SM.
            wide_tiles = -(-m // wide[0]) * -(-n // wide[1])
            share = 5 if wide[0] == 128 else 2
            too_few = share * wide_tiles < sms and wide_tiles * (k // 64) < 32 * sms
            if too_few:
                assert (ntok, plan.tile_columns) == (min(wide[0], 64), 256), (m, n, k, plan)
            else:
                assert (ntok, plan.tile_columns) == wide, (m, n, k, plan)
            tiles = -(-m // ntok) * -(-n // plan.tile_columns)
            if plan.tickets:
                # A flag a range (its partial stored), which its tile's summer polls.
                assert plan.tickets == plan.blocks <= sms
                assert plan.partial_floats == plan.blocks * ntok * plan.tile_columns
            else:
                assert tiles >= 4 * sms and plan.blocks == tiles and plan.partial_floats == 0
    with pytest.raises(ValueError, match="too large"):
        ops.plan_launch(64, 131072, 2**31 - 64, sms, optin, per_sm, ops.FEATURE_WGMMA, groupsize=64)
    with pytest.raises(ValueError, match="groupsize=48: group size must be 32, 64, 128 or -1"):
        ops.plan_launch(16, 4096, 4096, sms, optin, per_sm, ops.FEATURE_WGMMA, groupsize=48)


# Cluster capacities read off the H200 (ops.device_clusters: clusters of 0 .. 8 blocks at once).
H200_CLUSTERS = (0, 0, 66, 39, 30, 22, 17, 15, 15)


def test_sixteen_by_128_tiles_take_two_blocks_an_sm(kernel_library, monkeypatch):
    """The 16 x 128 tile (four stages, 57 KB, built for two blocks an SM) deals its stream-K ranges
    over two slots an SM where the SM's shared memory holds two blocks, and over one where it
    does not: 4096x4096 at m = 16 (32 tiles of 32 stages) in 256 ranges of 4 stages on 132 SMs of
    228 KB, in 128 ranges of 8 where an SM has 100 KB."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    for per_sm, blocks in ((233472, 256), (100000, 128)):
        plan = ops.plan_launch(16, 4096, 4096, 132, 232448, per_sm, ops.FEATURE_WGMMA, H200_CLUSTERS, 128)
        assert (plan.kernel, plan.m_blocks, plan.tile_columns, plan.stages, plan.cluster) == ("wgmma", 1, 128, 4, 0), plan
        assert plan.blocks == plan.tickets == blocks, (per_sm, plan)
        assert plan.partial_floats == blocks * 16 * 128 and 2 * (plan.smem + 1024) <= 233472, plan


def test_plan_hopper_pairs(kernel_library, monkeypatch):
    """Given clusters of two, the Hopper path runs its stream-K ranges by pairs of blocks where a
    tile's k is split several ways (its partial times the extra ranges per tile reaches 128 KB):
    half as many ranges, two blocks each, a counter per half tile, the same partial buffer.
    Without a cluster table, with 64-k stages, on 16 x 256 tiles, on 32-token tiles over
    k >= 8192, or on the 32 x 128 tiles at m = 17-32 (n < 8192 below 3 x 2^24 weights), single
    blocks."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    facts = (132, 232448, 233472, ops.FEATURE_WGMMA)
    paired = {(64, 4096, 4096), (64, 4096, 11008), (256, 8192, 8192), (20, 6656, 7936),
              (32, 6656, 7936),  # 32 x 256 tiles, 3 x 2^24 weights or more
              (100, 8192, 8192), (96, 16384, 3072),
              (16, 8192, 28672),  # 16 x 512 tiles
              (64, 3072, 8192), (193, 4096, 11008), (129, 3584, 3584)}
    single = {(64, 12288, 4096), (64, 57344, 8192), (128, 22016, 4096), (128, 57344, 8192), (256, 10240, 8192),
              (256, 12288, 4096), (64, 4096, 4032),  # k % 128 != 0, 64-k stages
              (32, 12288, 4096), (32, 57344, 8192), (64, 22016, 4096),
              (16, 3072, 3072), (16, 3072, 8192),  # 16 x 256 tiles
              (32, 4096, 11008), (24, 3072, 8192), (32, 4096, 8192),  # 32-token tiles, k >= 8192
              # m = 33-128, pair ranges that do not split a tile into whole ones, fewer than three a tile
              (128, 12288, 4096), (128, 10240, 8192), (64, 8192, 28672), (96, 5120, 3072), (128, 3072, 3072)}
    narrow32 = {(20, 4096, 4096), (32, 5120, 3072)}  # 32 x 128, every group size
    for m, n, k in narrow32:
        for groupsize in (32, 64, 128, -1):
            plan = ops.plan_launch(m, n, k, *facts, H200_CLUSTERS, groupsize)
            assert (plan.cluster, plan.m_blocks, plan.tile_columns) == (0, 2, 128), (m, n, k, plan)
    # 64 x 256 at m = 129-256 below 2^25 weights, every group size: too few ranges a tile to pair.
    for groupsize in (32, 64, 128, -1):
        plan = ops.plan_launch(256, 4096, 4096, *facts, H200_CLUSTERS, groupsize)
        assert (plan.cluster, plan.m_blocks, plan.tile_columns) == (0, 4, 256), (groupsize, plan)
    for m, n, k in paired | single:
        # Pairs do not depend on where the scales apply.
        groupsize = 128 if k % 128 == 0 and (m, n, k) not in narrow32 else 64
        plan = ops.plan_launch(m, n, k, *facts, H200_CLUSTERS, groupsize)
        alone = ops.plan_launch(m, n, k, *facts, groupsize=groupsize)
        assert plan.kernel == alone.kernel == "wgmma" and alone.cluster == 0
        if (m, n, k) in single:
            assert plan == alone, (m, n, k)
            continue
        assert plan.cluster == 2, (m, n, k, plan)
        tiles = -(-m // (16 * plan.m_blocks)) * -(-n // plan.tile_columns)
        assert plan.tickets == plan.blocks  # a row of range flags for each block of a pair
        assert plan.blocks % 2 == 0 and plan.blocks <= 2 * H200_CLUSTERS[2]
        assert plan.partial_floats == plan.blocks // 2 * 16 * plan.m_blocks * plan.tile_columns
    # No clusters of two on this GPU: single blocks.
    no_pairs = (0, 0, 0) + H200_CLUSTERS[3:]
    assert ops.plan_launch(64, 4096, 4096, *facts, no_pairs).cluster == 0
    with pytest.raises(ValueError, match="9 counts"):
        ops.plan_launch(64, 4096, 4096, *facts, (0, 0, 66))


def test_plan_hopper_pairs_whole_ranges(kernel_library, monkeypatch):
    """At m = 33-128 pairs take a layer only where their stream-K ranges split each tile into whole
    ranges or a tile holds three or more (elsewhere they were measured slower than single blocks,
    benchmarks/logs/s47/); the other layers run single blocks, the plan they would have without a
    cluster table. Past m = 128 the rule is off."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    facts = (132, 232448, 233472, ops.FEATURE_WGMMA)
    layers = [(4096, 4096), (4096, 12288), (11008, 4096), (8192, 8192), (8192, 10240), (28672, 8192), (3072, 5120),
              (3072, 3072), (3072, 16384), (8192, 3072), (4096, 6144), (14336, 4096), (3584, 4608), (3584, 3584),
              (18944, 3584)]
    counts = {"paired": 0, "single": 0}
    for k, n in layers:
        for m in (33, 48, 64, 65, 96, 128, 129, 192):
            plan = ops.plan_launch(m, n, k, *facts, H200_CLUSTERS, 128)
            alone = ops.plan_launch(m, n, k, *facts, groupsize=128)
            if plan.kernel != "wgmma" or plan.stripes != 8 or plan.tickets == 0:
                continue
            tiles = -(-m // (16 * plan.m_blocks)) * -(-n // plan.tile_columns)
            k_iters = k // 128
            upb = -(-tiles * k_iters // min(H200_CLUSTERS[2], tiles * k_iters))
            upb += upb & 1
            whole = k_iters % upb == 0 or k_iters >= 3 * upb
            # Where the planner's other conditions admit pairs (256-column tiles, an even count of
            # 128-k stages, the partials worth it; see test_plan_hopper_pairs).
            partial_kb = 16 * plan.m_blocks * plan.tile_columns // 256
            eligible = plan.tile_columns == 256 and k_iters % 2 == 0 and partial_kb * (132 - tiles) >= 128 * tiles
            if not eligible:
                assert plan.cluster == 0, (m, n, k, plan)
                continue
            assert (plan.cluster == 2) == (whole or m > 128), (m, n, k, k_iters, upb, plan)
            if plan.cluster == 0:
                assert plan == alone, (m, n, k, plan)
            counts["paired" if plan.cluster == 2 else "single"] += 1
    assert counts["paired"] >= 20 and counts["single"] >= 15, counts
    # Cases the rule decides, by name: 1.5 pair ranges a tile (single) against 3 (paired) on 3072x5120.
    assert ops.plan_launch(96, 5120, 3072, *facts, H200_CLUSTERS, 128).cluster == 0
    assert ops.plan_launch(48, 5120, 3072, *facts, H200_CLUSTERS, 128).cluster == 2
    assert ops.plan_launch(96, 4096, 4096, *facts, H200_CLUSTERS, 128).cluster == 2  # two whole ranges a tile


def test_device_features_of_a_device_that_cannot_be_queried(kernel_library, monkeypatch):
    """No such CUDA device (or none at all, as in CI): a clear error, not a guessed flag."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    with pytest.raises(RuntimeError, match="could not query CUDA device 999"):
        ops.device_features(999)


def test_device_clusters_of_a_device_that_cannot_be_queried(kernel_library, monkeypatch):
    """No such CUDA device: a clear error, not an empty cluster table that would plan without pairs."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.device_clusters.cache_clear()
    with pytest.raises(RuntimeError, match="could not query CUDA device 999 for cluster occupancy"):
        ops.device_clusters(999)


def test_kernel_compiles_for_ampere_and_hopper(kernel_library):
    """csrc/ builds for sm_80 and sm_90a (the fixture compiles it when no library is installed)."""
    import ctypes

    lib = ctypes.CDLL(str(kernel_library))
    assert lib.mq_version() >= ops._LIB_VERSION


def test_an_older_kernel_library_is_refused_with_a_rebuild_hint(tmp_path, monkeypatch):
    """A stale .so (an older ABI, e.g. mq_plan without the cluster table) must not be called."""
    import shutil
    import subprocess

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a stand-in library")
    src = tmp_path / "old.c"
    src.write_text(
        f"int mq_version(void) {{ return {ops._LIB_VERSION - 1}; }}\n"
        "int mq_gemm(void) { return 0; }\nint mq_plan(void) { return 0; }\n"
        "int mq_alloc_tickets(void) { return 0; }\nconst char* mq_error_string(int c) { return \"\"; }\n"
    )
    lib = tmp_path / "libold.so"
    subprocess.run([cc, "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(lib))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    with pytest.raises(ops.KernelUnavailableError, match=rf"older than this package \(ABI {ops._LIB_VERSION - 1}, need {ops._LIB_VERSION}\); rebuild"):
        ops.plan_launch(1, 4096, 4096, 132, 232448, 233472)
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()


def test_fake_cuda_tensors_go_through_the_op():
    """Tracing with fake CUDA tensors (torch.compile, export) must reach the op's fake
    implementation, never the direct eager launch (which would read their data pointers)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        A = torch.empty(3, 256, device="cuda", dtype=torch.float16)
        B = torch.empty(256 // 16, 2 * 128, device="cuda", dtype=torch.int32)
        s = torch.empty(2, 128, device="cuda", dtype=torch.float16)
        assert not ops._plain_eager_cuda(A)
        C = ops.gemm(A, B, s, 128)
        assert C.shape == (3, 128) and C.dtype == torch.float16 and C.device.type == "cuda"


def test_stream_scratch_that_cannot_be_allocated(kernel_library, monkeypatch):
    """No such CUDA device (or none at all, as in CI): the per-stream buffers raise a clear error
    and nothing half-made is cached for the next call."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    with pytest.raises(RuntimeError, match="could not allocate the Marlin ticket workspace"):
        ops._stream_scratch(999, 0, 132)
    assert (999, 0) not in ops._scratch


def test_graph_ticket_slots_hold_every_split_plan_of_llama_layers(kernel_library, monkeypatch):
    """A launch captured into a CUDA graph takes its tickets from the capture's slot, and only a
    plan needing more tickets than a slot holds falls back to a zeroed workspace (a memset node
    in the graph): no Llama layer (its lm_head included) at any m on an H100, A100 or Ada."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    ops.plan_launch.cache_clear()
    slot = ops._load_library().mq_graph_slot_tickets()
    assert slot == 4096
    layers = [(4096, 12288), (4096, 4096), (4096, 22016), (11008, 4096), (8192, 10240), (8192, 57344),
              (28672, 8192), (4096, 32000), (8192, 128256), (4096, 128256), (14336, 4096), (5120, 152064)]
    facts = [(132, 232448, 233472, ops.FEATURE_WGMMA, H200_CLUSTERS), (132, 232448, 233472, 0, ()),
             (108, 166912, 167936, 0, ()), (84, 101376, 102400, 0, ())]
    ticketed = 0
    for sms, optin, per_sm, features, clusters in facts:
        for k, n in layers:
            for m in (1, 4, 8, 9, 16, 17, 32, 64, 128, 256, 1024, 16384):
                plan = ops.plan_launch(m, n, k, sms, optin, per_sm, features, clusters)
                assert plan.tickets <= slot, (m, k, n, sms, features, plan)
                ticketed += plan.tickets > 0
    assert ticketed > 100  # decode and mid-size plans share tiles: most of these take a slot
    # Decode plans take a ticket a range (at most two blocks an SM), not a tile, so even 2^21
    # columns (4800 tiles of 512) fit a slot; the binding's fallback for a plan that would not is
    # checked without one (test_graph_ticket_slots_that_cannot_be_had).
    plan = ops.plan_launch(1, 512 * 4800, 4096, 132, 232448, 233472)
    assert plan.kernel == "skinny" and plan.tickets == plan.blocks <= 2 * 132


def test_graph_ticket_slots_that_cannot_be_had(kernel_library, monkeypatch):
    """No such CUDA device: reserving graph slots and taking one during a capture each raise a
    clear error (nothing marked as reserved); a plan needing more tickets than a slot holds gets
    none (the caller's fallback) before any CUDA call."""
    monkeypatch.setenv("MARLIN_QUANT_LIB", str(kernel_library))
    monkeypatch.setattr(ops, "_lib", None)
    monkeypatch.setattr(ops, "_graph_slots_low", {999})
    with pytest.raises(RuntimeError, match="could not allocate the Marlin ticket slots for CUDA graphs"):
        ops._reserve_graph_tickets(999)
    assert ops._graph_slots_low == {999}  # still due a reserve on the next eager launch
    with pytest.raises(RuntimeError, match="could not take a Marlin ticket slot for this CUDA graph capture"):
        ops._graph_tickets(999, 0, 16)
    assert ops._graph_tickets(999, 0, 4097) is None


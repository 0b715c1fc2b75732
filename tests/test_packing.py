"""Packing: round trips, and the upstream Marlin layout checked element by element."""

import pytest
import torch

from marlin_quant import packing
from marlin_quant.packing import PackingError


def random_case(k, n, groupsize, gen):
    codes = torch.randint(0, 16, (k, n), generator=gen, dtype=torch.int32)
    groups = packing.num_groups(k, groupsize)
    scales = (torch.rand(groups, n, generator=gen) * 0.1 + 0.01).half()
    return codes, scales


@pytest.mark.parametrize("groupsize", [32, 64, 128, -1])
@pytest.mark.parametrize("k,n", [(64, 64), (128, 192), (576, 192), (256, 1536)])
def test_round_trip(k, n, groupsize, gen):
    if groupsize != -1 and k % groupsize:
        pytest.skip("k not divisible by group size")
    codes, scales = random_case(k, n, groupsize, gen)
    B, s = packing.pack(codes, scales, groupsize)
    assert B.dtype == torch.int32 and B.shape == (k // 16, 2 * n)
    assert s.dtype == torch.float16 and s.shape == scales.shape
    codes2, scales2 = packing.unpack(B, s, k, n, groupsize)
    assert torch.equal(codes2.to(torch.int32), codes)
    assert torch.equal(scales2, scales)


def upstream_weight_word(codes, stripe, word):
    """The int32 at B[stripe, word], computed one code at a time from the published layout."""
    run, pos_in_run = divmod(word * 8, 1024)  # 1024 codes per run of 4 tiles
    lane, rest = divmod(pos_in_run, 32)
    tile, first = divmod(rest, 8)
    assert first == 0
    col, q = lane // 4, lane % 4
    rows = [2 * q, 2 * q + 1, 2 * (q + 4), 2 * (q + 4) + 1]
    natural = [(rows[r], col + 8 * b) for b in (0, 1) for r in range(4)]
    interleaved = [natural[i] for i in (0, 2, 4, 6, 1, 3, 5, 7)]
    value = 0
    for i, (r, c) in enumerate(interleaved):
        tile_index = run * 4 + tile  # tiles along n within the stripe
        kk = stripe * 16 + r
        nn_ = tile_index * 16 + c
        value |= int(codes[kk, nn_]) << (4 * i)
    if value >= 2**31:
        value -= 2**32
    return value


def test_weight_layout_matches_upstream_definition(gen):
    k, n = 64, 128
    codes, scales = random_case(k, n, 128 if k % 128 == 0 else -1, gen)
    B, _ = packing.pack(codes, torch.ones(1, n, dtype=torch.float16), -1)
    for stripe in range(k // 16):
        for word in range(2 * n):
            assert int(B[stripe, word]) == upstream_weight_word(codes, stripe, word), (stripe, word)


def test_scale_layout_matches_upstream_definition(gen):
    n = 128
    grouped = torch.randn(2, n, generator=gen).half()
    _, s = packing.pack(torch.zeros(256, n, dtype=torch.int32), grouped, 128)
    for row in range(2):
        for j in range(n):
            run, p = divmod(j, 64)
            i, jj = divmod(p, 8)
            assert s[row, j] == grouped[row, run * 64 + i + 8 * jj]
    single = torch.randn(1, n, generator=gen).half()
    _, s1 = packing.pack(torch.zeros(256, n, dtype=torch.int32), single, -1)
    offsets = (0, 1, 8, 9, 16, 17, 24, 25)
    for j in range(n):
        run, p = divmod(j, 32)
        i, jj = divmod(p, 8)
        assert s1[0, j] == single[0, run * 32 + 2 * i + offsets[jj]]


def test_known_word():
    # A single code 5 at (row 0, col 0) lands in the lowest nibble of the first word; at (row 1,
    # col 0) it is nibble 4 (the interleave pairs rows 2q and 2q+1), at (row 0, col 8) nibble 2.
    for (r, c), shift in (((0, 0), 0), ((1, 0), 16), ((0, 8), 8), ((8, 0), 4)):
        codes = torch.zeros(64, 64, dtype=torch.int32)
        codes[r, c] = 5
        B, _ = packing.pack(codes, torch.ones(1, 64, dtype=torch.float16), -1)
        assert int(B[0, 0]) == 5 << shift
        assert int(B.abs().sum()) == 5 << shift


def test_dequantize_and_rtn(gen):
    w = torch.randn(128, 64, generator=gen)
    codes, scales = packing.quantize_rtn(w, 32)
    deq = packing.dequantize(codes, scales, 32)
    step = scales.float().repeat_interleave(32, dim=0)
    # The largest magnitude sits at 7.5 steps; fp16 scales round it by a hair past half a step.
    assert torch.all((deq - w).abs() <= step * 0.51)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(k=64, n=64, groupsize=48), "group size 48"),
        (dict(k=96, n=64, groupsize=32), "multiples of 64"),
        (dict(k=64, n=100, groupsize=32), "multiples of 64"),
        (dict(k=192, n=64, groupsize=128), "not divisible by group size"),
    ],
)
def test_bad_shapes(kwargs, match):
    with pytest.raises(PackingError, match=match):
        packing.check_shape(**kwargs)


def test_bad_inputs():
    codes = torch.zeros(64, 64, dtype=torch.int32)
    with pytest.raises(PackingError, match=r"\[0, 15\]"):
        packing.pack(codes - 1, torch.ones(2, 64, dtype=torch.float16), 32)
    with pytest.raises(PackingError, match="expected"):
        packing.pack(codes, torch.ones(3, 64, dtype=torch.float16), 32)
    with pytest.raises(PackingError, match="float16"):
        packing.pack(codes, torch.ones(2, 64), 32)
    with pytest.raises(PackingError, match="integer"):
        packing.pack(codes.float(), torch.ones(2, 64, dtype=torch.float16), 32)

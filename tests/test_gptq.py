"""The GPTQ solver and the clip search, on synthetic layers."""

import logging

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from marlin_quant import gptq, packing, quantizer
from marlin_quant.config import QuantConfig

GRID = QuantConfig().clip_grid()


def correlated_hessian(k: int, tokens: int = 2048, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mix = torch.eye(k) + 0.3 * torch.randn(k, k, generator=g) / k**0.5
    x = torch.randn(tokens, k, generator=g) @ mix
    x[:, : k // 8] *= 4.0  # a few strong input channels, as in real activations
    return x.t() @ x / tokens


def weight(n: int, k: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("groupsize", [32, 64, 128, -1])
def test_identity_hessian_gives_rtn(groupsize):
    W = weight(128, 256)
    res = gptq.gptq_quantize(W, torch.eye(256), groupsize)
    codes, scales = packing.quantize_rtn(W.t(), groupsize)
    assert torch.equal(res.codes, codes)
    assert torch.equal(res.scales, scales)


@pytest.mark.parametrize("groupsize", [32, 128, -1])
@pytest.mark.parametrize("act_order", [False, True])
def test_correlated_inputs_gptq_beats_rtn(groupsize, act_order):
    H = correlated_hessian(256)
    W = weight(192, 256)
    rtn = gptq.rtn_quantize(W, groupsize, H)
    res = gptq.gptq_quantize(W, H, groupsize, act_order=act_order)
    assert res.error < 0.9 * rtn.error


def test_reported_error_is_output_error():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1024, 128, generator=g)
    H = x.t() @ x / x.shape[0]
    W = weight(64, 128)
    res = gptq.gptq_quantize(W, H, 64, clip_grid=GRID)
    w_hat = packing.dequantize(res.codes, res.scales, 64).t()
    direct = ((x @ (w_hat - W).t()) ** 2).sum(dim=1).mean()
    assert res.error == pytest.approx(float(direct), rel=1e-3)
    assert 0 < res.rel_error < 0.05


@pytest.mark.parametrize("metric_kind", ["full", "diag"])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), g=st.sampled_from([8, 32, 64]))
def test_clip_search_never_worse_than_absmax(metric_kind, seed, g):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(16, g, generator=gen) * torch.rand(16, 1, generator=gen) * 3
    w[0, 0] = 25.0  # an outlier, where clipping matters
    a = torch.randn(g, g, generator=gen)
    metric = torch.linalg.cholesky(a @ a.t() + 0.1 * torch.eye(g)) if metric_kind == "full" else torch.rand(g, generator=gen)
    s_abs = quantizer.absmax_scales(w)
    s_clip = quantizer.search_scales(w, GRID, metric)
    e_abs = quantizer.weighted_error(w, quantizer.fake_quantize(w, s_abs), metric)
    e_clip = quantizer.weighted_error(w, quantizer.fake_quantize(w, s_clip), metric)
    assert torch.all(e_clip <= e_abs)
    assert torch.all(s_clip <= s_abs)


def test_clip_search_shrinks_outlier_groups():
    # an outlier on an input the Hessian says hardly matters: clip it, keep the rest precise
    w = torch.randn(4, 32, generator=torch.Generator().manual_seed(0))
    w[:, 0] = 10.0
    metric = torch.ones(32)
    metric[0] = 1e-3
    s = quantizer.search_scales(w, GRID, metric)
    assert torch.all(s < 0.5 * quantizer.absmax_scales(w))


def test_clip_grid_must_hold_absmax():
    with pytest.raises(ValueError, match="1.0"):
        quantizer.search_scales(torch.randn(4, 8), [0.9, 0.8], torch.ones(8))


@pytest.mark.parametrize("metric", ["hessian", "diag"])
def test_clipping_lowers_layer_error(metric):
    H = correlated_hessian(256, seed=5)
    W = weight(128, 256, seed=6)
    W[:, 3] *= 8  # outliers
    plain = gptq.gptq_quantize(W, H, 64)
    clipped = gptq.gptq_quantize(W, H, 64, clip_grid=GRID, clip_metric=metric)
    assert clipped.error < plain.error


@pytest.mark.parametrize("groupsize", [32, 64, 128])
def test_act_order_static_groups_plain_layout(groupsize):
    k, n = 256, 128
    H = correlated_hessian(k, seed=2)
    # make the natural order far from the act order
    H = H * torch.linspace(0.2, 5.0, k).sqrt()[:, None] * torch.linspace(0.2, 5.0, k).sqrt()[None, :]
    W = weight(n, k)
    res = gptq.gptq_quantize(W, H, groupsize, act_order=True)
    assert res.codes.shape == (k, n) and res.codes.dtype == torch.uint8
    assert res.scales.shape == (k // groupsize, n) and res.scales.dtype == torch.float16
    # static groups: without clipping the scales are the natural-order absmax scales
    _, rtn_scales = packing.quantize_rtn(W.t(), groupsize)
    assert torch.equal(res.scales, rtn_scales)
    # the dequantized weights are plain codes * scales: the reported error is theirs
    w_hat = packing.dequantize(res.codes, res.scales, groupsize).t()
    d = w_hat - W
    assert res.error == pytest.approx(float(((d @ H) * d).sum()), rel=1e-4)
    # and they can be packed for the kernel as they are
    B, s = packing.pack(res.codes, res.scales, groupsize)
    codes2, scales2 = packing.unpack(B, s, k, n, groupsize)
    assert torch.equal(codes2, res.codes) and torch.equal(scales2, res.scales)
    natural = gptq.gptq_quantize(W, H, groupsize)
    assert not torch.equal(natural.codes, res.codes)


def test_damping_retry_is_recorded(caplog):
    k = 128
    H = correlated_hessian(k)
    H[5, :] = 0
    H[:, 5] = 0
    H[5, 5] = -0.25 * float(H.diagonal().mean())  # indefinite: fails at 0.1, works at 0.4
    with caplog.at_level(logging.WARNING, logger="marlin_quant.gptq"):
        res = gptq.gptq_quantize(weight(64, k), H, 64, damp=0.1, name="blk.q_proj")
    assert res.damp == pytest.approx(0.4)
    assert any("blk.q_proj" in r.getMessage() and "retrying" in r.getMessage() for r in caplog.records)


def test_hopeless_hessian_raises_instead_of_rtn():
    H = torch.eye(64)
    H[0, 0] = -1e9
    H[1, 1] = 1e9  # keeps the mean diagonal positive
    with pytest.raises(gptq.GPTQError, match="singular"):
        gptq.gptq_quantize(weight(64, 64), H, 64, name="x")


def test_non_finite_inputs_raise_with_name():
    W = weight(64, 64)
    W[0, 0] = float("nan")
    with pytest.raises(gptq.GPTQError, match="mlp.up_proj.*NaN"):
        gptq.gptq_quantize(W, torch.eye(64), 64, name="mlp.up_proj")
    H = torch.eye(64)
    H[1, 2] = float("inf")
    with pytest.raises(gptq.GPTQError, match="Hessian"):
        gptq.gptq_quantize(weight(64, 64), H, 64)


def test_dead_inputs_get_zero_weights():
    H = correlated_hessian(128)
    H[7, :] = 0
    H[:, 7] = 0
    res = gptq.gptq_quantize(weight(64, 128), H, 64)
    assert torch.all(res.codes[7] == 8)


def test_deterministic():
    H = correlated_hessian(256)
    W = weight(128, 256)
    a = gptq.gptq_quantize(W, H, 64, act_order=True, clip_grid=GRID)
    b = gptq.gptq_quantize(W, H, 64, act_order=True, clip_grid=GRID)
    assert torch.equal(a.codes, b.codes) and torch.equal(a.scales, b.scales)


def test_stacked_solve_equals_separate_solves():
    H = correlated_hessian(128)
    Wq, Wk = weight(128, 128, seed=1), weight(64, 128, seed=2)
    both = gptq.gptq_quantize(torch.cat([Wq, Wk]), H, 64, clip_grid=GRID).split([128, 64])
    for part, W in zip(both, (Wq, Wk)):
        alone = gptq.gptq_quantize(W, H, 64, clip_grid=GRID)
        assert (part.codes == alone.codes).float().mean() > 0.999
        assert part.error == pytest.approx(alone.error, rel=1e-3)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="divisible"):
        gptq.gptq_quantize(weight(64, 96), torch.eye(96), 64)
    with pytest.raises(ValueError, match="Hessian has shape"):
        gptq.gptq_quantize(weight(64, 64), torch.eye(32), 64)

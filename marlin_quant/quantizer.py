"""Scale search for 4-bit symmetric codes in the kernel's convention.

``code = clamp(round(w / scale) + 8, 0, 15)`` and ``w_hat = (code - 8) * scale``; a scale of
``absmax / 7.5`` maps the largest magnitude of a group to 7.5 steps (as
:func:`marlin_quant.packing.quantize_rtn`). Scales are rounded to fp16 *before* quantizing, so
that ``codes * scales`` is exactly what the kernel computes.

Here weights are laid out as rows = output channels, columns = inputs (``nn.Linear.weight``),
the orientation the GPTQ solver works in; a group is a (rows, g) slice of columns.

Two ways to choose a group's scale:

* :func:`absmax_scales` - plain absmax (round-to-nearest).
* :func:`search_scales` - Hessian-aware grid clipping: try ``factor * absmax`` for every factor
  of a grid and keep, per row, the one with the smallest weighted error ``sum((dW @ L)**2)``
  (a full metric, ``L L^T`` is the Hessian block) or ``sum(dW**2 * d)`` (a diagonal metric).
  The grid always holds 1.0, tried first and kept on ties, so the chosen scale is never worse
  than absmax under the metric it was searched with.
"""

from __future__ import annotations

import torch

MAXQ = 15
ZERO = 8
HALF_RANGE = 7.5
_MIN_SCALE = 2.0**-24  # smallest positive fp16; an all-zero group gets codes of 8
_FP16_MAX = 65504.0
# Bound the (grid, rows, g) error tensor of the search to this many elements per chunk.
_CHUNK_ELEMENTS = 1 << 26


def _to_fp16_grid(scale: torch.Tensor) -> torch.Tensor:
    """Round fp32 scales to fp16 values (kept in fp32 for the arithmetic)."""
    if torch.any(scale > _FP16_MAX):
        raise ValueError(
            f"a weight group needs a scale of {float(scale.max()):.3g}, beyond fp16's range; the "
            "checkpoint holds weights too large for fp16 scales"
        )
    return scale.to(torch.float16).to(torch.float32).clamp_min(_MIN_SCALE)


def absmax_scales(w: torch.Tensor) -> torch.Tensor:
    """Per-row absmax scale of a (rows, g) group: fp32 tensor (rows,) holding fp16 values."""
    return _to_fp16_grid(w.abs().amax(dim=-1).float() / HALF_RANGE)


def quantize(w: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Codes (float tensor with integer values 0..15) of ``w`` (rows, ...) with per-row ``scale``."""
    s = scale.reshape(scale.shape + (1,) * (w.dim() - scale.dim()))
    return torch.clamp(torch.round(w / s) + ZERO, 0, MAXQ)


def dequantize(codes: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    s = scale.reshape(scale.shape + (1,) * (codes.dim() - scale.dim()))
    return (codes - ZERO) * s


def fake_quantize(w: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``dequantize(quantize(w, scale), scale)``."""
    return dequantize(quantize(w, scale), scale)


def weighted_error(w: torch.Tensor, w_hat: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    """Per-row weighted squared error of a (..., rows, g) approximation.

    ``metric`` is either a (g, g) factor ``L`` (error ``sum((dW @ L)**2)``, i.e. ``dW L L^T dW^T``)
    or a (g,) vector of weights (error ``sum(dW**2 * metric)``).
    """
    delta = w_hat - w
    if metric.dim() == 2:
        return (delta @ metric).square().sum(dim=-1)
    return (delta.square() * metric).sum(dim=-1)


def search_scales(w: torch.Tensor, grid: list[float] | torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    """Per-row scales (rows,) for a (rows, g) group minimising the weighted error over ``grid``.

    Args:
        w: fp32 (rows, g) weights of one group.
        grid: shrink factors of the absmax; must contain 1.0 (absmax), which wins ties.
        metric: (g, g) factor ``L`` with ``L L^T`` the Hessian block, or (g,) diagonal weights.

    Returns:
        fp32 (rows,) scales holding fp16 values.
    """
    factors = torch.as_tensor(grid, dtype=torch.float32, device=w.device)
    if not torch.any(factors == 1.0):
        raise ValueError("the clip grid must contain 1.0 (plain absmax)")
    # absmax first, so that argmin's first-minimum rule keeps it on ties
    factors = torch.cat([factors.new_ones(1), factors[factors != 1.0]])
    w = w.float()
    metric = metric.float()
    absmax = w.abs().amax(dim=-1)
    rows, g = w.shape
    chunk = max(1, _CHUNK_ELEMENTS // max(1, rows * g))
    best_err = None
    best_scale = None
    for start in range(0, factors.numel(), chunk):
        f = factors[start:start + chunk]
        scales = _to_fp16_grid(f[:, None] * absmax[None, :] / HALF_RANGE)  # (p, rows)
        s3 = scales.unsqueeze(-1)
        # dequantized minus original, in place: this loop is memory-bound
        delta = torch.div(w, s3).round_().clamp_(-ZERO, MAXQ - ZERO).mul_(s3).sub_(w)
        if metric.dim() == 2:
            err = (delta @ metric).square_().sum(dim=-1)
        else:
            err = delta.square_().mul_(metric).sum(dim=-1)
        del delta
        err_min, idx = err.min(dim=0)
        cand = scales.gather(0, idx[None]).squeeze(0)
        if best_err is None:
            best_err, best_scale = err_min, cand
        else:
            better = err_min < best_err
            best_err = torch.where(better, err_min, best_err)
            best_scale = torch.where(better, cand, best_scale)
    return best_scale

"""The GPTQ solver: 4-bit codes and scales for one linear layer given its input Hessian.

Several layers that read the same input (q/k/v; gate/up) share one Hessian: stack their weights
along the output dimension and solve them as one wide matrix, so that the Cholesky factorisation
and inverse are done once. Rows of the solve are independent given the Hessian (each output
channel has its own scales and its own error feedback), so the stacked solve gives exactly the
per-layer results.

The solver (Frantar et al., GPTQ) quantizes columns (input features) one at a time and spreads
each column's rounding error over the columns not yet quantized, through the upper Cholesky
factor ``U`` of the damped inverse Hessian. Updates are lazy: inside a block of ``blocksize``
columns they are applied column by column, to the rest of the matrix once per block (one matmul).

Weights here are (n, k) = ``nn.Linear.weight``; the results are (k, n) codes and (groups, n)
scales, the layout of :mod:`marlin_quant.packing`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

import torch

from . import quantizer

log = logging.getLogger(__name__)

DAMP_GROWTH = 4.0
MAX_DAMP_RETRIES = 5


class GPTQError(RuntimeError):
    """The solve cannot proceed (non-finite inputs, a Hessian that stays singular)."""


@dataclass
class SolveResult:
    """Output of one solve.

    Attributes:
        codes: uint8 (k, n), values 0..15, ``code = round(w / scale) + 8``.
        scales: fp16 (k // groupsize, n), or (1, n) for per-channel.
        damp: damping actually used, as a fraction of the mean Hessian diagonal (larger than
            requested when the factorisation had to be retried).
        row_error: fp32 (n,) per output channel ``dw H dw^T`` with the undamped Hessian: the mean
            over calibration tokens of the squared output error of that channel.
        row_energy: fp32 (n,) per output channel ``w H w^T``: the mean squared output itself, so
            ``row_error.sum() / row_energy.sum()`` is a relative output error.
        clip_seconds: time spent in the scale search.
    """

    codes: torch.Tensor
    scales: torch.Tensor
    damp: float
    row_error: torch.Tensor
    row_energy: torch.Tensor
    clip_seconds: float = 0.0

    @property
    def error(self) -> float:
        return float(self.row_error.sum())

    @property
    def rel_error(self) -> float:
        energy = float(self.row_energy.sum())
        return float(self.row_error.sum()) / energy if energy > 0 else 0.0

    def split(self, sizes: list[int]) -> list["SolveResult"]:
        """Split a stacked solve into the results of its layers (``sizes`` are their n)."""
        out = []
        start = 0
        for n in sizes:
            sl = slice(start, start + n)
            out.append(SolveResult(self.codes[:, sl].contiguous(), self.scales[:, sl].contiguous(), self.damp,
                                   self.row_error[sl], self.row_energy[sl], self.clip_seconds))
            start += n
        return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def _threads(device: torch.device, n: int | None):
    """Set the CPU's intra-op thread count for a while (no-op on other devices or for None).

    The solver's per-column steps are tiny: on a CPU, intra-op threads only add synchronisation
    (10-30x slower on a busy 2-core machine), so the solve runs on one thread; the clip search
    works on large tensors and gets all threads back.
    """
    if device.type != "cpu" or n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _errors(weight: torch.Tensor, w_hat: torch.Tensor, H: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    delta = w_hat - weight
    row_error = ((delta @ H) * delta).sum(dim=1)
    row_energy = ((weight @ H) * weight).sum(dim=1)
    return row_error, row_energy


def _check_inputs(weight: torch.Tensor, H: torch.Tensor, groupsize: int, name: str) -> None:
    if weight.dim() != 2:
        raise ValueError(f"{name}: weight must be 2-D (out_features, in_features), got {tuple(weight.shape)}")
    n, k = weight.shape
    if tuple(H.shape) != (k, k):
        raise ValueError(f"{name}: Hessian has shape {tuple(H.shape)}, expected ({k}, {k})")
    if groupsize != -1 and (groupsize <= 0 or k % groupsize):
        raise ValueError(f"{name}: in_features={k} is not divisible by group size {groupsize}")
    if not torch.isfinite(weight).all():
        raise GPTQError(f"{name}: the weight holds NaN or Inf values; fix the checkpoint before quantizing")
    if not torch.isfinite(H).all():
        raise GPTQError(
            f"{name}: the input Hessian holds NaN or Inf values (the layer's calibration activations "
            "overflowed); load the model in bfloat16 or float32, or check the checkpoint"
        )


def inverse_cholesky(H: torch.Tensor, damp: float, name: str = "layer") -> tuple[torch.Tensor, float]:
    """Upper Cholesky factor ``U`` of ``(H + damp * mean(diag H) * I)^-1``, and the damping used.

    ``H`` is overwritten (damped), to keep one k x k matrix fewer in memory. When a factorisation
    fails, the damping grows by ``DAMP_GROWTH`` (a warning is logged) up to ``MAX_DAMP_RETRIES``
    times; then :class:`GPTQError` is raised. There is no fallback to round-to-nearest.
    """
    diag = H.diagonal()
    mean_diag = float(diag.mean())
    if not mean_diag > 0:
        raise GPTQError(f"{name}: the Hessian's diagonal is zero (no calibration input reached this layer)")
    frac = damp
    added = 0.0
    for attempt in range(MAX_DAMP_RETRIES + 1):
        diag += frac * mean_diag - added
        added = frac * mean_diag
        L, info = torch.linalg.cholesky_ex(H)
        if int(info) == 0:
            Hinv = torch.cholesky_inverse(L)
            del L
            U, info = torch.linalg.cholesky_ex(Hinv, upper=True)
            del Hinv
            if int(info) == 0 and bool(torch.isfinite(U).all()):
                return U, frac
        if attempt < MAX_DAMP_RETRIES:
            new = frac * DAMP_GROWTH
            log.warning("%s: Cholesky factorisation failed with damping %.4g; retrying with %.4g", name, frac, new)
            frac = new
    raise GPTQError(
        f"{name}: the Hessian stays singular even with damping {frac:.4g} x mean diagonal; "
        "use more (or more varied) calibration samples"
    )


def _group_metric(U_block: torch.Tensor, clip_metric: str) -> torch.Tensor:
    """Metric of a group's clip search from its diagonal block of ``U``.

    ``U_block^T U_block`` is the block of the inverse of the trailing Hessian (the columns not yet
    quantized), so ``||dW U_block^-1||^2`` is the output error left after the later columns have
    compensated as well as they can: the error GPTQ will actually be left with.
    """
    if clip_metric == "hessian":
        eye = torch.eye(U_block.shape[0], device=U_block.device, dtype=U_block.dtype)
        return torch.linalg.solve_triangular(U_block, eye, upper=True)
    return U_block.diagonal().square().reciprocal()


def _static_scales(W: torch.Tensor, H: torch.Tensor, groupsize: int, clip_grid: list[float] | None,
                   clip_metric: str, damp: float) -> torch.Tensor:
    """Scales (groups, n) fixed up front from the weights in natural order.

    The clip metric of a group is its own Hessian block (its error with no later compensation);
    for per-channel scales only the diagonal, as the full k x k metric would cost a k^2 matmul per
    grid point.
    """
    n, k = W.shape
    g = k if groupsize == -1 else groupsize
    scales = []
    mean_diag = float(H.diagonal().mean())
    for start in range(0, k, g):
        wg = W[:, start:start + g]
        if clip_grid is None:
            scales.append(quantizer.absmax_scales(wg))
            continue
        Hg = H[start:start + g, start:start + g]
        if clip_metric == "hessian" and groupsize != -1:
            Hg = Hg + damp * mean_diag * torch.eye(g, device=H.device, dtype=H.dtype)
            metric = torch.linalg.cholesky(Hg)  # L with L L^T = H_gg
        else:
            metric = Hg.diagonal().clone()
        scales.append(quantizer.search_scales(wg, clip_grid, metric))
    return torch.stack(scales)


def gptq_quantize(
    weight: torch.Tensor,
    H: torch.Tensor,
    groupsize: int = 128,
    *,
    act_order: bool = False,
    clip_grid: list[float] | None = None,
    clip_metric: str = "hessian",
    damp: float = 0.1,
    blocksize: int = 128,
    name: str = "layer",
) -> SolveResult:
    """Quantize one (n, k) weight (or several stacked along n) with GPTQ.

    Args:
        weight: (n, k) weight, any float dtype; computed in fp32 on ``H``'s device.
        H: (k, k) fp32 input Hessian ``X^T X / tokens``; not modified.
        groupsize: 32, 64, 128 or -1 (per-channel).
        act_order: solve columns by decreasing Hessian diagonal; scales are then fixed per group
            in natural order before the solve ("static groups"), so the layout stays plain.
        clip_grid: shrink factors for the clip search (must hold 1.0); None for absmax scales.
        clip_metric: ``"hessian"`` or ``"diag"`` (see :mod:`marlin_quant.config`).
        damp: damping as a fraction of the mean Hessian diagonal; grows on failure.
        blocksize: lazy-update block width, a multiple of ``groupsize``.
        name: used in messages.
    """
    _check_inputs(weight, H, groupsize, name)
    all_threads = torch.get_num_threads()
    with _threads(H.device, 1):
        return _solve(weight, H, groupsize, act_order, clip_grid, clip_metric, damp, blocksize, name,
                      all_threads)


def _solve(weight: torch.Tensor, H: torch.Tensor, groupsize: int, act_order: bool,
           clip_grid: list[float] | None, clip_metric: str, damp: float, blocksize: int,
           name: str, clip_threads: int) -> SolveResult:
    n, k = weight.shape
    g = k if groupsize == -1 else groupsize
    if groupsize != -1 and blocksize % groupsize:
        raise ValueError(f"blocksize={blocksize} must be a multiple of groupsize={groupsize}")
    device = H.device
    H = H.float()
    W0 = weight.to(device=device, dtype=torch.float32)
    W = W0.clone()
    clip_seconds = 0.0

    # Inputs that were always zero carry no information: their weights cannot matter.
    dead = H.diagonal() == 0
    Hw = H.clone()
    if bool(dead.any()):
        idx = torch.nonzero(dead).flatten()
        Hw[idx, idx] = 1.0
        W[:, dead] = 0.0

    static = act_order or groupsize == -1
    static_scales = None
    if static:
        _sync(device)
        t = time.perf_counter()
        with _threads(device, clip_threads):
            static_scales = _static_scales(W, Hw, groupsize, clip_grid, clip_metric, damp)
        _sync(device)
        clip_seconds += time.perf_counter() - t

    perm = None
    if act_order:
        perm = torch.argsort(Hw.diagonal(), descending=True, stable=True)
        W = W[:, perm]
        Hw = Hw[perm][:, perm]

    U, damp_used = inverse_cholesky(Hw, damp, name)
    del Hw

    if static:
        col_group = torch.arange(k, device=device) // g
        if perm is not None:
            col_group = col_group[perm]
        col_scales = static_scales[col_group].t().contiguous()  # (n, k) in solve order
    else:
        col_scales = None
        group_scales = torch.empty((k // g, n), device=device, dtype=torch.float32)

    Q = torch.empty((n, k), device=device, dtype=torch.float32)
    for i1 in range(0, k, blocksize):
        i2 = min(i1 + blocksize, k)
        W1 = W[:, i1:i2].clone()
        Q1 = torch.empty_like(W1)
        Err1 = torch.empty_like(W1)
        U1 = U[i1:i2, i1:i2]
        scale = None
        for i in range(i2 - i1):
            col = i1 + i
            if col_scales is not None:
                scale = col_scales[:, col]
            elif col % g == 0:
                wg = W1[:, i:i + g]
                if clip_grid is None:
                    scale = quantizer.absmax_scales(wg)
                else:
                    _sync(device)
                    t = time.perf_counter()
                    metric = _group_metric(U1[i:i + g, i:i + g], clip_metric)
                    with _threads(device, clip_threads):
                        scale = quantizer.search_scales(wg, clip_grid, metric)
                    _sync(device)
                    clip_seconds += time.perf_counter() - t
                group_scales[col // g] = scale
            w = W1[:, i]
            q = quantizer.quantize(w, scale)
            err = (w - quantizer.dequantize(q, scale)) / U1[i, i]
            Q1[:, i] = q
            Err1[:, i] = err
            W1[:, i:].addr_(err, U1[i, i:], alpha=-1.0)
        Q[:, i1:i2] = Q1
        if i2 < k:
            W[:, i2:].addmm_(Err1, U[i1:i2, i2:], alpha=-1.0)
    del U, W

    if perm is not None:
        Q = Q[:, torch.argsort(perm)]
    scales = static_scales if static else group_scales
    codes = Q.t().to(torch.uint8).contiguous()
    scales16 = scales.to(torch.float16).contiguous()
    w_hat = dequantize_weight(codes, scales16, groupsize)
    row_error, row_energy = _errors(W0, w_hat, H)
    return SolveResult(codes, scales16, damp_used, row_error, row_energy, clip_seconds)


def rtn_quantize(weight: torch.Tensor, groupsize: int = 128, H: torch.Tensor | None = None,
                 name: str = "layer") -> SolveResult:
    """Round-to-nearest with absmax scales (the baseline); errors are measured when ``H`` is given."""
    n, k = weight.shape
    device = H.device if H is not None else weight.device
    W0 = weight.to(device=device, dtype=torch.float32)
    if not torch.isfinite(W0).all():
        raise GPTQError(f"{name}: the weight holds NaN or Inf values; fix the checkpoint before quantizing")
    if groupsize != -1 and k % groupsize:
        raise ValueError(f"{name}: in_features={k} is not divisible by group size {groupsize}")
    g = k if groupsize == -1 else groupsize
    scales = torch.stack([quantizer.absmax_scales(W0[:, s:s + g]) for s in range(0, k, g)])
    col_scales = scales.repeat_interleave(g, dim=0).t()
    codes = quantizer.quantize(W0, col_scales).t().to(torch.uint8).contiguous()
    scales16 = scales.to(torch.float16).contiguous()
    if H is None:
        zeros = torch.zeros(n, device=device)
        return SolveResult(codes, scales16, 0.0, zeros, zeros.clone())
    row_error, row_energy = _errors(W0, dequantize_weight(codes, scales16, groupsize), H.float())
    return SolveResult(codes, scales16, 0.0, row_error, row_energy)


def dequantize_weight(codes: torch.Tensor, scales: torch.Tensor, groupsize: int) -> torch.Tensor:
    """(n, k) fp32 weights from (k, n) codes and (groups, n) scales."""
    k, n = codes.shape
    g = k if groupsize == -1 else groupsize
    w = (codes.float() - quantizer.ZERO).view(k // g, g, n) * scales.float().unsqueeze(1)
    return w.reshape(k, n).t()

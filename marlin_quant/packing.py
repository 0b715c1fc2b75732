"""Marlin weight and scale layout: pack, unpack, dequantize (pure torch, CPU or GPU).

Conventions used everywhere in marlin-quant:

* ``codes`` is a (k, n) integer tensor with values 0..15, i.e. the *transposed* weight of an
  ``nn.Linear(k, n)``; ``code = round(w / scale) + 8`` (4-bit, symmetric).
* ``scales`` is fp16 of shape (k // groupsize, n), or (1, n) for per-channel (``groupsize=-1``).
* Packed ``B`` is int32 of shape (k // 16, 2 * n); packed ``s`` has the shape of ``scales``.

For group size 128 and per-channel, ``B`` and ``s`` are bit-identical to the layout published by
upstream Marlin (IST-DASLab/marlin ``Layer.pack``), so files interoperate with existing Marlin
loaders. Group sizes 32 and 64 use the grouped scale order too.
"""

from __future__ import annotations

import functools

import torch

SUPPORTED_GROUPSIZES = (32, 64, 128, -1)
TILE = 16  # the kernel works on 16x16 weight tiles
SHAPE_MULTIPLE = 64  # k and n must be multiples of this


class PackingError(ValueError):
    """Raised when tensors cannot be packed or unpacked; the message says what to change."""


@functools.lru_cache(maxsize=None)
def _weight_perm() -> torch.Tensor:
    """Order of the 1024 codes of four consecutive 16x16 tiles inside one 16-row stripe.

    Lane i of a warp owns four int32 (one per tile), holding exactly the values its
    ``mma.m16n8k16`` B fragments need for the two 8-column halves of the tile. Within each int32
    the codes are interleaved (0,2,4,6,1,3,5,7) so that one mask+or turns a nibble pair into an
    fp16 pair.
    """
    perm: list[int] = []
    for lane in range(32):
        col, q = lane // 4, lane % 4
        rows = (2 * q, 2 * q + 1, 2 * (q + 4), 2 * (q + 4) + 1)
        lane_pos = [16 * row + col + 8 * b for b in (0, 1) for row in rows]
        for tile in range(4):
            perm.extend(p + 256 * tile for p in lane_pos)
    t = torch.tensor(perm, dtype=torch.long).view(-1, 8)[:, [0, 2, 4, 6, 1, 3, 5, 7]]
    return t.reshape(-1).contiguous()


@functools.lru_cache(maxsize=None)
def _scale_perm(grouped: bool) -> torch.Tensor:
    if grouped:
        perm = [i + 8 * j for i in range(8) for j in range(8)]
    else:
        perm = [2 * i + j for i in range(4) for j in (0, 1, 8, 9, 16, 17, 24, 25)]
    return torch.tensor(perm, dtype=torch.long)


def _inverse(perm: torch.Tensor) -> torch.Tensor:
    return torch.argsort(perm)


def check_shape(k: int, n: int, groupsize: int) -> None:
    """Raise :class:`PackingError` unless (k, n, groupsize) is a shape the kernel runs."""
    if groupsize not in SUPPORTED_GROUPSIZES:
        raise PackingError(
            f"group size {groupsize} is not supported; use one of 32, 64, 128 or -1 (per-channel)"
        )
    if k <= 0 or n <= 0 or k % SHAPE_MULTIPLE or n % SHAPE_MULTIPLE:
        raise PackingError(
            f"weight shape k={k}, n={n} is not supported: both must be positive multiples of "
            f"{SHAPE_MULTIPLE} (keep this layer in full precision, or pad it)"
        )
    if groupsize != -1 and k % groupsize:
        raise PackingError(
            f"k={k} is not divisible by group size {groupsize}; pick a group size that divides k"
            " (or -1 for per-channel scales)"
        )


def num_groups(k: int, groupsize: int) -> int:
    return 1 if groupsize == -1 else k // groupsize


def _check_scales(scales: torch.Tensor, k: int, n: int, groupsize: int, what: str) -> None:
    expected = (num_groups(k, groupsize), n)
    if tuple(scales.shape) != expected:
        raise PackingError(
            f"{what} has shape {tuple(scales.shape)}, expected {expected} for k={k}, n={n}, "
            f"groupsize={groupsize}"
        )
    if scales.dtype != torch.float16:
        raise PackingError(f"{what} must be float16, got {scales.dtype}; convert with .half()")


def pack(codes: torch.Tensor, scales: torch.Tensor, groupsize: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pack 4-bit codes and fp16 scales into the Marlin kernel layout.

    Args:
        codes: (k, n) integer tensor with values in [0, 15].
        scales: fp16 (k // groupsize, n), or (1, n) when ``groupsize == -1``.
        groupsize: 32, 64, 128, or -1 for per-channel.

    Returns:
        ``(B, s)``: B is int32 (k // 16, 2 * n), s is fp16 with the shape of ``scales``.
    """
    if codes.dim() != 2:
        raise PackingError(f"codes must be 2-D (k, n), got shape {tuple(codes.shape)}")
    if codes.is_floating_point() or codes.is_complex() or codes.dtype == torch.bool:
        raise PackingError(f"codes must be an integer tensor, got {codes.dtype}")
    k, n = codes.shape
    check_shape(k, n, groupsize)
    _check_scales(scales, k, n, groupsize, "scales")
    c = codes.to(torch.int64)
    lo, hi = int(c.min()), int(c.max())
    if lo < 0 or hi > 15:
        raise PackingError(f"codes must lie in [0, 15], found values in [{lo}, {hi}]")

    tiles = c.view(k // TILE, TILE, n // TILE, TILE).permute(0, 2, 1, 3)
    stripes = tiles.reshape(k // TILE, n * TILE)
    perm = _weight_perm().to(c.device)
    stripes = stripes.reshape(-1, perm.numel())[:, perm].reshape(k // TILE, n * TILE)
    nibbles = stripes.view(k // TILE, 2 * n, 8)
    shifts = torch.arange(0, 32, 4, device=c.device, dtype=torch.int64)
    words = (nibbles << shifts).sum(dim=-1)
    # Bits 28..31 can make the value exceed int32's range: wrap it to the same bit pattern.
    words = torch.where(words >= 2**31, words - 2**32, words)
    B = words.to(torch.int32).contiguous()

    grouped = groupsize != -1
    sperm = _scale_perm(grouped).to(scales.device)
    s = scales.reshape(-1, sperm.numel())[:, sperm].reshape(scales.shape).contiguous()
    return B, s


def unpack(
    B: torch.Tensor, s: torch.Tensor, k: int, n: int, groupsize: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Invert :func:`pack`: returns ``(codes, scales)``, codes as uint8 (k, n) in [0, 15]."""
    check_shape(k, n, groupsize)
    if B.dtype != torch.int32 or tuple(B.shape) != (k // TILE, 2 * n):
        raise PackingError(
            f"packed B must be int32 of shape {(k // TILE, 2 * n)}, got {B.dtype} {tuple(B.shape)}"
        )
    _check_scales(s, k, n, groupsize, "packed scales")
    shifts = torch.arange(0, 32, 4, device=B.device, dtype=torch.int32)
    nibbles = (B.unsqueeze(-1) >> shifts) & 0xF
    stripes = nibbles.reshape(k // TILE, n * TILE)
    inv = _inverse(_weight_perm()).to(B.device)
    stripes = stripes.reshape(-1, inv.numel())[:, inv].reshape(k // TILE, n // TILE, TILE, TILE)
    codes = stripes.permute(0, 2, 1, 3).reshape(k, n).to(torch.uint8)

    grouped = groupsize != -1
    sinv = _inverse(_scale_perm(grouped)).to(s.device)
    scales = s.reshape(-1, sinv.numel())[:, sinv].reshape(s.shape).contiguous()
    return codes, scales


def dequantize(codes: torch.Tensor, scales: torch.Tensor, groupsize: int) -> torch.Tensor:
    """Weights (k, n) in fp32 from codes and (unpermuted) scales: ``(code - 8) * scale``."""
    k, n = codes.shape
    w = codes.to(torch.float32) - 8.0
    sf = scales.to(torch.float32)
    if groupsize == -1:
        return w * sf
    return (w.view(k // groupsize, groupsize, n) * sf.unsqueeze(1)).reshape(k, n)


def quantize_rtn(weight_kn: torch.Tensor, groupsize: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Round-to-nearest with absmax scales; ``weight_kn`` is (k, n). Returns (codes, fp16 scales).

    The scale maps the largest magnitude of a group to 7.5 steps, which, with codes -8..7, uses
    the full range symmetrically (the same convention as upstream Marlin's quantizer).
    """
    k, n = weight_kn.shape
    check_shape(k, n, groupsize)
    w = weight_kn.to(torch.float32)
    g = k if groupsize == -1 else groupsize
    wg = w.view(k // g, g, n)
    scales = (wg.abs().amax(dim=1) / 7.5).to(torch.float16).clamp_min(2.0**-24)
    sf = scales.to(torch.float32).unsqueeze(1)
    codes = torch.clamp(torch.round(wg / sf) + 8, 0, 15).to(torch.uint8).view(k, n)
    return codes, scales

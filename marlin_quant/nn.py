"""``MarlinLinear``: the nn.Module that holds a packed 4-bit weight and calls the Marlin op."""

from __future__ import annotations

import torch
from torch import nn

from . import ops, packing


class MarlinLinear(nn.Module):
    """A 4-bit linear layer, ``y = x @ dequant(B, s) + bias``.

    Buffers: ``B`` int32 (in_features // 16, 2 * out_features), ``s`` fp16 (groups,
    out_features), optional ``bias`` fp16 (out_features). ``forward`` takes any leading batch
    dims; on CUDA it runs the kernel, on CPU the fp32 reference.
    """

    def __init__(self, in_features: int, out_features: int, groupsize: int = 128, bias: bool = False,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        packing.check_shape(in_features, out_features, groupsize)
        self.in_features = in_features
        self.out_features = out_features
        self.groupsize = groupsize
        groups = packing.num_groups(in_features, groupsize)
        self.register_buffer("B", torch.zeros((in_features // 16, 2 * out_features), dtype=torch.int32, device=device))
        self.register_buffer("s", torch.ones((groups, out_features), dtype=torch.float16, device=device))
        if bias:
            self.register_buffer("bias", torch.zeros(out_features, dtype=torch.float16, device=device))
        else:
            self.bias = None

    @classmethod
    def from_packed(cls, B: torch.Tensor, s: torch.Tensor, groupsize: int,
                    bias: torch.Tensor | None = None) -> "MarlinLinear":
        """Wrap already-packed tensors (as stored in a marlin-quant checkpoint)."""
        k, n = B.shape[0] * 16, B.shape[1] // 2
        layer = cls(k, n, groupsize, bias=bias is not None, device="meta")
        packing._check_scales(s, k, n, groupsize, "s")
        if B.dtype != torch.int32:
            raise packing.PackingError(f"B must be int32, got {B.dtype}")
        layer.B = B.contiguous()
        layer.s = s.contiguous()
        if bias is not None:
            if tuple(bias.shape) != (n,):
                raise packing.PackingError(f"bias has shape {tuple(bias.shape)}, expected ({n},)")
            layer.bias = bias.to(torch.float16).contiguous()
        return layer

    @classmethod
    def from_linear(cls, linear: nn.Linear, codes: torch.Tensor, scales: torch.Tensor,
                    groupsize: int) -> "MarlinLinear":
        """Build from an ``nn.Linear`` (for its shape and bias) and its quantized (k, n) codes."""
        k, n = linear.in_features, linear.out_features
        if tuple(codes.shape) != (k, n):
            raise packing.PackingError(
                f"codes have shape {tuple(codes.shape)}, expected (in_features, out_features) = {(k, n)}"
            )
        B, s = packing.pack(codes.cpu(), scales.cpu(), groupsize)
        bias = linear.bias.detach().cpu() if linear.bias is not None else None
        layer = cls.from_packed(B, s, groupsize, bias)
        return layer.to(linear.weight.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"input has {x.shape[-1]} features, this layer expects {self.in_features}")
        # Each reshape, cast or copy below costs an eager decode a microsecond or two per layer:
        # only what the input needs.
        flat = x.dim() != 2
        x2 = x.reshape(-1, self.in_features) if flat else x
        if x2.shape[0] == 0:
            return x.new_empty(*x.shape[:-1], self.out_features)
        dtype = x2.dtype
        if dtype != torch.float16:
            x2 = x2.to(torch.float16)
        if not x2.is_contiguous():
            x2 = x2.contiguous()
        # nn.Module's attribute lookup of a buffer costs about a microsecond each; the dict does not.
        buffers = self._buffers
        y = ops.gemm(x2, buffers["B"], buffers["s"], self.groupsize)
        bias = buffers["bias"] if "bias" in buffers else self.bias  # None, or a parameter
        if bias is not None:
            y = y + bias
        if dtype != torch.float16:
            y = y.to(dtype)
        return y.reshape(*x.shape[:-1], self.out_features) if flat else y

    def dequantized_weight(self) -> torch.Tensor:
        """The (out_features, in_features) fp32 weight this layer computes with."""
        codes, scales = packing.unpack(self.B.cpu(), self.s.cpu(), self.in_features, self.out_features, self.groupsize)
        return packing.dequantize(codes, scales, self.groupsize).t().contiguous()

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"groupsize={self.groupsize}, bias={self.bias is not None}")

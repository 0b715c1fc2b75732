"""Export to, and import from, the GPTQ checkpoint format read by Hugging Face transformers
(optimum / gptqmodel) and vLLM (``quant_method: "gptq"``, which vLLM serves with its own Marlin
kernels, tensor parallel included).

Per quantized linear ``<name>`` (k inputs, n outputs, G groups):

* ``<name>.qweight`` int32 (k/8, n): row r holds input rows 8r..8r+7, input row 8r+i in bits 4i.
* ``<name>.qzeros`` int32 (G, n/8): zero points packed along outputs, output 8c+i in bits 4i.
  Symmetric 4-bit has zero point 8; the GPTQ "v1" convention (AutoGPTQ, transformers, vLLM)
  stores ``zero - 1`` = 7 and adds the 1 back when reading, so every word is 0x77777777.
* ``<name>.scales`` fp16 (G, n); ``<name>.g_idx`` int32 (k,) = input index // group size.
* ``<name>.bias`` as it was.

Per-channel scales are ``group_size: -1`` with G = 1. The weight is ``scales[g] * (q - zero)``,
the same value as ours: ``scale * (code - 8)`` with q = code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .. import __version__, packing
from .common import (
    Checkpoint,
    check_plain_tensors,
    check_quant_fields,
    check_tensor,
    load_config_json,
    model_skeleton,
    quantized_linear_shape,
    write_quantized,
)
from .io import FormatError, TensorFiles

SYM_ZERO = 8
V1_STORED_ZERO = SYM_ZERO - 1  # the historical off-by-one of the GPTQ v1 format
_SHIFTS = torch.arange(0, 32, 4, dtype=torch.int64)


def _pack_nibbles(values: torch.Tensor) -> torch.Tensor:
    """(..., 8m) ints in 0..15 -> (..., m) int32, value i of each 8 in bits 4i."""
    v = values.to(torch.int64).reshape(*values.shape[:-1], -1, 8)
    words = (v << _SHIFTS).sum(dim=-1)
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)


def _unpack_nibbles(words: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_pack_nibbles`: (..., m) int32 -> (..., 8m) uint8."""
    nib = (words.unsqueeze(-1).to(torch.int64) >> _SHIFTS) & 0xF
    return nib.reshape(*words.shape[:-1], -1).to(torch.uint8)


def pack_layer(codes: torch.Tensor, scales: torch.Tensor, groupsize: int) -> dict[str, torch.Tensor]:
    """GPTQ tensors of one layer from our (k, n) codes and (G, n) scales."""
    k, n = codes.shape
    if k % 8 or n % 8:
        raise FormatError(f"GPTQ packing needs k and n divisible by 8, got k={k}, n={n}")
    qweight = _pack_nibbles(codes.t()).t().contiguous()  # pack along k
    groups = scales.shape[0]
    qzeros = _pack_nibbles(torch.full((groups, n), V1_STORED_ZERO, dtype=torch.int64))
    g = k if groupsize == -1 else groupsize
    g_idx = (torch.arange(k, dtype=torch.int32) // g).to(torch.int32)
    return {"qweight": qweight, "qzeros": qzeros, "scales": scales.to(torch.float16).contiguous(), "g_idx": g_idx}


def unpack_layer(qweight: torch.Tensor, qzeros: torch.Tensor, scales: torch.Tensor, g_idx: torch.Tensor,
                 groupsize: int, stored_zero: int = V1_STORED_ZERO, name: str = "layer") -> tuple[torch.Tensor, torch.Tensor]:
    """Our (codes, scales) from one layer's GPTQ tensors; refuses anything our kernel cannot run
    exactly (asymmetric zero points, an activation-order ``g_idx``)."""
    k = qweight.shape[0] * 8
    zeros = _unpack_nibbles(qzeros)
    if not bool((zeros == stored_zero).all()):
        raise FormatError(
            f"{name}: qzeros are not all the symmetric zero point ({stored_zero} stored); only symmetric "
            "(sym: true) GPTQ checkpoints can run on the Marlin kernel"
        )
    g = k if groupsize == -1 else groupsize
    if not torch.equal(g_idx.to(torch.int64), torch.arange(k) // g):
        raise FormatError(
            f"{name}: g_idx is not index // group_size (an act-order / desc_act checkpoint); re-export it "
            "without desc_act, the Marlin kernel here has no permutation index"
        )
    codes = _unpack_nibbles(qweight.t()).t().contiguous()
    return codes, scales


def quantization_config(ckpt: Checkpoint) -> dict[str, Any]:
    prov = ckpt.provenance or {}
    in_block = _modules_in_block(ckpt.quantized)
    qc: dict[str, Any] = {
        "quant_method": "gptq",
        "bits": 4,
        "group_size": ckpt.groupsize,
        "desc_act": False,
        "sym": True,
        "static_groups": False,
        "true_sequential": bool(prov.get("true_sequential", True)),
        "damp_percent": prov.get("damp", 0.01),
        "checkpoint_format": "gptq",
        "lm_head": "lm_head" in ckpt.quantized,
        "modules_in_block_to_quantize": in_block,
        "meta": {"quantizer": [f"marlin-quant:{__version__}"]},
    }
    return qc


def _modules_in_block(quantized: list[str]) -> list[list[str]]:
    """The within-block names of the quantized modules (``self_attn.q_proj``), in one group, so
    loaders leave a block's unquantized linears (if any) alone."""
    names = set()
    for q in quantized:
        parts = q.split(".")
        if "layers" in parts:
            i = parts.index("layers")
            names.add(".".join(parts[i + 2:]))
    return [sorted(names)] if names else []


def export(ckpt: Checkpoint, out: str | Path, *, overwrite: bool = False, max_shard_bytes: int | None = None,
           progress=None) -> Path:
    """Write ``ckpt`` (any opened checkpoint) as a GPTQ directory."""
    def pack(codes: torch.Tensor, scales: torch.Tensor) -> dict[str, torch.Tensor]:
        return pack_layer(codes, scales, ckpt.groupsize)

    return write_quantized(ckpt, out, quantization_config(ckpt), pack,
                           overwrite=overwrite, max_shard_bytes=max_shard_bytes, progress=progress)


class GPTQCheckpoint(Checkpoint):
    format = "gptq"
    stored_zero = V1_STORED_ZERO

    def layer(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.files
        codes, scales = unpack_layer(f.get(f"{name}.qweight"), f.get(f"{name}.qzeros"), f.get(f"{name}.scales"),
                                     f.get(f"{name}.g_idx"), self.groupsize, self.stored_zero, name)
        return codes, self.checked_scales(name, scales)


def open_checkpoint(folder: str | Path) -> GPTQCheckpoint:
    """Open and check a symmetric 4-bit GPTQ directory (ours or another tool's, without desc_act)."""
    folder = Path(folder)
    where = f"{folder}/config.json"
    cfg = load_config_json(folder)
    qc = cfg.get("quantization_config")
    if not isinstance(qc, dict) or qc.get("quant_method") != "gptq":
        raise FormatError(f"{folder} is not a GPTQ checkpoint (config.json has no quantization_config with quant_method 'gptq')")
    groupsize, _ = check_quant_fields(qc, where)
    if qc.get("sym", True) is not True:
        raise FormatError(f"{where}: sym is false; only symmetric GPTQ checkpoints run on the Marlin kernel")
    if qc.get("desc_act", False):
        raise FormatError(f"{where}: desc_act is true (activation order); re-quantize without it for the Marlin kernel")
    fmt = qc.get("checkpoint_format", "gptq")
    if fmt not in ("gptq", "gptq_v2"):
        raise FormatError(f"{where}: checkpoint_format {fmt!r} is not 'gptq' or 'gptq_v2'")
    skeleton = model_skeleton(cfg)
    files = TensorFiles(folder)
    quantized = sorted(n[: -len(".qweight")] for n in files.names() if n.endswith(".qweight"))
    owned: set[str] = set()
    for name in quantized:
        k, n = quantized_linear_shape(skeleton, folder, name, f"{name}.qweight", groupsize)
        groups = packing.num_groups(k, groupsize)
        check_tensor(files, f"{name}.qweight", torch.int32, (k // 8, n), str(folder))
        check_tensor(files, f"{name}.qzeros", torch.int32, (groups, n // 8), str(folder))
        check_tensor(files, f"{name}.scales", torch.float16, (groups, n), str(folder))
        check_tensor(files, f"{name}.g_idx", torch.int32, (k,), str(folder))
        owned |= {f"{name}.{s}" for s in ("qweight", "qzeros", "scales", "g_idx")}
    if not quantized:
        raise FormatError(f"{folder}: no quantized layer (no *.qweight tensor); the checkpoint is empty or damaged")
    plain = check_plain_tensors(files, skeleton, quantized, owned, str(folder))
    full = sorted(set(skeleton.linears) - set(quantized))
    model_cfg = {k: v for k, v in cfg.items() if k != "quantization_config"}
    prov = {"imported_from": "gptq", "checkpoint_format": fmt}
    ckpt = GPTQCheckpoint(folder, model_cfg, groupsize, quantized, full, prov, files, plain, skeleton)
    if fmt == "gptq_v2":
        ckpt.stored_zero = SYM_ZERO
    return ckpt

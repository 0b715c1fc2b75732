"""Export to, and import from, compressed-tensors ``pack-quantized`` W4A16 (llm-compressor, vLLM).

Per quantized linear ``<name>`` (weight (n, k) in nn.Linear terms, G groups):

* ``<name>.weight_packed`` int32 (n, k/8): the signed int4 values q = code - 8, each stored
  offset by +8 (so the stored nibble is our code), 8 along k per word, the i-th in bits 4i.
* ``<name>.weight_scale`` fp16 (n, G) (G = 1 for per-channel, strategy "channel").
* ``<name>.weight_shape`` int64 [n, k].

Symmetric, so no zero point is stored. The weight is ``q * scale``, the same value as ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .. import packing
from .common import (
    Checkpoint,
    check_plain_tensors,
    check_tensor,
    load_config_json,
    model_skeleton,
    quantized_linear_shape,
    write_quantized,
)
from .gptq import _pack_nibbles, _unpack_nibbles
from .io import FormatError, TensorFiles

FORMAT = "pack-quantized"


def weights_args(groupsize: int) -> dict[str, Any]:
    return {
        "num_bits": 4,
        "type": "int",
        "symmetric": True,
        "group_size": None if groupsize == -1 else groupsize,
        "strategy": "channel" if groupsize == -1 else "group",
        "dynamic": False,
        "actorder": None,
        "block_structure": None,
        "observer": "minmax",
        "observer_kwargs": {},
    }


def quantization_config(ckpt: Checkpoint) -> dict[str, Any]:
    return {
        "quant_method": "compressed-tensors",
        "format": FORMAT,
        "quantization_status": "compressed",
        "config_groups": {
            "group_0": {
                "targets": ["Linear"],
                "weights": weights_args(ckpt.groupsize),
                "input_activations": None,
                "output_activations": None,
                "format": FORMAT,
            }
        },
        "ignore": sorted(ckpt.full_precision),
        "kv_cache_scheme": None,
        "global_compression_ratio": None,
    }


def pack_layer(codes: torch.Tensor, scales: torch.Tensor) -> dict[str, torch.Tensor]:
    k, n = codes.shape
    return {
        "weight_packed": _pack_nibbles(codes.t().contiguous()),
        "weight_scale": scales.t().contiguous().to(torch.float16),
        "weight_shape": torch.tensor([n, k], dtype=torch.int64),
    }


def export(ckpt: Checkpoint, out: str | Path, *, overwrite: bool = False, max_shard_bytes: int | None = None,
           progress=None) -> Path:
    """Write ``ckpt`` (any opened checkpoint) as a compressed-tensors pack-quantized directory."""
    return write_quantized(ckpt, out, quantization_config(ckpt), pack_layer,
                           overwrite=overwrite, max_shard_bytes=max_shard_bytes, progress=progress)


class CompressedTensorsCheckpoint(Checkpoint):
    format = "compressed-tensors"

    def layer(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        packed = self.files.get(f"{name}.weight_packed")
        scale = self.checked_scales(name, self.files.get(f"{name}.weight_scale"))
        shape = self.files.get(f"{name}.weight_shape")
        k, n = self.shape(name)
        if shape.tolist() != [n, k]:
            raise FormatError(f"{self.folder}: {name}.weight_shape is {shape.tolist()}, expected {[n, k]}; the checkpoint is damaged")
        codes = _unpack_nibbles(packed).t().contiguous()
        return codes, scale.t().contiguous()


def _scheme_groupsize(qc: dict, where: str) -> int:
    if qc.get("format") != FORMAT:
        raise FormatError(f"{where}: format {qc.get('format')!r} is not {FORMAT!r}; only pack-quantized W4A16 is read")
    groups = qc.get("config_groups")
    if not isinstance(groups, dict) or len(groups) != 1:
        raise FormatError(f"{where}: expected exactly one config group (one W4A16 scheme for every layer)")
    scheme = next(iter(groups.values()))
    if not isinstance(scheme, dict) or not isinstance(scheme.get("weights"), dict):
        raise FormatError(f"{where}: the config group has no weights scheme")
    if scheme.get("input_activations") or scheme.get("output_activations"):
        raise FormatError(f"{where}: activations are quantized too; only weight-only (W4A16) checkpoints run on the Marlin kernel")
    w = scheme["weights"]
    if w.get("num_bits") != 4 or w.get("type", "int") != "int" or w.get("symmetric") is not True:
        raise FormatError(f"{where}: the weights scheme is not symmetric 4-bit int; only W4A16 symmetric checkpoints are read")
    if w.get("actorder") not in (None, "static"):
        raise FormatError(f"{where}: actorder {w.get('actorder')!r} needs a permutation index the Marlin kernel here lacks")
    strategy = w.get("strategy")
    if strategy == "channel":
        return -1
    g = w.get("group_size")
    if strategy != "group" or g not in (32, 64, 128) or isinstance(g, bool):
        raise FormatError(f"{where}: strategy {strategy!r} with group_size {g!r}; the Marlin kernel runs groups of 32, 64, 128 or per-channel")
    return g


def open_checkpoint(folder: str | Path) -> CompressedTensorsCheckpoint:
    """Open and check a compressed-tensors pack-quantized W4A16 directory."""
    folder = Path(folder)
    where = f"{folder}/config.json"
    cfg = load_config_json(folder)
    qc = cfg.get("quantization_config")
    if not isinstance(qc, dict) or qc.get("quant_method") != "compressed-tensors":
        raise FormatError(f"{folder} is not a compressed-tensors checkpoint (no quantization_config with quant_method 'compressed-tensors')")
    groupsize = _scheme_groupsize(qc, where)
    skeleton = model_skeleton(cfg)
    files = TensorFiles(folder)
    quantized = sorted(n[: -len(".weight_packed")] for n in files.names() if n.endswith(".weight_packed"))
    if not quantized:
        raise FormatError(f"{folder}: no quantized layer (no *.weight_packed tensor); the checkpoint is empty or damaged")
    owned: set[str] = set()
    for name in quantized:
        k, n = quantized_linear_shape(skeleton, folder, name, f"{name}.weight_packed", groupsize)
        check_tensor(files, f"{name}.weight_packed", torch.int32, (n, k // 8), str(folder))
        check_tensor(files, f"{name}.weight_scale", torch.float16, (n, packing.num_groups(k, groupsize)), str(folder))
        check_tensor(files, f"{name}.weight_shape", None, (2,), str(folder))
        if files.infos[f"{name}.weight_shape"].dtype not in (torch.int64, torch.int32):
            raise FormatError(f"{folder}: {name}.weight_shape must be an integer tensor")
        owned |= {f"{name}.weight_packed", f"{name}.weight_scale", f"{name}.weight_shape"}
    plain = check_plain_tensors(files, skeleton, quantized, owned, str(folder))
    full = sorted(set(skeleton.linears) - set(quantized))
    model_cfg = {k: v for k, v in cfg.items() if k != "quantization_config"}
    return CompressedTensorsCheckpoint(folder, model_cfg, groupsize, quantized, full,
                                       {"imported_from": "compressed-tensors"}, files, plain, skeleton)

"""The native marlin-quant directory: Marlin-packed safetensors plus the model's own config.

Layout::

    config.json                 the model's config + quantization_config (below)
    model.safetensors           or model-0000i-of-0000N.safetensors + model.safetensors.index.json
    tokenizer files             as saved by the tokenizer

For each quantized linear ``<name>`` the files hold ``<name>.B`` (int32 (k/16, 2n)) and
``<name>.s`` (fp16 (groups, n)) in the kernel layout of :mod:`marlin_quant.packing` (for group
size 128 and per-channel the layout vLLM's ``quant_method: marlin`` reads), its bias as
``<name>.bias``, and every other tensor as it was. ``quantization_config``::

    quant_method: "marlin", bits: 4, group_size, lm_head: false,
    quantized_modules: [...], modules_in_full_precision: [...], format_version: 1,
    provenance: {tool, tool_version, model, dataset, nsamples, seqlen, seed, damp, clip, act_order, ...}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from .. import packing
from .common import (
    Checkpoint,
    check_module_list,
    check_plain_tensors,
    check_quant_fields,
    check_tensor,
    load_config_json,
    model_skeleton,
    write_directory,
)
from .io import FormatError, TensorFiles

QUANT_METHOD = "marlin"
FORMAT_VERSION = 1


def quantization_config(groupsize: int, quantized: list[str], full_precision: list[str],
                        provenance: dict[str, Any]) -> dict[str, Any]:
    return {
        "quant_method": QUANT_METHOD,
        "bits": 4,
        "group_size": groupsize,
        "lm_head": "lm_head" in quantized,
        "format_version": FORMAT_VERSION,
        "quantized_modules": sorted(quantized),
        "modules_in_full_precision": sorted(full_precision),
        "provenance": provenance,
    }


def model_config_dict(model, dtype: torch.dtype | None = None) -> dict[str, Any]:
    """The config of a Hugging Face model as written to config.json, without quantization_config."""
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    if not cfg.get("architectures"):  # a config built from GGUF has none; loaders (vLLM) need it
        cfg["architectures"] = [type(model).__name__]
    if dtype is None:
        dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float16)
    cfg["dtype"] = str(dtype).removeprefix("torch.")
    cfg.pop("torch_dtype", None)
    return cfg


def _plain_state(model, quantized: set[str], dtype: torch.dtype | None = None) -> Iterator[tuple[str, torch.Tensor]]:
    """The model's tensors except quantized weights, floating ones cast to ``dtype`` if given (one
    at a time: a model loaded from GGUF refuses ``model.half()``); a tensor tied to an earlier one
    (lm_head to the embedding) is written once, as Hugging Face does."""
    seen: dict[tuple[int, int, tuple], str] = {}
    qweights = {f"{q}.weight" for q in quantized}
    for name, t in model.state_dict().items():
        if name in qweights:
            continue
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        if t.numel() and key in seen:
            continue
        seen[key] = name
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        yield name, t


def save(model, layers: Mapping[str, Any], out: str | Path, *, groupsize: int, provenance: dict[str, Any],
         tokenizer=None, tokenizer_dir: Path | None = None, overwrite: bool = False,
         max_shard_bytes: int | None = None, progress=None, dtype: torch.dtype | None = None,
         staging: Path | None = None) -> Path:
    """Write a quantized model as a native directory (atomically).

    Args:
        model: the Hugging Face model (its non-quantized tensors are written as they are).
        layers: module name -> an object with ``codes`` (uint8 (k, n)) and ``scales`` (fp16), or a
            ``(codes, scales)`` pair; those modules' weights are replaced by packed ``B``/``s``.
        groupsize: 32, 64, 128 or -1.
        provenance: recorded in ``quantization_config.provenance``.
        tokenizer / tokenizer_dir: saved or copied beside the weights.
        dtype: cast the non-quantized floating tensors to this (default: keep them as they are).
        staging: the temporary directory to write into (see :func:`.io.atomic_directory`).
    """
    linears = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    quantized = sorted(layers)
    for name in quantized:
        if name not in linears:
            raise FormatError(f"{name} is not a linear layer of this model; cannot store it quantized")
    config = model_config_dict(model, dtype)
    full = sorted(linears - set(quantized))
    config["quantization_config"] = quantization_config(groupsize, quantized, full, provenance)

    def tensors() -> Iterator[tuple[str, torch.Tensor]]:
        yield from _plain_state(model, set(quantized), dtype)
        for name in quantized:
            item = layers[name]
            codes, scales = (item.codes, item.scales) if hasattr(item, "codes") else item
            B, s = packing.pack(codes.cpu(), scales.cpu(), groupsize)
            yield f"{name}.B", B
            yield f"{name}.s", s

    return write_directory(out, config, tensors(), tokenizer=tokenizer, tokenizer_dir=tokenizer_dir,
                           overwrite=overwrite, max_shard_bytes=max_shard_bytes, progress=progress,
                           staging=staging)


def save_full_precision(model, out: str | Path, *, provenance: dict[str, Any], tokenizer=None,
                        tokenizer_dir: Path | None = None, overwrite: bool = False,
                        max_shard_bytes: int | None = None, dtype: torch.dtype | None = None,
                        staging: Path | None = None) -> Path:
    """The ``--wbits 16`` baseline: a plain Hugging Face directory (no quantization_config), with
    the provenance kept under ``marlin_quant_provenance`` so ``inspect`` can tell its story."""
    config = model_config_dict(model, dtype)
    config["marlin_quant_provenance"] = provenance
    return write_directory(out, config, _plain_state(model, set(), dtype), tokenizer=tokenizer,
                           tokenizer_dir=tokenizer_dir, overwrite=overwrite, max_shard_bytes=max_shard_bytes,
                           staging=staging)


class MarlinCheckpoint(Checkpoint):
    format = "marlin"

    def packed(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        B = self.files.get(f"{name}.B")
        s = self.checked_scales(name, self.files.get(f"{name}.s"))
        return B, s

    def layer(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        k, n = self.shape(name)
        B, s = self.packed(name)
        return packing.unpack(B, s, k, n, self.groupsize)

    def tensors(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Every stored tensor, packed layers as they are (for re-sharding)."""
        for name in self.plain:
            yield name, self.tensor(name)
        for name in self.quantized:
            B, s = self.packed(name)
            yield f"{name}.B", B
            yield f"{name}.s", s


def is_marlin_dir(folder: str | Path) -> bool:
    try:
        cfg = load_config_json(Path(folder))
    except FormatError:
        return False
    qc = cfg.get("quantization_config")
    return isinstance(qc, dict) and qc.get("quant_method") == QUANT_METHOD


def open_checkpoint(folder: str | Path) -> MarlinCheckpoint:
    """Open and fully check a native directory (config, every header, names, dtypes, shapes).

    Tensor data is read later, one tensor at a time; scales are checked for NaN/Inf when read.
    Raises :class:`FormatError` naming the problem.
    """
    folder = Path(folder)
    where = f"{folder}/config.json"
    cfg = load_config_json(folder)
    qc = cfg.get("quantization_config")
    if not isinstance(qc, dict):
        raise FormatError(
            f"{folder} is not a marlin-quant directory: its config.json has no quantization_config. For a "
            "full-precision model use `marlin-quant compress`; `ppl` and `generate` also read it as it is"
        )
    method = qc.get("quant_method")
    if method != QUANT_METHOD:
        raise FormatError(
            f"{folder} holds a {method!r} checkpoint, not a marlin-quant one (quant_method 'marlin'); "
            "read it with the matching reader (marlin_quant.formats.read) or pass a native directory"
        )
    groupsize, _ = check_quant_fields(qc, where)
    version = qc.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise FormatError(f"{where}: format_version {version!r} is not {FORMAT_VERSION}; upgrade marlin-quant")
    skeleton = model_skeleton(cfg)
    quantized = check_module_list(qc.get("quantized_modules"), "quantized_modules", where, skeleton)
    full = check_module_list(qc.get("modules_in_full_precision", []), "modules_in_full_precision", where, skeleton)
    if set(quantized) & set(full):
        raise FormatError(f"{where}: a module is listed both as quantized and in full precision")
    provenance = qc.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise FormatError(f"{where}: quantization_config.provenance must be an object")
    files = TensorFiles(folder)
    owned: set[str] = set()
    what = str(folder)
    for name in quantized:
        k, n = skeleton.linears[name].in_features, skeleton.linears[name].out_features
        try:
            packing.check_shape(k, n, groupsize)
        except packing.PackingError as exc:
            raise FormatError(f"{where}: {name} cannot be quantized with group_size {groupsize}: {exc}") from None
        check_tensor(files, f"{name}.B", torch.int32, (k // 16, 2 * n), what)
        check_tensor(files, f"{name}.s", torch.float16, (packing.num_groups(k, groupsize), n), what)
        owned |= {f"{name}.B", f"{name}.s"}
    plain = check_plain_tensors(files, skeleton, quantized, owned, what)
    model_cfg = {k: v for k, v in cfg.items() if k != "quantization_config"}
    return MarlinCheckpoint(folder, model_cfg, groupsize, quantized, full, provenance, files, plain, skeleton)


def write_from_checkpoint(ckpt: Checkpoint, out: str | Path, *, overwrite: bool = False,
                          max_shard_bytes: int | None = None, progress=None) -> Path:
    """Write any opened checkpoint (native, or imported GPTQ / compressed-tensors) as a native one."""
    config = dict(ckpt.config)
    config["quantization_config"] = quantization_config(ckpt.groupsize, ckpt.quantized, ckpt.full_precision,
                                                        ckpt.provenance)

    def tensors() -> Iterator[tuple[str, torch.Tensor]]:
        for name in ckpt.plain:
            yield name, ckpt.tensor(name)
        for name in ckpt.quantized:
            B, s = ckpt.packed(name)
            yield f"{name}.B", B
            yield f"{name}.s", s

    return write_directory(out, config, tensors(), tokenizer_dir=ckpt.folder, overwrite=overwrite,
                           max_shard_bytes=max_shard_bytes, progress=progress)

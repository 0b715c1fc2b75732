"""What every quantized checkpoint format shares: the reader interface and the checks against the
model architecture that its ``config.json`` describes."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import packing
from .io import FormatError, TensorFiles, read_json

QUANT_BITS = 4


@dataclass
class LinearShape:
    in_features: int
    out_features: int
    bias: bool


@dataclass
class Skeleton:
    """Tensor names and shapes a model config implies (built on the meta device, no memory)."""

    params: dict[str, tuple[int, ...]]
    linears: dict[str, LinearShape]
    tied: set[str] = field(default_factory=set)


_SIZE_LIMITS = {"num_hidden_layers": 1024, "hidden_size": 1 << 17, "intermediate_size": 1 << 19,
                "vocab_size": 1 << 22, "num_attention_heads": 1024, "num_key_value_heads": 1024,
                "head_dim": 4096, "max_position_embeddings": 1 << 24}


def load_config_json(folder: Path) -> dict:
    if not folder.exists():
        raise FormatError(f"{folder} does not exist; pass a directory written by marlin-quant")
    if not folder.is_dir():
        raise FormatError(f"{folder} is not a directory; pass the folder that holds config.json")
    return read_json(folder / "config.json", "this is not a model directory (pass the folder that holds config.json)")


def _freeze(config: dict) -> str:
    import json

    return json.dumps(config, sort_keys=True, default=str)


def model_skeleton(config: dict) -> Skeleton:
    """Names and shapes of every tensor of the model ``config`` describes."""
    return _skeleton_cached(_freeze(config))


@functools.lru_cache(maxsize=8)
def _skeleton_cached(frozen: str) -> Skeleton:
    import json

    from transformers import AutoConfig, AutoModelForCausalLM

    config = json.loads(frozen)
    config = {k: v for k, v in config.items() if k != "quantization_config"}
    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        raise FormatError("config.json has no model_type; the file is damaged or not a Hugging Face config")
    # Even on the meta device a config claiming millions of layers would take forever to build.
    for key, limit in _SIZE_LIMITS.items():
        value = config.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= limit):
            raise FormatError(f"config.json: {key}={value!r} is not a plausible size (1..{limit}); the file is damaged")
    try:
        hf_config = AutoConfig.for_model(**config)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(hf_config)
    except FormatError:
        raise
    except Exception as exc:  # transformers raises many types for a bad config
        raise FormatError(
            f"config.json does not describe a model transformers can build ({type(exc).__name__}: {exc}); "
            "the file is damaged or from an unsupported architecture"
        ) from None
    params = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    linears = {name: LinearShape(m.in_features, m.out_features, m.bias is not None)
               for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    tied = set()
    if getattr(hf_config, "tie_word_embeddings", False):
        tied.add("lm_head.weight")
    return Skeleton(params, linears, tied)


def check_quant_fields(qc: dict, where: str) -> tuple[int, list[str]]:
    """Shared checks of ``bits`` and ``group_size``; returns (group size, list of warnings)."""
    bits = qc.get("bits")
    if bits != QUANT_BITS:
        raise FormatError(f"{where}: bits={bits!r}, but marlin-quant reads 4-bit checkpoints only")
    g = qc.get("group_size")
    if g not in packing.SUPPORTED_GROUPSIZES or isinstance(g, bool):
        raise FormatError(f"{where}: group_size={g!r} is not one of 32, 64, 128, -1; the config is damaged")
    return g, []


def check_tensor(files: TensorFiles, name: str, dtype: torch.dtype | None, shape: tuple[int, ...], what: str) -> None:
    info = files.infos.get(name)
    if info is None:
        raise FormatError(f"{what}: tensor {name!r} is missing; the checkpoint is incomplete, write it again")
    if dtype is not None and info.dtype != dtype:
        raise FormatError(f"{what}: tensor {name!r} is {info.dtype}, expected {dtype}; the checkpoint is damaged")
    if info.shape != tuple(shape):
        raise FormatError(
            f"{what}: tensor {name!r} has shape {list(info.shape)}, but config.json implies {list(shape)}; "
            "the config and the tensors disagree"
        )


def check_plain_tensors(files: TensorFiles, skeleton: Skeleton, quantized: list[str], owned: set[str], what: str) -> list[str]:
    """Every tensor the architecture has that is not a quantized layer's weight must be present with
    its shape and a floating dtype (a quantized layer's bias too); no tensor may be unexplained.

    ``owned``: names the format's own quantized-layer tensors use (already checked). Returns the
    names of the plain tensors.
    """
    qweights = {f"{q}.weight" for q in quantized}
    plain = []
    for name, shape in skeleton.params.items():
        if name in qweights:
            if name in files:
                raise FormatError(f"{what}: {name!r} is stored although the layer is quantized; the checkpoint is damaged")
            continue
        if name not in files:
            if name in skeleton.tied:
                continue
            raise FormatError(f"{what}: tensor {name!r} is missing; the checkpoint is incomplete, write it again")
        info = files.infos[name]
        if not info.dtype.is_floating_point:
            raise FormatError(f"{what}: tensor {name!r} is {info.dtype}, expected a floating-point dtype")
        if info.shape != shape:
            raise FormatError(
                f"{what}: tensor {name!r} has shape {list(info.shape)}, but config.json implies {list(shape)}; "
                "the config and the tensors disagree"
            )
        plain.append(name)
    extra = sorted(set(files.names()) - set(plain) - owned)
    if extra:
        raise FormatError(
            f"{what}: {len(extra)} tensor(s) the config does not account for, e.g. {extra[0]!r}; the config "
            "and the tensors disagree (was the checkpoint written for another model?)"
        )
    return plain


def check_module_list(value: Any, key: str, where: str, skeleton: Skeleton) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FormatError(f"{where}: quantization_config.{key} must be a list of module names")
    unknown = [v for v in value if v not in skeleton.linears]
    if unknown:
        raise FormatError(
            f"{where}: quantization_config.{key} names {unknown[0]!r}, which is not a linear layer of this "
            "model; the config and the model disagree"
        )
    if len(set(value)) != len(value):
        raise FormatError(f"{where}: quantization_config.{key} lists a module twice")
    return value


class Checkpoint:
    """A quantized checkpoint opened for reading; every format's reader returns one.

    Attributes:
        folder: the directory.
        config: the model's own config (``quantization_config`` removed).
        groupsize: 32, 64, 128 or -1.
        quantized: names of the quantized linear modules (``model.layers.0.self_attn.q_proj``).
        full_precision: names of linear modules kept in full precision.
        provenance: how the checkpoint was made (may be empty for foreign files).
        plain: names of the other tensors (embeddings, norms, biases, full-precision weights).
    """

    format: str = ""

    def __init__(self, folder: Path, config: dict, groupsize: int, quantized: list[str],
                 full_precision: list[str], provenance: dict, files: TensorFiles, plain: list[str],
                 skeleton: Skeleton) -> None:
        self.folder = folder
        self.config = config
        self.groupsize = groupsize
        self.quantized = quantized
        self.full_precision = full_precision
        self.provenance = provenance
        self.files = files
        self.plain = plain
        self.skeleton = skeleton

    def shape(self, name: str) -> tuple[int, int]:
        """(k, n) = (in_features, out_features) of a quantized module."""
        lin = self.skeleton.linears[name]
        return lin.in_features, lin.out_features

    def layer(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(codes uint8 (k, n), scales fp16 (groups, n)) of a quantized module."""
        raise NotImplementedError

    def packed(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, s) in the Marlin kernel layout."""
        codes, scales = self.layer(name)
        return packing.pack(codes, scales, self.groupsize)

    def tensor(self, name: str) -> torch.Tensor:
        t = self.files.get(name)
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise FormatError(f"{self.folder}: tensor {name!r} holds NaN or Inf; the checkpoint is damaged")
        return t

    def checked_scales(self, name: str, scales: torch.Tensor) -> torch.Tensor:
        if not torch.isfinite(scales).all():
            raise FormatError(f"{self.folder}: the scales of {name} hold NaN or Inf; the checkpoint is damaged")
        return scales

    def summary(self) -> dict[str, Any]:
        files = self.files
        return {
            "format": self.format,
            "path": str(self.folder),
            "architecture": (self.config.get("architectures") or ["?"])[0],
            "bits": QUANT_BITS,
            "group_size": self.groupsize,
            "quantized_layers": len(self.quantized),
            "full_precision_layers": list(self.full_precision),
            "tensors": len(files.infos),
            "file_bytes": files.nbytes(),
            "provenance": self.provenance,
        }


def write_directory(out: str | Path, config: dict, tensors, *, tokenizer=None, tokenizer_dir: Path | None = None,
                    overwrite: bool = False, max_shard_bytes: int | None = None, progress=None,
                    staging: Path | None = None) -> Path:
    """Write ``config.json``, the tensors (sharded past ``max_shard_bytes``) and the tokenizer into
    ``out`` atomically.

    Args:
        tensors: iterable of (name, tensor), consumed once (so a large model streams through).
        tokenizer: a tokenizer object to ``save_pretrained`` (e.g. one made from a GGUF file), or
        tokenizer_dir: a directory whose tokenizer files are copied.
        progress: optional callable(name) called after each tensor is queued.
        staging: the temporary directory to write into (see :func:`.io.atomic_directory`).
    """
    from .io import DEFAULT_MAX_SHARD_BYTES, ShardWriter, atomic_directory, copy_tokenizer_files, write_json

    with atomic_directory(out, overwrite=overwrite, staging=staging) as tmp:
        writer = ShardWriter(tmp, max_shard_bytes or DEFAULT_MAX_SHARD_BYTES)
        for name, t in tensors:
            writer.add(name, t)
            if progress is not None:
                progress(name)
        writer.close()
        write_json(tmp / "config.json", config)
        if tokenizer is not None:
            tokenizer.save_pretrained(str(tmp))
        elif tokenizer_dir is not None:
            copy_tokenizer_files(Path(tokenizer_dir), tmp)
    return Path(out)


def write_quantized(ckpt: Checkpoint, out: str | Path, quantization_config: dict, pack_layer, *,
                    overwrite: bool = False, max_shard_bytes: int | None = None, progress=None) -> Path:
    """Write ``ckpt`` in another quantized format: plain tensors as they are, each quantized
    layer's (codes, scales) through ``pack_layer(codes, scales) -> {suffix: tensor}``."""
    config = dict(ckpt.config)
    config["quantization_config"] = quantization_config

    def tensors():
        for name in ckpt.plain:
            yield name, ckpt.tensor(name)
        for name in ckpt.quantized:
            codes, scales = ckpt.layer(name)
            for suffix, t in pack_layer(codes, scales).items():
                yield f"{name}.{suffix}", t

    return write_directory(out, config, tensors(), tokenizer_dir=ckpt.folder, overwrite=overwrite,
                           max_shard_bytes=max_shard_bytes, progress=progress)


def quantized_linear_shape(skeleton, folder, name: str, tensor: str, groupsize: int) -> tuple[int, int]:
    """(k, n) of the model's linear ``name``, which a stored ``tensor`` claims to quantize; a
    FormatError when the model has no such linear or the kernel cannot run its shape."""
    lin = skeleton.linears.get(name)
    if lin is None:
        raise FormatError(f"{folder}: {tensor} belongs to no linear layer of this model; the config and the tensors disagree")
    k, n = lin.in_features, lin.out_features
    try:
        packing.check_shape(k, n, groupsize)
    except packing.PackingError as exc:
        raise FormatError(f"{folder}: {name} cannot run on the Marlin kernel: {exc}") from None
    return k, n

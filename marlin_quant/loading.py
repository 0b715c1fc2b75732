"""``marlin_quant.load``: a quantized directory -> a Hugging Face model running on MarlinLinear."""

from __future__ import annotations

import contextlib

from pathlib import Path

import torch
from torch import nn

from . import formats
from .formats.io import FormatError
from .nn import MarlinLinear


def default_dtype(device: torch.device, config: dict) -> torch.dtype:
    """fp32 on CPU (fp16 matmuls are slow there and the reference path computes in fp32 anyway);
    on a GPU the checkpoint's own half-precision dtype."""
    if device.type == "cpu":
        return torch.float32
    name = config.get("dtype") or config.get("torch_dtype") or "float16"
    return {"bfloat16": torch.bfloat16}.get(str(name).removeprefix("torch."), torch.float16)


@contextlib.contextmanager
def _parameters_on_meta():
    """Build modules with parameters on the meta device (no memory, no init cost) but buffers
    real: non-persistent buffers such as rotary frequencies are computed at construction and are
    not in the checkpoint."""
    original = nn.Module.register_parameter

    def register(module: nn.Module, name: str, param) -> None:
        original(module, name, param)
        p = module._parameters.get(name)
        if p is not None and not p.is_meta:
            module._parameters[name] = nn.Parameter(p.to("meta"), requires_grad=p.requires_grad)

    nn.Module.register_parameter = register
    try:
        yield
    finally:
        nn.Module.register_parameter = original


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def load(path: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype | None = None, progress=None):
    """Load a marlin-quant directory (or a GPTQ / compressed-tensors export of one, or a plain
    full-precision Hugging Face directory) as a ready-to-run Hugging Face causal LM.

    Quantized linears become :class:`~marlin_quant.nn.MarlinLinear` (the CUDA kernel on a GPU, the
    fp32 reference on CPU); everything else is loaded in ``dtype`` (default: fp32 on CPU, the
    checkpoint's half precision on a GPU). The model is built on the meta device first, so no
    memory is spent on random initial weights.

    Args:
        path: the directory.
        device: where the model runs.
        dtype: dtype of the non-quantized tensors.
        progress: optional callable(done, total) called as tensors are loaded.

    Raises:
        FormatError: the directory is not one we read, or its files are damaged or disagree with
            its config (the message names the file and the problem).
    """
    from transformers import AutoConfig, AutoModelForCausalLM

    path = Path(path)
    device = torch.device(device)
    kind = formats.detect(path)
    if kind == "full-precision":
        from . import models

        source = models.resolve(path)
        cfg = formats.common.load_config_json(path)
        return models.load_model(source, dtype=dtype or default_dtype(device, cfg), device=device)

    ckpt = formats.open_checkpoint(path)
    dtype = dtype or default_dtype(device, ckpt.config)
    hf_config = AutoConfig.for_model(**ckpt.config)
    with _parameters_on_meta():
        model = AutoModelForCausalLM.from_config(hf_config, dtype=dtype)
    total = len(ckpt.quantized) + len(ckpt.plain)
    done = 0
    for name in ckpt.quantized:
        B, s = ckpt.packed(name)
        bias_name = f"{name}.bias"
        bias = ckpt.tensor(bias_name) if bias_name in ckpt.files else None
        layer = MarlinLinear.from_packed(B, s, ckpt.groupsize, bias)
        _set_module(model, name, layer.to(device))
        done += 1
        if progress:
            progress(done, total)
    state = {}
    for name in ckpt.plain:
        if name.removesuffix(".bias") in ckpt.quantized:
            continue
        state[name] = ckpt.tensor(name).to(device=device, dtype=dtype)
        done += 1
        if progress:
            progress(done, total)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if unexpected:
        raise FormatError(f"{path}: tensors the model does not have, e.g. {unexpected[0]!r}; the checkpoint is damaged")
    if getattr(hf_config, "tie_word_embeddings", False):
        model.tie_weights()
    left = [n for n, p in list(model.named_parameters()) + list(model.named_buffers()) if p.is_meta]
    if left:
        raise FormatError(f"{path}: no tensor for {left[0]!r} (and {len(left) - 1} more); the checkpoint is incomplete")
    model.to(device)
    model.eval()
    model.marlin_checkpoint = ckpt.summary()
    return model

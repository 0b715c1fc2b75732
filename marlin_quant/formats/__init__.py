"""Checkpoint formats: the native Marlin directory, and GPTQ / compressed-tensors exports.

:func:`open_checkpoint` reads any of the three (after checking it fully) into a
:class:`~marlin_quant.formats.common.Checkpoint`; :func:`export` writes one in a chosen format.
Round trips are bit-identical: every format stores the same 4-bit codes and fp16 scales.
"""

from __future__ import annotations

from pathlib import Path

from .common import Checkpoint
from .io import FormatError, OutputExistsError

EXPORT_FORMATS = ("marlin", "gptq", "compressed-tensors")

__all__ = ["Checkpoint", "FormatError", "OutputExistsError", "EXPORT_FORMATS", "open_checkpoint", "export",
           "detect"]


def detect(folder: str | Path) -> str:
    """'marlin', 'gptq', 'compressed-tensors', or 'full-precision' (a plain Hugging Face directory)."""
    from .common import load_config_json

    cfg = load_config_json(Path(folder))
    qc = cfg.get("quantization_config")
    if qc is None:
        return "full-precision"
    method = qc.get("quant_method") if isinstance(qc, dict) else None
    if method in EXPORT_FORMATS:
        return method
    raise FormatError(
        f"{folder} holds a {method!r} quantized checkpoint; marlin-quant reads 'marlin', 'gptq' and "
        "'compressed-tensors' ones"
    )


def open_checkpoint(folder: str | Path) -> Checkpoint:
    """Open a quantized directory of any supported format, checking everything but tensor data."""
    from . import compressed_tensors, gptq, marlin

    kind = detect(folder)
    if kind == "full-precision":
        raise FormatError(
            f"{folder} is a full-precision model (no quantization_config); compress it first with "
            "`marlin-quant compress`"
        )
    reader = {"marlin": marlin.open_checkpoint, "gptq": gptq.open_checkpoint,
              "compressed-tensors": compressed_tensors.open_checkpoint}[kind]
    return reader(folder)


def export(ckpt: Checkpoint, fmt: str, out: str | Path, *, overwrite: bool = False,
           max_shard_bytes: int | None = None, progress=None) -> Path:
    """Write ``ckpt`` as ``fmt`` (one of :data:`EXPORT_FORMATS`) into ``out``, atomically."""
    from . import compressed_tensors, gptq, marlin

    writers = {"marlin": marlin.write_from_checkpoint, "gptq": gptq.export,
               "compressed-tensors": compressed_tensors.export}
    if fmt not in writers:
        raise FormatError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    return writers[fmt](ckpt, out, overwrite=overwrite, max_shard_bytes=max_shard_bytes, progress=progress)

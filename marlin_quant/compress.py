"""``compress``: a Hugging Face checkpoint (or the bundled SmolLM2-135M) -> a native Marlin directory.

The one place where the pieces meet: models (load), calibration (samples), pipeline (GPTQ),
formats.marlin (write). The CLI's ``compress`` command is a thin layer over :func:`compress`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import __version__, models, packing
from .config import ConfigError, QuantConfig
from .formats import marlin
from .formats.io import check_output

# The bundled model's recipe when no --config is given: configs/smollm2-135m.yaml (group size 64,
# since hidden size 576 is not a multiple of 128), with fewer, shorter calibration samples so that
# the default run finishes in a few minutes on a 2-core CPU.
BUNDLED_RECIPE: dict[str, Any] = dict(wbits=4, groupsize=64, clip=True, act_order=True, true_sequential=True,
                                      damp=0.01, nsamples=32, seqlen=256, dataset="stdlib", seed=0)


@dataclass
class CompressReport:
    out: str
    model: str
    config: dict[str, Any]
    device: str
    quantized_layers: int
    skipped: dict[str, str]
    seconds: float
    file_bytes: int
    source_bytes: int
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_output(source: models.ModelSource, config: QuantConfig) -> Path:
    stem = Path(source.gguf_file).stem if source.gguf_file else source.path.name
    stem = stem.split(".")[0] if source.gguf_file else stem
    suffix = "fp16" if not config.enabled else f"marlin-w4-g{config.groupsize}"
    return Path(f"{stem}-{suffix}")


def check_groupsize(model, config: QuantConfig) -> None:
    """k not divisible by the group size is a choice the user must change (unlike a shape the
    kernel cannot run at all, which leaves that layer in full precision)."""
    if not config.enabled or config.groupsize == -1:
        return
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and ".layers." in name:
            k, n = mod.in_features, mod.out_features
            if k % packing.SHAPE_MULTIPLE == 0 and n % packing.SHAPE_MULTIPLE == 0 and k % config.groupsize:
                fits = [g for g in (128, 64, 32) if k % g == 0]
                raise ConfigError(
                    f"{name} has k={k} inputs, not divisible by group size {config.groupsize}; use "
                    f"--groupsize {fits[0] if fits else -1} (a divisor of {k}) or -1 for per-channel scales"
                )


def load_tokenizer(source: models.ModelSource):
    try:
        return models.load_tokenizer(source)
    except Exception as exc:  # transformers raises ValueError/OSError/... for a missing tokenizer
        raise models.ModelError(
            f"cannot load the tokenizer of {source.path} ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "copy the tokenizer files (tokenizer.json, tokenizer_config.json, ...) of the original checkpoint "
            "into that directory"
        ) from None


def provenance(source: models.ModelSource, config: QuantConfig, nsamples_used: int | None) -> dict[str, Any]:
    # No timestamps or host names: the same inputs and seed must give byte-identical files.
    return {
        "tool": "marlin-quant",
        "tool_version": __version__,
        "model": source.description or str(source.path),
        "method": config.method,
        "wbits": config.wbits,
        "group_size": config.groupsize,
        "dataset": str(config.dataset),
        "nsamples": nsamples_used if nsamples_used is not None else config.nsamples,
        "seqlen": config.seqlen,
        "seed": config.seed,
        "damp": config.damp,
        "clip": config.clip,
        "clip_min": config.clip_min,
        "clip_metric": config.clip_metric,
        "act_order": config.act_order,
        "true_sequential": config.true_sequential,
    }


def compress(model_dir: str | Path | None, config: QuantConfig, out: str | Path | None = None,
             device: str | None = None, overwrite: bool = False, progress: bool = True,
             max_shard_bytes: int | None = None, log=print, resume: bool = False) -> CompressReport:
    """Compress ``model_dir`` (None: the bundled SmolLM2-135M) as ``config`` says into ``out``.

    ``config.wbits == 16`` writes a full-precision copy (the baseline). Nothing is left at ``out``
    unless the whole run succeeds. Each finished decoder layer is checkpointed in the hidden work
    directory ``.NAME.partial`` beside ``out`` (:mod:`marlin_quant.resume`); after an interruption
    ``resume=True`` continues from there (same model, config, seed and samples; any device) and
    writes the same bytes an uninterrupted run would. Without ``resume`` such checkpoints are
    refused by name, or discarded with ``overwrite``. Raises ModelError, ConfigError,
    CalibrationError, PipelineError (OutOfMemoryError among them), ResumeError or FormatError with
    a message that says what to change.
    """
    from . import calibration, pipeline, resume as resume_mod

    t0 = time.perf_counter()
    config.validate()
    source = models.resolve(model_dir)
    out = Path(out) if out is not None else default_output(source, config)
    check_output(out, overwrite)
    dev = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked but no CUDA GPU is visible; use --device cpu")
    work = None  # opened inside the try, so that an interrupt right after it still cleans up
    try:
        work = resume_mod.open_work_dir(out, resume=resume, overwrite=overwrite, log=log)
        source_files = resume_mod.source_fingerprint(source.path, source.gguf_file)
        log(f"loading {source.description or source.path}")
        # fp32 on CPU: GGUF weights load best in fp32, and CPU matmuls in fp16 are slow.
        model = models.load_model(source, dtype=torch.float32 if dev.type == "cpu" else torch.float16)
        source_bytes = sum(p.numel() * 2 for p in model.parameters())
        check_groupsize(model, config)
        tokenizer = load_tokenizer(source)
        prov = provenance(source, config, None)
        stats: dict[str, Any] = {}
        if not config.enabled:
            work.bind(resume_mod.run_fingerprint(source_files, config.to_dict(), None), 0)
            result_layers: dict = {}
            skipped: dict = {}
            marlin.save_full_precision(model, out, provenance=prov, tokenizer=tokenizer, overwrite=overwrite,
                                       max_shard_bytes=max_shard_bytes, dtype=torch.float16, staging=work.staging)
        else:
            samples = None
            if config.method == "gptq":
                log(f"calibration: {config.nsamples} samples of up to {config.seqlen} tokens from {config.dataset}")
                samples = calibration.calibration_samples(config.dataset, tokenizer, config.nsamples, config.seqlen,
                                                          config.seed, config.min_tokens)
            work.bind(resume_mod.run_fingerprint(source_files, config.to_dict(),
                                                 resume_mod.samples_fingerprint(samples)),
                      len(pipeline.decoder_layers(model)))
            result = pipeline.quantize_model(model, samples, config, device=dev, progress=progress, store=work)
            result_layers, skipped, stats = result.layers, result.skipped, result.stats
            prov = provenance(source, config, len(samples) if samples is not None else 0)
            marlin.save(model, result_layers, out, groupsize=config.groupsize, provenance=prov, tokenizer=tokenizer,
                        overwrite=overwrite, max_shard_bytes=max_shard_bytes, dtype=torch.float16,
                        staging=work.staging)
    except pipeline.OutOfMemoryError as exc:
        done = _keep_or_remove(work)
        raise pipeline.OutOfMemoryError(f"{exc}; {_resume_hint(work, done)}", exc.layer_index, exc.where) from None
    except resume_mod.ResumeError:
        if work is not None:
            work.release()  # refused to continue: the interrupted run's checkpoints stay as they were
        raise
    except BaseException:
        if work is not None:
            done = _keep_or_remove(work)
            if done:
                log(_resume_hint(work, done))
        raise
    work.remove()  # the output is in place: the checkpoints have served
    file_bytes = sum(p.stat().st_size for p in out.iterdir() if p.suffix == ".safetensors")
    return CompressReport(str(out), source.description or str(source.path), config.to_dict(), str(dev),
                          len(result_layers), dict(skipped), time.perf_counter() - t0, file_bytes, source_bytes,
                          {k: v for k, v in stats.items() if k != "per_layer"})


def _keep_or_remove(work) -> int:
    """After a failure: keep the work directory if it holds finished layers (returns how many),
    else remove it."""
    done = work.finished() if work.state() is not None else 0
    if done:
        work.release()
    else:
        work.remove()
    return done


def _resume_hint(work, done: int) -> str:
    total = work.total_layers()
    if total is not None and done >= total:
        return (f"all {done} decoder layers are finished and kept in {work.path}: run the same command again "
                "with --resume to write the output from them")
    nxt = f"model.layers.{done}" + (f" (of {total})" if total else "")
    return (f"the {done} finished decoder layers are kept in {work.path}: run the same command again with "
            f"--resume (on another --device if need be) to continue from {nxt}, or with --overwrite to start over")

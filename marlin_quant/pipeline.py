"""Layer-by-layer compression of a Hugging Face decoder-only model (Llama, Mistral, Qwen2, SmolLM).

:func:`quantize_model` walks ``model.model.layers`` one decoder layer at a time: only that layer
(and the calibration activations) lives on the compute device, the rest stays on the CPU. For each
layer it collects the input Hessian of every projection with forward hooks, solves GPTQ for the
projections that share an input together (q/k/v, gate/up), writes the quantized-dequantized
weights back into the model, and runs the layer again so that the next layer is calibrated on
the outputs of the quantized one.

Calibration samples may differ in length; samples of equal length are batched together (at most
``config.batch_tokens`` tokens per batch) and never padded, so no attention mask is involved. The
keyword arguments the model passes to its decoder layers (rotary ``position_embeddings``,
``position_ids``, masks...) are captured with the layer-0 inputs and replayed for every layer.

The model is modified in place (its projections hold the dequantized 4-bit weights afterwards);
the returned :class:`QuantizedModel` holds the codes and scales to pack for the kernel.

An optional :class:`LayerStore` receives a :class:`LayerRecord` after each decoder layer (its
codes and scales, and the outputs that feed the next layer); given a store that already holds
the first layers, :func:`quantize_model` restores them and continues after them, with exactly the
values an uninterrupted run would have had (see :mod:`marlin_quant.resume`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from . import gptq, packing
from .config import QuantConfig

log = logging.getLogger(__name__)

ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")
# Projections that read the same input, in the order the layer calls them.
SHARED_INPUT = (("q_proj", "k_proj", "v_proj"), ("o_proj",), ("gate_proj", "up_proj"), ("down_proj",))


class PipelineError(RuntimeError):
    """The model cannot be compressed as asked; the message names the layer and the cause."""


class OutOfMemoryError(PipelineError):
    """The compute device ran out of memory; the message names the layer, the step and the sizes.

    Attributes:
        layer_index: the decoder layer being quantized (None while capturing layer-0 inputs);
            the layers before it are finished (and in the :class:`LayerStore`, if one was given).
        where: the step, e.g. ``model.layers.17.mlp.down_proj (GPTQ solve)``.
    """

    def __init__(self, message: str, layer_index: int | None, where: str) -> None:
        super().__init__(message)
        self.layer_index = layer_index
        self.where = where


@dataclass
class QuantizedLayer:
    """One quantized projection.

    Attributes:
        codes: uint8 (in_features, out_features), values 0..15 (see :mod:`marlin_quant.packing`).
        scales: fp16 (in_features // groupsize, out_features), or (1, out_features).
        groupsize: 32, 64, 128 or -1.
        error: mean over calibration tokens of the squared output error, summed over outputs
            (NaN for round-to-nearest without calibration data).
        rel_error: ``error`` relative to the mean squared output of the full-precision layer.
        damp: damping used, as a fraction of the mean Hessian diagonal (0 for round-to-nearest).
    """

    codes: torch.Tensor
    scales: torch.Tensor
    groupsize: int
    error: float
    rel_error: float
    damp: float


@dataclass
class QuantizedModel:
    """Result of :func:`quantize_model`.

    Attributes:
        layers: full module name (``model.layers.0.self_attn.q_proj``) -> its quantized layer.
        skipped: full module name -> why it stays in full precision.
        config: the configuration used.
        stats: ``total_seconds``, ``tokens``, ``nsamples``, ``peak_gpu_bytes`` (None on CPU) and
            ``per_layer``: for each decoder layer the seconds spent in ``forward``, ``hessian``,
            ``solve`` (without the clip search) and ``clip``, and its mean ``rel_error``.
    """

    layers: dict[str, QuantizedLayer]
    skipped: dict[str, str]
    config: QuantConfig
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class LayerRecord:
    """What one finished decoder layer leaves behind: enough to continue after it exactly.

    Attributes:
        index: the decoder layer (``model.layers.<index>``).
        layers: its quantized projections (full module name -> :class:`QuantizedLayer`).
        skipped: its projections kept in full precision, and why.
        stats: its entry of ``QuantizedModel.stats["per_layer"]``.
        outputs: the layer's outputs on every calibration batch, on the CPU, in batch order (the
            inputs of the next layer); None for round-to-nearest, which runs no data.
    """

    index: int
    layers: dict[str, QuantizedLayer]
    skipped: dict[str, str]
    stats: dict[str, float]
    outputs: list[torch.Tensor] | None


class LayerStore(Protocol):
    """Where :func:`quantize_model` keeps finished decoder layers, so that a run can continue."""

    def finished(self) -> int:
        """How many leading decoder layers (0, 1, ...) are stored."""

    def load(self, index: int, with_outputs: bool) -> LayerRecord:
        """The record of layer ``index`` (``outputs`` only read when ``with_outputs``)."""

    def save(self, record: LayerRecord) -> None:
        """Keep ``record``; when this returns, ``finished()`` counts it (written atomically)."""


_OOM_ASKED = re.compile(r"Tried to allocate ([0-9.]+ [KMGT]?i?B)")
_OOM_FREE = re.compile(r"of which ([0-9.]+ [KMGT]?i?B) is free")


def _gib(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB"


def _out_of_memory(exc: BaseException, where: str, index: int | None, device: torch.device) -> OutOfMemoryError:
    """Our error for an out-of-memory at ``where``: the sizes torch reported (its message says
    how much one allocation asked for and how much was free), else what the device says now."""
    text = str(exc)
    asked = _OOM_ASKED.search(text)
    free = _OOM_FREE.search(text)
    facts = []
    if asked:
        facts.append(f"it tried to allocate {asked.group(1)}")
    if free:
        facts.append(f"{free.group(1)} was free")
    elif device.type == "cuda" and torch.cuda.is_available():
        with contextlib.suppress(Exception):  # the device may be unusable after the fault
            free_b, total_b = torch.cuda.mem_get_info(device)
            facts.append(f"{_gib(free_b)} of {_gib(total_b)} is free on {device} now")
    detail = f" ({'; '.join(facts)})" if facts else ""
    what = "the GPU" if device.type == "cuda" else str(device)
    return OutOfMemoryError(
        f"{where}: {what} ran out of memory{detail}. Free memory on it (other processes), lower "
        "--nsamples or --seqlen (fewer calibration tokens per layer) or the batch (batch_tokens in the "
        "--config recipe)" + (", or run with --device cpu" if device.type == "cuda" else ""),
        index, where,
    )


class _Caught(Exception):
    def __init__(self, args: tuple, kwargs: dict) -> None:
        super().__init__("layer-0 input captured")
        self.args_ = args
        self.kwargs = kwargs


class _Stop(Exception):
    """Raised by the last Hessian hook a pass needs: the rest of the layer need not run."""


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """``model.model.layers``, after checking that every layer has the projections we quantize."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        raise PipelineError(
            f"{type(model).__name__} has no model.model.layers; supported are decoder-only "
            "Llama-family models (Llama, Mistral, Qwen2, SmolLM)"
        )
    for i, layer in enumerate(layers):
        for name in ATTN + MLP:
            if not isinstance(_projection(layer, name), nn.Linear):
                raise PipelineError(
                    f"model.layers.{i} has no nn.Linear {_path(name)}; supported layers have "
                    "self_attn.{q,k,v,o}_proj and mlp.{gate,up,down}_proj"
                )
    return layers


def _path(name: str) -> str:
    return f"self_attn.{name}" if name in ATTN else f"mlp.{name}"


def _projection(layer: nn.Module, name: str) -> nn.Module | None:
    parent = getattr(layer, "self_attn" if name in ATTN else "mlp", None)
    return getattr(parent, name, None)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _batches(samples: list[torch.Tensor], batch_tokens: int) -> list[torch.Tensor]:
    """Stack samples of equal length into batches of at most ``batch_tokens`` tokens."""
    by_length: dict[int, list[torch.Tensor]] = {}
    for s in samples:
        ids = s.reshape(1, -1) if s.dim() == 1 else s
        if ids.dim() != 2 or ids.shape[0] != 1:
            raise PipelineError(f"each calibration sample must be a (1, length) token tensor, got {tuple(s.shape)}")
        by_length.setdefault(ids.shape[1], []).append(ids)
    out = []
    for length in sorted(by_length):
        group = by_length[length]
        per = max(1, batch_tokens // length)
        for i in range(0, len(group), per):
            out.append(torch.cat(group[i:i + per]))
    return out


def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, tuple):
        return tuple(_to(o, device) for o in obj)
    if isinstance(obj, list):
        return [_to(o, device) for o in obj]
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj


def _hidden(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out


def _capture_inputs(model: nn.Module, batches: list[torch.Tensor], device: torch.device,
                    layers: nn.ModuleList) -> list[tuple[torch.Tensor, tuple, dict]]:
    """Run the embeddings on each batch and keep what layer 0 receives (hidden, args, kwargs)."""
    inner = model.model
    others = [m for name, m in inner.named_children() if name != "layers"]
    for m in others:
        m.to(device)

    def catch(module, args, kwargs):
        raise _Caught(args, dict(kwargs))

    handle = layers[0].register_forward_pre_hook(catch, with_kwargs=True)
    cache = []
    try:
        for ids in batches:
            try:
                inner(input_ids=ids.to(device), use_cache=False)
            except _Caught as c:
                args, kwargs = c.args_, c.kwargs
                hidden = args[0] if args else kwargs.pop("hidden_states")
                cache.append((hidden, tuple(args[1:]), kwargs))
            else:
                raise PipelineError("the model's forward never reached model.layers[0]")
    finally:
        handle.remove()
        for m in others:
            m.to("cpu")
    return cache


@contextlib.contextmanager
def _tf32_for_low_precision(dtype: torch.dtype):
    """fp16/bf16 values are exact in TF32 (10-bit mantissa), so X^T X from them loses nothing
    with TF32 tensor cores while accumulating in fp32."""
    if dtype not in (torch.float16, torch.bfloat16) or not torch.cuda.is_available():
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def _run_layer(layer: nn.Module, cache: list, device: torch.device) -> list[torch.Tensor]:
    outs = []
    for hidden, args, kwargs in cache:
        outs.append(_hidden(layer(hidden, *args, **kwargs)))
    return outs


def _collect_hessians(layer: nn.Module, sets: list[tuple[str, ...]], cache: list, device: torch.device,
                      prefix: str, timing: dict[str, float]) -> dict[tuple[str, ...], torch.Tensor]:
    """One pass over the calibration batches collecting ``X^T X / tokens`` for each input set."""
    hessians: dict[tuple[str, ...], torch.Tensor] = {}
    counts: dict[tuple[str, ...], int] = {}
    hook_seconds = [0.0]
    handles = []

    def make_hook(key: tuple[str, ...], last: bool):
        def hook(module, args):
            _sync(device)
            t = time.perf_counter()
            x = args[0].detach().reshape(-1, args[0].shape[-1])
            if not torch.isfinite(x).all():
                raise PipelineError(
                    f"{prefix}.{_path(key[0])}: its input holds NaN or Inf (activations overflowed); "
                    "load the model in bfloat16 or float32"
                )
            if key not in hessians:
                hessians[key] = torch.zeros((x.shape[1], x.shape[1]), device=x.device, dtype=torch.float32)
                counts[key] = 0
            with _tf32_for_low_precision(x.dtype):
                xf = x.float()
                hessians[key].addmm_(xf.t(), xf)
            counts[key] += x.shape[0]
            _sync(device)
            hook_seconds[0] += time.perf_counter() - t
            if last:
                raise _Stop
        return hook

    for j, key in enumerate(sets):
        handles.append(_projection(layer, key[0]).register_forward_pre_hook(make_hook(key, j == len(sets) - 1)))
    _sync(device)
    t0 = time.perf_counter()
    try:
        for hidden, args, kwargs in cache:
            try:
                layer(hidden, *args, **kwargs)
            except _Stop:
                pass
    finally:
        for h in handles:
            h.remove()
    _sync(device)
    total = time.perf_counter() - t0
    timing["hessian"] += hook_seconds[0]
    timing["forward"] += total - hook_seconds[0]
    for key in hessians:
        hessians[key] /= counts[key]
    return hessians


def _steps(true_sequential: bool) -> list[list[tuple[str, ...]]]:
    if true_sequential:
        return [[s] for s in SHARED_INPUT]
    return [list(SHARED_INPUT)]


def _quantizable(layer: nn.Module, names: tuple[str, ...], groupsize: int, prefix: str,
                 skipped: dict[str, str]) -> list[str]:
    ok = []
    for name in names:
        lin = _projection(layer, name)
        full = f"{prefix}.{_path(name)}"
        try:
            packing.check_shape(lin.in_features, lin.out_features, groupsize)
        except packing.PackingError as exc:
            skipped[full] = str(exc)
            continue
        ok.append(name)
    return ok


def _write_back(lin: nn.Linear, res: gptq.SolveResult, groupsize: int) -> None:
    w_hat = gptq.dequantize_weight(res.codes, res.scales, groupsize)
    lin.weight.data.copy_(w_hat.to(device=lin.weight.device, dtype=lin.weight.dtype))


def _record(out: dict[str, QuantizedLayer], full: str, res: gptq.SolveResult, groupsize: int,
            measured: bool) -> None:
    out[full] = QuantizedLayer(
        codes=res.codes.cpu(), scales=res.scales.cpu(), groupsize=groupsize,
        error=res.error if measured else math.nan, rel_error=res.rel_error if measured else math.nan,
        damp=res.damp,
    )


def _check_finite_weights(layer: nn.Module, prefix: str) -> None:
    for name in ATTN + MLP:
        if not torch.isfinite(_projection(layer, name).weight).all():
            raise PipelineError(f"{prefix}.{_path(name)}: the weight holds NaN or Inf; fix the checkpoint")


def _restore(model: nn.Module, record: LayerRecord, result: QuantizedModel) -> None:
    """Put a stored layer back: its dequantized weights into the model, its codes into ``result``."""
    for full, q in record.layers.items():
        lin = model.get_submodule(full)
        w_hat = gptq.dequantize_weight(q.codes, q.scales, q.groupsize)
        lin.weight.data.copy_(w_hat.to(device=lin.weight.device, dtype=lin.weight.dtype))
        result.layers[full] = q
    result.skipped.update(record.skipped)
    result.stats["per_layer"].append(dict(record.stats))


def _resume_cache(cache: list, outputs: list[torch.Tensor], index: int) -> list:
    """The captured layer-0 inputs with their hidden states replaced by the stored outputs of
    layer ``index`` (the replayed keyword arguments, rotary embeddings etc., are recomputed)."""
    if len(outputs) != len(cache) or any(o.shape != h.shape for o, (h, _, _) in zip(outputs, cache)):
        raise PipelineError(
            f"the stored outputs of model.layers.{index} do not match the calibration batches "
            f"({len(outputs)} stored, {len(cache)} now); the checkpoint belongs to another run, start over"
        )
    return [(o.to(device=h.device, dtype=h.dtype), args, kwargs) for o, (h, args, kwargs) in zip(outputs, cache)]


def quantize_model(model: nn.Module, samples: list[torch.Tensor] | None, config: QuantConfig,
                   device: str | torch.device | None = None, progress: bool = True,
                   store: LayerStore | None = None) -> QuantizedModel:
    """Quantize every decoder-layer projection of ``model`` in place.

    Args:
        model: a Hugging Face causal LM on the CPU (``model.model.layers[i]`` with
            ``self_attn.{q,k,v,o}_proj`` and ``mlp.{gate,up,down}_proj``), fp16, bf16 or fp32.
        samples: calibration token tensors, each (1, length) (see
            :func:`marlin_quant.calibration.calibration_samples`); unused for ``method="rtn"``.
        config: the recipe (:class:`marlin_quant.config.QuantConfig`).
        device: where each layer is computed; default CUDA when available, else CPU.
        progress: show a progress bar over layers (running error, time left).
        store: receives each finished layer; layers it already holds are restored, not redone.
            The caller vouches that they come from the same model, samples and config.

    Returns:
        A :class:`QuantizedModel`; the model's projections now hold the dequantized weights, and
        layers whose shape the kernel cannot run are left as they were (listed in ``skipped``).

    Raises:
        OutOfMemoryError: the device ran out of memory; names the layer and step. The layers
            before it are in ``store``; the model is left partly quantized (load it again to
            continue).
        PipelineError: a model or data problem, naming the layer.
    """
    t_start = time.perf_counter()
    layers = decoder_layers(model)
    device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    result = QuantizedModel(layers={}, skipped={}, config=config,
                            stats={"per_layer": [], "nsamples": 0, "tokens": 0, "peak_gpu_bytes": None})
    if not config.enabled:
        log.info("wbits=16: the model is left in full precision")
        return result
    torch.manual_seed(config.seed)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    use_gptq = config.method == "gptq"
    start = store.finished() if store is not None else 0
    if start > len(layers):
        raise PipelineError(f"the store holds {start} layers but the model has {len(layers)}; it belongs to another model")
    last = None
    for i in range(start):
        last = store.load(i, with_outputs=use_gptq and i == start - 1)
        _restore(model, last, result)
    if start:
        log.info("restored %d of %d finished layers; continuing at model.layers.%d", start, len(layers), start)
    cache: list = []
    if use_gptq:
        if not samples:
            raise PipelineError("method='gptq' needs calibration samples (or use method='rtn')")
        batches = _batches(samples, config.batch_tokens)
        result.stats["nsamples"] = len(samples)
        result.stats["tokens"] = int(sum(s.numel() for s in samples))
        if start < len(layers):
            try:
                with torch.no_grad():
                    cache = _capture_inputs(model, batches, device, layers)
            except torch.cuda.OutOfMemoryError as exc:
                raise _out_of_memory(exc, "capturing the calibration inputs of model.layers.0 (embeddings)",
                                     None, device) from None
            if start:
                cache = _resume_cache(cache, last.outputs, start - 1)
    clip_grid = config.clip_grid() if config.clip else None

    from tqdm.auto import tqdm

    bar = tqdm(range(start, len(layers)), desc=f"{config.method} {config.wbits}-bit g{config.groupsize}",
               unit="layer", disable=not progress, initial=start, total=len(layers))
    for i in bar:
        prefix = f"model.layers.{i}"
        timing = {"forward": 0.0, "hessian": 0.0, "solve": 0.0, "clip": 0.0}
        quantized: dict[str, QuantizedLayer] = {}
        skipped: dict[str, str] = {}
        layer_errors = []
        where = f"{prefix} (moving it to {device})"
        try:
            layer = layers[i].to(device)
            _check_finite_weights(layer, prefix)
            with torch.no_grad():
                for step in _steps(config.true_sequential and use_gptq):
                    sets = [(s, _quantizable(layer, s, config.groupsize, prefix, skipped)) for s in step]
                    sets = [(s, ok) for s, ok in sets if ok]
                    if not sets:
                        continue
                    where = f"{prefix}.{_path(sets[0][1][0])} (collecting input Hessians)"
                    hessians = (_collect_hessians(layer, [s for s, _ in sets], cache, device, prefix, timing)
                                if use_gptq else {})
                    for key, names in sets:
                        lins = [_projection(layer, n) for n in names]
                        weight = torch.cat([lin.weight.detach() for lin in lins]) if len(lins) > 1 else lins[0].weight.detach()
                        label = f"{prefix}.{_path(names[0])}" + (f"+{len(names) - 1}" if len(names) > 1 else "")
                        where = f"{prefix}.{_path(names[0])} ({'GPTQ solve' if use_gptq else 'rounding'}"
                        where += f" of {', '.join(names)})" if len(names) > 1 else ")"
                        _sync(device)
                        t = time.perf_counter()
                        if use_gptq:
                            res = gptq.gptq_quantize(
                                weight, hessians.pop(key), config.groupsize, act_order=config.act_order,
                                clip_grid=clip_grid, clip_metric=config.clip_metric, damp=config.damp,
                                blocksize=config.blocksize, name=label)
                            if res.damp > config.damp:
                                log.warning("%s: quantized with damping %.4g (asked %.4g)", label, res.damp, config.damp)
                        else:
                            res = gptq.rtn_quantize(weight.to(device), config.groupsize, name=label)
                        _sync(device)
                        elapsed = time.perf_counter() - t
                        timing["clip"] += res.clip_seconds
                        timing["solve"] += elapsed - res.clip_seconds
                        parts = res.split([lin.out_features for lin in lins]) if len(lins) > 1 else [res]
                        for name, lin, part in zip(names, lins, parts):
                            _write_back(lin, part, config.groupsize)
                            _record(quantized, f"{prefix}.{_path(name)}", part, config.groupsize, use_gptq)
                            if use_gptq:
                                layer_errors.append(part.rel_error)
                if use_gptq:
                    where = f"{prefix} (forward pass: the next layer's inputs)"
                    _sync(device)
                    t = time.perf_counter()
                    outs = _run_layer(layer, cache, device)
                    _sync(device)
                    timing["forward"] += time.perf_counter() - t
                    for out in outs:
                        if not torch.isfinite(out).all():
                            raise PipelineError(
                                f"{prefix}: its output holds NaN or Inf after quantization; load the model in "
                                "bfloat16 or float32, or use a larger damp"
                            )
                    cache = [(o, args, kwargs) for o, (_, args, kwargs) in zip(outs, cache)]
            layers[i] = layer.to("cpu")
        except torch.cuda.OutOfMemoryError as exc:
            raise _out_of_memory(exc, where, i, device) from None
        mean_err = sum(layer_errors) / len(layer_errors) if layer_errors else math.nan
        stats = {**timing, "rel_error": mean_err}
        result.layers.update(quantized)
        result.skipped.update(skipped)
        result.stats["per_layer"].append(stats)
        if store is not None:
            store.save(LayerRecord(i, quantized, skipped, stats,
                                   [h.cpu() for h, _, _ in cache] if use_gptq else None))
        if use_gptq:
            bar.set_postfix(rel_err=f"{mean_err:.2e}")
        log.debug("%s: rel. error %.3e, %s", prefix, mean_err,
                  ", ".join(f"{k} {v:.2f}s" for k, v in timing.items()))
    del cache
    if result.skipped:
        log.warning("kept in full precision (shape the kernel cannot run): %s", ", ".join(result.skipped))
    result.stats["total_seconds"] = time.perf_counter() - t_start
    if device.type == "cuda":
        result.stats["peak_gpu_bytes"] = int(torch.cuda.max_memory_allocated(device))
    return result


def replace_with_marlin(model: nn.Module, result: QuantizedModel) -> int:
    """Swap every projection named in ``result.layers`` for a :class:`marlin_quant.nn.MarlinLinear`
    holding its packed codes and scales (kernel on CUDA, reference on CPU); returns how many."""
    from .nn import MarlinLinear

    count = 0
    for name, q in result.layers.items():
        parent_name, child = name.rsplit(".", 1)
        parent = model.get_submodule(parent_name)
        linear = getattr(parent, child)
        if not isinstance(linear, nn.Linear):
            raise PipelineError(f"{name} is a {type(linear).__name__}, not an nn.Linear: already replaced?")
        setattr(parent, child, MarlinLinear.from_linear(linear, q.codes, q.scales, q.groupsize))
        count += 1
    return count

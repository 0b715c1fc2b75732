"""The ``marlin-quant`` command line: parse, call the library, print.

Exit codes: 0 success, 1 runtime error (a one-paragraph message on stderr, no traceback unless
``--debug``), 2 bad usage, 130 interrupted. With ``--json`` a command prints one JSON object on
stdout and nothing else there (progress and notes go to stderr).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="marlin-quant",
    help="Compress Llama-family Hugging Face models to 4 bits (GPTQ + clipping) and run them on the "
    "bundled Marlin FP16xINT4 kernel; export to GPTQ and compressed-tensors for vLLM and transformers.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)
_state = {"debug": os.environ.get("MARLIN_QUANT_DEBUG") == "1"}


class UsageError(Exception):
    """Bad usage found after parsing (exit 2)."""


def _usage_errors() -> tuple[type[BaseException], ...]:
    from marlin_quant.config import ConfigError

    return (UsageError, ConfigError)


def _runtime_errors() -> tuple[type[BaseException], ...]:
    from marlin_quant.calibration import CalibrationError
    from marlin_quant.formats.io import FormatError
    from marlin_quant.models import ModelError
    from marlin_quant.ops import KernelUnavailableError
    from marlin_quant.packing import PackingError
    from marlin_quant.pipeline import PipelineError
    from marlin_quant.resume import ResumeError

    return (FormatError, ModelError, CalibrationError, PipelineError, PackingError, KernelUnavailableError,
            ResumeError, OSError)


@contextlib.contextmanager
def _errors():
    """Turn the library's errors into one paragraph on stderr and the right exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        err.print("[red]interrupted[/red]: stopped before finishing; no output directory was left behind")
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - every error ends here, classified
        if _state["debug"]:
            err.print_exception(show_locals=False)
        if isinstance(exc, _usage_errors()):
            err.print(f"[red]error[/red]: {exc}", markup=True)
            raise typer.Exit(2) from None
        if isinstance(exc, _runtime_errors()):
            err.print(f"[red]error[/red]: {exc}")
            raise typer.Exit(1) from None
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):  # outside compress's layer loop (which names the layer)
            err.print(f"[red]error[/red]: the GPU ran out of memory ({exc}). Free GPU memory, or run with --device cpu")
            raise typer.Exit(1) from None
        err.print(
            f"[red]error[/red]: unexpected {type(exc).__name__}: {exc}. This is a bug in marlin-quant; run the same "
            "command with --debug for the traceback and report it"
        )
        raise typer.Exit(1) from None


def _emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _parse_size(text: str) -> int:
    units = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
    t = text.strip().upper()
    num = t.rstrip("KMGTB")
    unit = t[len(num):]
    try:
        value = float(num)
    except ValueError:
        raise UsageError(f"--max-shard-size {text!r} is not a size; write it like 2GB or 500MB") from None
    if unit not in units or value <= 0:
        raise UsageError(f"--max-shard-size {text!r} is not a size; write it like 2GB or 500MB")
    return int(value * units[unit])


def _kv_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for k, v in rows:
        table.add_row(k, str(v))
    return table


def _progress(disable: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, disable=disable, transient=True)


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks on errors.")) -> None:
    _state["debug"] = debug or os.environ.get("MARLIN_QUANT_DEBUG") == "1"


# ----------------------------------------------------------------------------- compress

@app.command()
def compress(
    model_dir: Optional[Path] = typer.Argument(
        None, help="Hugging Face checkpoint directory (config.json + safetensors, or a .gguf). Omit it to "
        "compress the bundled SmolLM2-135M with the built-in offline text."),
    wbits: Optional[int] = typer.Option(None, "--wbits", help="4 to quantize; 16 writes a full-precision copy (a baseline)."),
    groupsize: Optional[int] = typer.Option(None, "--groupsize", help="Inputs per scale: 32, 64, 128, or -1 for one scale per output channel."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Calibration text: 'stdlib' (built in, offline), a .txt file, a folder of .txt files, a .jsonl file with a 'text' field, or a Hub name (redpajama, c4, wikitext2; needs network)."),
    nsamples: Optional[int] = typer.Option(None, "--nsamples", help="Number of calibration samples."),
    seqlen: Optional[int] = typer.Option(None, "--seqlen", help="Tokens per calibration sample (shorter documents are taken whole)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for sampling; the same inputs and seed give byte-identical files."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output directory (default: <model>-marlin-w4-g<G> in the current directory)."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML recipe (e.g. configs/llama2-7b.yaml); flags given on the command line win over it."),
    method: Optional[str] = typer.Option(None, "--method", help="'gptq' (default, uses calibration) or 'rtn' (round-to-nearest, no calibration)."),
    act_order: Optional[bool] = typer.Option(None, "--act-order/--no-act-order", help="Solve columns in order of decreasing Hessian diagonal (the file keeps the plain grouped layout)."),
    clip: Optional[bool] = typer.Option(None, "--clip/--no-clip", help="Search each group's scale to minimise the Hessian-weighted error (on by default)."),
    damp: Optional[float] = typer.Option(None, "--damp", help="Hessian damping, as a fraction of its mean diagonal."),
    device: Optional[str] = typer.Option(None, "--device", help="Where layers are solved: cuda or cpu (default: cuda when present)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output directory if it exists, and discard the checkpoints of an interrupted run for it."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run for the same --out from its last finished layer (same model, recipe and seed; the --device may differ). The output is byte-identical to an uninterrupted run."),
    max_shard_size: str = typer.Option("2GB", "--max-shard-size", help="Split the weights into files of at most this size (e.g. 2GB, 500MB)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Compress a model to 4 bits and write a Marlin-packed directory (runs the GPTQ pipeline)."""
    with _errors():
        from marlin_quant.compress import BUNDLED_RECIPE, compress as run_compress
        from marlin_quant.config import QuantConfig

        if device not in (None, "cpu", "cuda") and not str(device).startswith("cuda:"):
            raise UsageError(f"--device {device!r} is not cuda or cpu")
        if method not in (None, "gptq", "rtn"):
            raise UsageError(f"--method {method!r} is not 'gptq' or 'rtn'")
        flags = dict(wbits=wbits, groupsize=groupsize, dataset=dataset, nsamples=nsamples, seqlen=seqlen,
                     seed=seed, method=method, act_order=act_order, clip=clip, damp=damp)
        given = {k: v for k, v in flags.items() if v is not None}
        if config is not None:
            base = QuantConfig.from_yaml(config)
            recipe = str(config)
        elif model_dir is None:
            base = QuantConfig(**BUNDLED_RECIPE)
            recipe = "built-in SmolLM2-135M recipe"
        else:
            base = QuantConfig()
            recipe = "defaults"
        cfg = base.replace(**given) if given else base
        shard = _parse_size(max_shard_size)
        c = cfg
        calib = (f"{c.nsamples} x {c.seqlen} tokens from {c.dataset}, seed {c.seed}" if c.method == "gptq"
                 else "none (round-to-nearest)")
        err.print(f"recipe: {recipe}; wbits {c.wbits}, group size {c.groupsize}, method {c.method}, "
                  f"clip {c.clip}, act-order {c.act_order}, damp {c.damp}; calibration: {calib}")
        if resume and overwrite:
            raise UsageError("--resume continues an interrupted run and --overwrite starts over; pass one of them")
        report = run_compress(model_dir, cfg, out=out_dir, device=device, overwrite=overwrite, progress=True,
                              max_shard_bytes=shard, log=lambda msg: err.print(msg), resume=resume)
    if as_json:
        _emit_json(report.to_dict())
        return
    rows = [
        ("model", report.model),
        ("output", report.out),
        ("bits / group size", f"{c.wbits} / {c.groupsize}" if c.enabled else "16 (full precision copy)"),
        ("calibration", calib if c.enabled else "none"),
        ("quantized layers", report.quantized_layers),
        ("kept in full precision", ", ".join(report.skipped) or "none (besides embeddings and lm_head)"),
        ("size", f"{_human_bytes(report.file_bytes)} (fp16: {_human_bytes(report.source_bytes)})"),
        ("device", report.device),
        ("time", f"{report.seconds:.1f} s"),
    ]
    out.print(_kv_table("compressed", rows))
    out.print(f"next: marlin-quant ppl {report.out}   |   marlin-quant export {report.out} --format gptq --out {report.out}-gptq")


# ----------------------------------------------------------------------------- ppl

def _eval_text(dataset: Optional[str]) -> tuple[str, str]:
    from marlin_quant import calibration

    if dataset is None:
        return calibration.evaluation_text()
    if dataset == "stdlib":  # the held-out part: never the documents compress calibrates on
        return "stdlib docstrings (held out)", "\n\n".join(calibration.stdlib_documents("evaluation"))
    docs = calibration.load_documents(dataset)
    return str(dataset), "\n\n".join(docs)


def _pick_device(device: Optional[str]):
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise UsageError(f"--device {device!r} is not cuda or cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked but no CUDA GPU is visible; use --device cpu")
    return torch.device(device)


def _load_any(path: Optional[Path], dev, show: bool):
    """(model, tokenizer, description of the compute path) for a directory or the bundled model."""
    import torch

    from marlin_quant import formats, load, models

    if path is None:
        source = models.resolve(None)
        model = models.load_model(source, dtype=torch.float32 if dev.type == "cpu" else torch.float16, device=dev)
        return model, models.load_tokenizer(source), "full precision (torch), bundled SmolLM2-135M"
    kind = formats.detect(path) if (Path(path) / "config.json").exists() else "full-precision"
    source = models.resolve(path) if kind == "full-precision" else models.ModelSource(Path(path))
    if kind != "full-precision" and dev.type == "cuda":
        from marlin_quant import ops

        if not ops.kernel_available():
            raise ops.KernelUnavailableError(
                "a GPU is present but the Marlin kernel library is not built or cannot run on it; build it with "
                "`python scripts/build_kernels.py`, or pass --device cpu for the reference path")
    with _progress(disable=not show) as bar:
        task = bar.add_task("loading", total=None)
        model = load(path, device=dev, progress=lambda done, total: bar.update(task, completed=done, total=total))
    tokenizer = models.load_tokenizer(source)
    if kind == "full-precision":
        how = "full precision (torch)"
    elif dev.type == "cuda":
        how = f"{kind} checkpoint through the Marlin CUDA kernel"
    else:
        how = f"{kind} checkpoint through the CPU reference path (fp32 dequantize + matmul)"
    return model, tokenizer, how


@app.command()
def ppl(
    path: Optional[Path] = typer.Argument(None, help="A full-precision or quantized directory (marlin, gptq or compressed-tensors). Omit it for the bundled SmolLM2-135M in full precision."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Text to evaluate: a .txt file, a folder of .txt files, a .jsonl file, 'stdlib' (the held-out standard-library docstrings, never used for calibration), or a Hub name. Default: the license texts in /usr/share/common-licenses (else Python's LICENSE)."),
    seqlen: int = typer.Option(2048, "--seqlen", min=2, help="Tokens per non-overlapping window."),
    max_windows: Optional[int] = typer.Option(None, "--max-windows", min=1, help="Evaluate only the first W windows (default: all)."),
    device: Optional[str] = typer.Option(None, "--device", help="cuda (the Marlin kernel) or cpu (the reference path); default cuda when present."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Perplexity over non-overlapping windows; on a GPU through the Marlin kernel, on CPU through the reference path."""
    import time

    with _errors():
        from marlin_quant import evaluate

        dev = _pick_device(device)
        model, tokenizer, how = _load_any(path, dev, show=not as_json)
        text_name, text = _eval_text(dataset)
        ids = evaluate.tokenize(tokenizer, text)
        windows = ids.shape[1] // seqlen
        if max_windows is not None:
            windows = min(windows, max_windows)
        if windows < 1:
            raise UsageError(f"the text has {ids.shape[1]} tokens, fewer than one window of --seqlen {seqlen}; "
                             "lower --seqlen or pass a longer --dataset")
        err.print(f"evaluating on {dev}: {how}; {windows} windows of {seqlen} tokens from {text_name}")
        t0 = time.perf_counter()
        with err.status("computing perplexity", spinner="dots") if not as_json else contextlib.nullcontext():
            value = evaluate.perplexity(model, ids, seqlen=seqlen, max_windows=windows, device=dev)
        seconds = time.perf_counter() - t0
    payload = {"path": str(path) if path else "bundled", "perplexity": value, "seqlen": seqlen, "windows": windows,
               "tokens": windows * seqlen, "text": text_name, "device": str(dev), "compute_path": how,
               "seconds": seconds}
    if as_json:
        _emit_json(payload)
        return
    out.print(_kv_table("perplexity", [
        ("model", payload["path"]), ("perplexity", f"{value:.4f}"), ("compute path", how),
        ("text", f"{text_name} ({windows} windows x {seqlen} tokens)"), ("time", f"{seconds:.1f} s"),
    ]))


# ----------------------------------------------------------------------------- export

@app.command()
def export(
    quant_dir: Path = typer.Argument(..., help="A quantized directory written by `marlin-quant compress` (or a gptq / compressed-tensors one)."),
    fmt: str = typer.Option(..., "--format", help="gptq (transformers/optimum, vLLM), compressed-tensors (pack-quantized W4A16, llm-compressor/vLLM) or marlin (native, re-sharded)."),
    out_dir: Path = typer.Option(..., "--out", help="Output directory (must not exist unless --overwrite)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output directory if it exists."),
    max_shard_size: str = typer.Option("2GB", "--max-shard-size", help="Split the weights into files of at most this size (e.g. 2GB, 500MB)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Convert a quantized directory to another format; the 4-bit codes and scales stay bit-identical."""
    import time

    with _errors():
        from marlin_quant import formats
        from marlin_quant.formats.io import check_output

        if fmt not in formats.EXPORT_FORMATS:
            raise UsageError(f"--format {fmt!r} is not one of {', '.join(formats.EXPORT_FORMATS)}")
        shard = _parse_size(max_shard_size)
        check_output(out_dir, overwrite)
        t0 = time.perf_counter()
        ckpt = formats.open_checkpoint(quant_dir)
        total = len(ckpt.plain) + len(ckpt.quantized) * {"marlin": 2, "gptq": 4, "compressed-tensors": 3}[fmt]
        with _progress(disable=as_json) as bar:
            task = bar.add_task(f"writing {fmt}", total=total)
            formats.export(ckpt, fmt, out_dir, overwrite=overwrite, max_shard_bytes=shard,
                           progress=lambda name: bar.advance(task))
        files = sorted(p.name for p in Path(out_dir).iterdir())
        size = sum((Path(out_dir) / f).stat().st_size for f in files if f.endswith(".safetensors"))
    payload = {"source": str(quant_dir), "source_format": ckpt.format, "format": fmt, "out": str(out_dir),
               "quantized_layers": len(ckpt.quantized), "group_size": ckpt.groupsize, "files": files,
               "bytes": size, "seconds": time.perf_counter() - t0}
    if as_json:
        _emit_json(payload)
        return
    out.print(_kv_table(f"exported to {fmt}", [
        ("from", f"{quant_dir} ({ckpt.format})"), ("to", str(out_dir)),
        ("quantized layers", len(ckpt.quantized)), ("group size", ckpt.groupsize),
        ("files", ", ".join(files)), ("size", _human_bytes(size)),
    ]))


# ----------------------------------------------------------------------------- inspect

def _layer_kinds(names: list[str]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for n in names:
        parts = n.split(".")
        key = ".".join(parts[parts.index("layers") + 2:]) if "layers" in parts else n
        kinds[key] = kinds.get(key, 0) + 1
    return kinds


@app.command()
def inspect(
    path: Path = typer.Argument(..., help="A model directory: quantized (marlin, gptq, compressed-tensors) or full precision."),
    layers: bool = typer.Option(False, "--layers", help="List every quantized layer with its shape."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Show what a directory holds: format, layers, group size, bits, sizes, provenance."""
    with _errors():
        from marlin_quant import formats
        from marlin_quant.formats.common import load_config_json, model_skeleton
        from marlin_quant.formats.io import TensorFiles

        kind = formats.detect(path)
        if kind == "full-precision":
            cfg = load_config_json(Path(path))
            files = TensorFiles(path)
            skel = model_skeleton(cfg)
            info: dict[str, Any] = {
                "format": "full-precision", "path": str(path),
                "architecture": (cfg.get("architectures") or ["?"])[0], "bits": 16,
                "linear_layers": len(skel.linears), "tensors": len(files.infos), "file_bytes": files.nbytes(),
                "parameters": sum(_numel(s) for s in skel.params.values()),
                "provenance": cfg.get("marlin_quant_provenance", {}),
            }
        else:
            ckpt = formats.open_checkpoint(path)
            info = ckpt.summary()
            info["layer_kinds"] = _layer_kinds(ckpt.quantized)
            info["layers"] = [{"name": n, "k": ckpt.shape(n)[0], "n": ckpt.shape(n)[1]} for n in ckpt.quantized]
    if as_json:
        _emit_json(info)
        return
    rows = [("path", info["path"]), ("format", info["format"]), ("architecture", info["architecture"]),
            ("bits", info["bits"])]
    if info["format"] == "full-precision":
        rows += [("parameters", f"{info['parameters']:,}"), ("linear layers", info["linear_layers"])]
    else:
        kinds = ", ".join(f"{k} x{v}" for k, v in info["layer_kinds"].items())
        rows += [("group size", info["group_size"]), ("quantized layers", f"{info['quantized_layers']} ({kinds})"),
                 ("full precision", ", ".join(info["full_precision_layers"]) or "none")]
    rows += [("tensors", info["tensors"]), ("size on disk", _human_bytes(info["file_bytes"]))]
    for k, v in (info.get("provenance") or {}).items():
        rows.append((f"provenance.{k}", v))
    out.print(_kv_table("inspect", rows))
    if layers and info["format"] != "full-precision":
        table = Table("layer", "k (in)", "n (out)", title="quantized layers", title_justify="left")
        for item in info["layers"]:
            table.add_row(item["name"], str(item["k"]), str(item["n"]))
        out.print(table)


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


# ----------------------------------------------------------------------------- generate

@app.command()
def generate(
    path: Optional[Path] = typer.Argument(None, help="A model directory (quantized or full precision); omit it for the bundled SmolLM2-135M."),
    prompt: str = typer.Option(..., "--prompt", help="Text to continue."),
    max_new_tokens: int = typer.Option(40, "--max-new-tokens", min=1, max=4096, help="How many tokens to generate (greedy)."),
    device: Optional[str] = typer.Option(None, "--device", help="cuda or cpu (default: cuda when present)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Greedy-decode a short continuation of a prompt, so a person sees the model works."""
    import time

    import torch

    with _errors():
        dev = _pick_device(device)
        model, tokenizer, how = _load_any(path, dev, show=not as_json)
        ids = tokenizer(prompt, return_tensors="pt").input_ids.to(dev)
        t0 = time.perf_counter()
        with torch.no_grad():
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                 do_sample=False, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        seconds = time.perf_counter() - t0
        new = gen[0, ids.shape[1]:]
        text = tokenizer.decode(new, skip_special_tokens=True)
    payload = {"prompt": prompt, "completion": text, "new_tokens": int(new.numel()), "seconds": seconds,
               "tokens_per_second": new.numel() / seconds if seconds > 0 else None, "compute_path": how}
    if as_json:
        _emit_json(payload)
        return
    out.print(f"[bold]{prompt}[/bold]{text}")
    err.print(f"{new.numel()} tokens in {seconds:.2f} s ({payload['tokens_per_second']:.1f} tokens/s), {how}")


# ----------------------------------------------------------------------------- bench

@app.command()
def bench(
    e2e: bool = typer.Option(False, "--e2e", help="Decode speed of a Llama-2-7B-shaped model (random weights, a few layers): generate tokens/s and the graphed decode step, Marlin vs fp16, same run."),
    layers: int = typer.Option(4, "--layers", min=1, help="--e2e: decoder layers in the model."),
    batch: str = typer.Option("1,16", "--batch", help="--e2e: comma-separated batch sizes."),
    new_tokens: int = typer.Option(128, "--new-tokens", min=1, help="--e2e: tokens decoded per measurement."),
    device: str = typer.Option("cuda", "--device", help="--e2e: cuda (the real benchmark) or cpu (a smoke run of the same code)."),
    static_cache: bool = typer.Option(False, "--static-cache", help="--e2e: decode with a static KV cache, which transformers compiles (CUDA graphs on a GPU)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Kernel benchmark (scripts/bench_kernel.py) or, with --e2e, decode tokens/s Marlin vs fp16. Needs a GPU."""
    with _errors():
        import torch

        from marlin_quant import ops

        if e2e:
            from marlin_quant import bench_e2e

            try:
                sizes = [int(x) for x in batch.split(",") if x.strip()]
            except ValueError:
                raise UsageError(f"--batch {batch!r} must be comma-separated integers, e.g. 1,16") from None
            if not sizes or min(sizes) < 1:
                raise UsageError("--batch needs at least one positive batch size")
            if device == "cuda" and not ops.kernel_available():
                err.print("error: `bench --e2e` needs a CUDA GPU (sm_80+) and the built kernel library; none here "
                          "(use --device cpu for a smoke run of the same code)")
                raise typer.Exit(1)
            rows = bench_e2e.run(layers=layers, batches=sizes, new_tokens=new_tokens, device=device,
                                 static_cache=static_cache, log=lambda m: err.print(m))
            if as_json:
                _emit_json({"device": bench_e2e.device_name(device), "shapes": bench_e2e.shape_name(device), "layers": layers, "static_cache": static_cache,
                            "new_tokens": new_tokens, "rows": rows})
                return
            step_how = "CUDA graph" if device.startswith("cuda") else "eager"
            table = Table("batch", "generate fp16 tok/s", "generate marlin tok/s", "speedup",
                          f"step fp16 ms ({step_how})", "step marlin ms", "step speedup",
                          title=f"decode, {bench_e2e.shape_name(device)}, {layers} layers, {bench_e2e.device_name(device)}",
                          title_justify="left")
            for r in rows:
                table.add_row(str(r["batch"]), f"{r['fp16_tokens_per_s']:.1f}", f"{r['marlin_tokens_per_s']:.1f}",
                              f"{r['speedup']:.2f}x", f"{r['fp16_step_ms']:.3f}", f"{r['marlin_step_ms']:.3f}",
                              f"{r['step_speedup']:.2f}x")
            out.print(table)
            return
        if not torch.cuda.is_available() or not ops.kernel_available():
            err.print("error: `bench` needs a CUDA GPU (sm_80+) and the built kernel library; this machine has none")
            raise typer.Exit(1)
        script = Path(__file__).resolve().parent.parent / "scripts" / "bench_kernel.py"
        if not script.is_file():
            err.print(f"error: the kernel benchmark {script} is not in this installation; run it from a source checkout")
            raise typer.Exit(1)
        import importlib.util

        spec = importlib.util.spec_from_file_location("bench_kernel", script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not as_json:
            raise typer.Exit(module.main([]) or 0)
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "bench.json"
            with contextlib.redirect_stdout(sys.stderr):  # its table goes to stderr, the JSON to stdout
                code = module.main(["--json", str(target)])
            if code:
                raise typer.Exit(code)
            _emit_json(json.loads(target.read_text()))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()

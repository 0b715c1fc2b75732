"""``compress``'s resumable work directory: per-layer checkpoints kept beside the target.

``compress --out NAME`` works in a hidden directory ``.NAME.partial`` beside ``NAME``::

    resume.json                 the run's fingerprint (source files, config and seed, calibration
                                samples, tool version) and its number of decoder layers
    layer-00003.safetensors     codes and scales of model.layers.3's projections
    layer-00003.json            their errors and damping, the layer's skipped projections, timings;
                                written last: a layer counts as finished once this file exists
    outputs-00003.safetensors   the outputs of the last finished layer on every calibration batch
                                (the next layer's inputs, GPTQ only); the previous one is deleted
    output/                     the final directory while it is written; renamed to NAME when
                                complete, then the rest is removed

Every file is written under a temporary name, fsynced, then renamed, so a run killed at any moment
(SIGKILL included) leaves either a finished layer or none; killed during the final write, it leaves
every layer finished and ``--resume`` only writes the files again. The process holds a lock on the
directory while it runs, so a second run for the same target is refused, and a directory nobody
holds is a leftover.

What makes a resumed run byte-identical to an uninterrupted one: the finished layers' codes and
scales are read back exactly (their dequantized weights go back into the model), and the next
layer starts from the stored outputs, bit for bit, instead of recomputing them; the replayed
keyword arguments (rotary embeddings, ...) are recomputed from the same samples. The device is not
part of the fingerprint: a run stopped on a GPU may continue on the CPU (see README).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import torch

from . import __version__
from .formats.io import (
    FormatError,
    fsync_path,
    fsync_tree,
    load_safetensors,
    lock_directory,
    read_json,
    save_safetensors,
    unlock_directory,
)
from .pipeline import LayerRecord, QuantizedLayer

STATE_FILE = "resume.json"
STATE_VERSION = 1
STAGING = "output"
# Bytes hashed at each end of every source file: enough to tell different weights apart (the
# safetensors header at the start names every tensor, the end holds real data) without reading
# a 140 GB checkpoint.
EDGE_BYTES = 1 << 20


class ResumeError(RuntimeError):
    """An interrupted run cannot be continued (or is in the way); the message says what to do."""


def work_dir_for(out: str | Path) -> Path:
    """The work directory of target ``out``: ``.NAME.partial`` beside it."""
    out = Path(out).absolute()
    return out.parent / f".{out.name}.partial"


# ----------------------------------------------------------------------------- fingerprint

def _file_digest(path: Path) -> str:
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(EDGE_BYTES))
        if size > 2 * EDGE_BYTES:
            f.seek(size - EDGE_BYTES)
        h.update(f.read(EDGE_BYTES))
    return h.hexdigest()


def source_fingerprint(path: Path, gguf_file: str | None) -> dict[str, str]:
    """Name -> digest (size and the first and last MiB) of the source's files: the GGUF file, or
    every visible file of a checkpoint directory. Not its path: a moved copy is the same model."""
    path = Path(path)
    files = [path / gguf_file] if gguf_file else sorted(p for p in path.iterdir()
                                                        if p.is_file() and not p.name.startswith("."))
    return {p.name: _file_digest(p) for p in files}


def samples_fingerprint(samples: list[torch.Tensor] | None) -> str | None:
    """sha256 of the calibration token ids (shapes and values), None without samples."""
    if samples is None:
        return None
    h = hashlib.sha256()
    for s in samples:
        t = s.detach().to("cpu", torch.int64).contiguous()
        h.update(repr(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def run_fingerprint(source_files: dict[str, str], config: dict[str, Any], samples: str | None) -> dict[str, Any]:
    """What must match for a run to continue another: tool version, source, config (with the
    seed), calibration samples."""
    return {"tool_version": __version__, "source": source_files, "config": config, "calibration": samples}


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    for key in new:
        if key not in old or old[key] == new[key]:
            continue
        if key == "config" and isinstance(old[key], dict):
            changed = sorted(k for k in set(old[key]) | set(new[key]) if old[key].get(k) != new[key].get(k))
            out.append("config (" + ", ".join(f"{k}: {old[key].get(k)!r} -> {new[key].get(k)!r}" for k in changed) + ")")
        elif key == "source":
            out.append("the model files")
        elif key == "calibration":
            out.append("the calibration samples (dataset, tokenizer or sampling)")
        else:
            out.append(f"{key} ({old[key]!r} -> {new[key]!r})")
    return out


# ----------------------------------------------------------------------------- the work directory

def _atomic_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(data, indent=1) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _atomic_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_safetensors(tmp, tensors)  # fsyncs the file
    os.replace(tmp, path)


class WorkDir:
    """A locked work directory: the :class:`marlin_quant.pipeline.LayerStore` of one compress run."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock = lock_fd

    # -- state

    def state(self) -> dict[str, Any] | None:
        p = self.path / STATE_FILE
        if not p.is_file():
            return None
        try:
            return read_json(p, "the run's fingerprint")
        except FormatError:
            return None  # written atomically, so only a foreign file gets here: not resumable

    def total_layers(self) -> int | None:
        state = self.state()
        return state.get("layers") if state else None

    def bind(self, fingerprint: dict[str, Any], layers: int) -> None:
        """Record this run's fingerprint, or check it against the interrupted run's."""
        state = self.state()
        if state is None:
            _atomic_json(self.path / STATE_FILE, {"version": STATE_VERSION, "layers": layers,
                                                  "fingerprint": fingerprint})
            fsync_path(self.path)
            return
        old = state.get("fingerprint", {})
        diffs = _differences(old, fingerprint)
        if state.get("layers") != layers:
            diffs.append(f"the number of decoder layers ({state.get('layers')} -> {layers})")
        if diffs:
            raise ResumeError(
                f"--resume: the interrupted run in {self.path} used other inputs: {'; '.join(diffs)}. Run "
                "the same command as then (the --device may differ), or pass --overwrite instead of --resume "
                "to start over with these settings"
            )

    # -- LayerStore

    def _layer(self, i: int, suffix: str) -> Path:
        return self.path / f"layer-{i:05d}.{suffix}"

    def _outputs(self, i: int) -> Path:
        return self.path / f"outputs-{i:05d}.safetensors"

    def finished(self) -> int:
        n = 0
        while self._layer(n, "json").is_file() and self._layer(n, "safetensors").is_file():
            n += 1
        return n

    def save(self, record: LayerRecord) -> None:
        i = record.index
        tensors: dict[str, torch.Tensor] = {}
        meta: dict[str, Any] = {}
        for name, q in record.layers.items():
            tensors[f"{name}.codes"] = q.codes
            tensors[f"{name}.scales"] = q.scales
            meta[name] = {"groupsize": q.groupsize, "error": q.error, "rel_error": q.rel_error, "damp": q.damp}
        _atomic_tensors(self._layer(i, "safetensors"), tensors)
        if record.outputs is not None:
            _atomic_tensors(self._outputs(i), {f"{b:05d}": o for b, o in enumerate(record.outputs)})
        # The marker last: the layer counts as finished only once everything it needs is on disk.
        _atomic_json(self._layer(i, "json"), {"index": i, "layers": meta, "skipped": record.skipped,
                                              "stats": record.stats, "outputs": record.outputs is not None})
        fsync_path(self.path)
        if i > 0:
            self._outputs(i - 1).unlink(missing_ok=True)  # the newer outputs supersede them

    def load(self, index: int, with_outputs: bool) -> LayerRecord:
        meta = read_json(self._layer(index, "json"), f"the checkpoint of model.layers.{index}")
        tensors = load_safetensors(self._layer(index, "safetensors"))
        layers = {name: QuantizedLayer(codes=tensors[f"{name}.codes"], scales=tensors[f"{name}.scales"],
                                       groupsize=m["groupsize"], error=m["error"], rel_error=m["rel_error"],
                                       damp=m["damp"])
                  for name, m in meta["layers"].items()}
        outputs = None
        if with_outputs:
            path = self._outputs(index)
            if not path.is_file():
                raise ResumeError(
                    f"{path} is missing: the outputs of model.layers.{index}, needed to continue after it, are "
                    "gone; pass --overwrite instead of --resume to start over"
                )
            stored = load_safetensors(path)
            outputs = [stored[k] for k in sorted(stored)]
        return LayerRecord(index, layers, dict(meta["skipped"]), dict(meta["stats"]), outputs)

    # -- the end

    @property
    def staging(self) -> Path:
        """Where the final directory is written before it is renamed to the target."""
        return self.path / STAGING

    def remove(self) -> None:
        """Delete the directory (the fingerprint first, so a kill midway leaves nothing resumable
        that is incomplete) and release the lock."""
        (self.path / STATE_FILE).unlink(missing_ok=True)
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def release(self) -> None:
        unlock_directory(self._lock)
        self._lock = None


def describe(work: WorkDir) -> str:
    total = work.total_layers()
    done = work.finished()
    return f"after {done} of {total} decoder layers" if total else f"after {done} decoder layers"


def open_work_dir(out: str | Path, *, resume: bool, overwrite: bool, log: Callable[[str], Any] = print) -> WorkDir:
    """Create (or, with ``resume``, reopen) and lock the work directory of target ``out``.

    A work directory with finished layers left by an interrupted run is continued with
    ``resume``, discarded with ``overwrite``, and otherwise refused (named in the message); one
    without finished layers is removed. Raises :class:`ResumeError` when another live run holds it.
    """
    path = work_dir_for(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir()
        created = True
    except FileExistsError:
        created = False
    except OSError as exc:
        raise FormatError(f"cannot create {path}: {exc.strerror}; choose another --out") from None
    fd = None
    try:
        fd = lock_directory(path)
        if fd is None:
            raise ResumeError(
                f"another marlin-quant compress is writing {out} right now (it holds {path}); wait for it to "
                "finish, or choose another --out"
            )
        return _open_locked(WorkDir(path, fd), out, resume=resume, overwrite=overwrite, log=log)
    except ResumeError:
        raise  # the directory is another run's, or holds an interrupted run's layers: left as it is
    except BaseException:
        # Interrupted (or failed) before the caller holds the directory, so nobody else would
        # clean it: one this call created has no finished layers and goes; one that existed keeps
        # what it had.
        if created:
            shutil.rmtree(path, ignore_errors=True)
        if fd is not None:
            unlock_directory(fd)
        raise


def _open_locked(work: WorkDir, out: str | Path, *, resume: bool, overwrite: bool, log: Callable[[str], Any]) -> WorkDir:
    path = work.path
    done = work.finished() if work.state() is not None else 0
    if done and resume:
        log(f"resuming the interrupted run {describe(work)} (checkpoints in {path})")
    elif done and overwrite:
        log(f"--overwrite: discarding the checkpoints of an interrupted run ({describe(work)}) in {path}")
        _empty(path)
    elif done:
        message = (f"a previous run for {out} was interrupted {describe(work)} (checkpoints in {path}); pass "
                   "--resume to continue it or --overwrite to start over")
        work.release()
        raise ResumeError(message)
    else:
        if any(path.iterdir()):
            log(f"removing the leftovers of an interrupted run that finished no layer ({path})")
        _empty(path)
        if resume:
            log(f"--resume: no interrupted run for {out}; starting from the first layer")
    # A run killed during its final write leaves a partial output/ beside finished layers.
    shutil.rmtree(work.staging, ignore_errors=True)
    return work


def _empty(path: Path) -> None:
    (path / STATE_FILE).unlink(missing_ok=True)
    for p in path.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    fsync_tree(path)

"""Calibration text: sources -> documents -> token samples of natural, variable length.

Sources (:func:`load_documents`):

* ``"stdlib"`` (the default, offline everywhere): the docstrings of Python's own standard
  library, one document per module, split deterministically into a calibration part and a
  held-out evaluation part (``stdlib_documents(split=...)``).
* a ``.txt`` file (one document), a folder (every ``*.txt`` under it, recursively, one document
  each), a ``.jsonl`` file (one document per line, from its ``text`` field);
* Hub names ``redpajama``, ``c4``, ``wikitext2`` through the ``datasets`` package, which is
  imported only then; offline or without the package they fail at once, naming the local
  alternatives.

Sampling (:func:`sample_tokens`): ``nsamples`` documents drawn with a fixed seed; a document
longer than ``seqlen`` tokens gives one random window of ``seqlen`` tokens, a shorter one of at
least ``min_tokens`` tokens is taken whole.

:func:`evaluation_text` gives text unlike the default calibration domain (the license texts under
``/usr/share/common-licenses``, else Python's own LICENSE file).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import logging
import os
import pkgutil
import random
import re
import socket
import sys
import warnings
import zlib
from pathlib import Path

import torch

log = logging.getLogger(__name__)

HUB_DATASETS = {
    "redpajama": ("togethercomputer/RedPajama-Data-1T-Sample", None, "train"),
    "c4": ("allenai/c4", "en", "validation"),
    "wikitext2": ("wikitext", "wikitext-2-raw-v1", "train"),
}
LOCAL_ALTERNATIVES = (
    "use a local source instead: 'stdlib' (built in), a .txt file, a folder of .txt files, "
    "or a .jsonl file with a 'text' field"
)
# Modules with side effects on import (opening a browser, printing, GUI) or that are not docs.
_STDLIB_SKIP = {
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3",
    "ensurepip", "pydoc_data", "msilib", "winreg", "winsound", "nt", "msvcrt", "_winapi",
}
_EVAL_MODULUS = 8  # one document in 8 (by a stable hash of its text) is held out for evaluation
LICENSES_DIR = Path("/usr/share/common-licenses")


class CalibrationError(ValueError):
    """A calibration source cannot give the samples asked for; the message says what to change."""


# ----------------------------------------------------------------------------- documents

def _module_docs(module) -> str:
    parts = []
    doc = inspect.getdoc(module)
    if doc:
        parts.append(doc)
    public = getattr(module, "__all__", None)
    names = sorted(public) if isinstance(public, (list, tuple)) else sorted(vars(module))
    for name in names:
        if name.startswith("_"):
            continue
        obj = getattr(module, name, None)
        if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)):
            continue
        if getattr(obj, "__module__", None) != module.__name__:
            continue  # documented where it is defined
        doc = inspect.getdoc(obj)
        if doc:
            parts.append(f"{name}\n{doc}")
        if inspect.isclass(obj):
            for mname, member in sorted(vars(obj).items()):
                if mname.startswith("_") or not callable(member):
                    continue
                mdoc = inspect.getdoc(member)
                if mdoc:
                    parts.append(f"{name}.{mname}\n{mdoc}")
    return "\n\n".join(parts)


def _import_quietly(name: str):
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - platform-specific modules are simply absent
        return None


def _stdlib_module_names() -> list[str]:
    """Public top-level standard-library modules and the public submodules of its packages."""
    names = getattr(sys, "stdlib_module_names", None)
    if names is None:  # Python < 3.10
        names = sys.builtin_module_names
    out = []
    for name in sorted(n for n in names if not n.startswith("_") and n not in _STDLIB_SKIP):
        module = _import_quietly(name)
        if module is None:
            continue
        out.append(name)
        for info in sorted(pkgutil.iter_modules(getattr(module, "__path__", None) or []), key=lambda i: i.name):
            if not info.name.startswith("_") and info.name not in ("tests", "test", "__main__"):
                out.append(f"{name}.{info.name}")
    return out


def _is_eval_document(text: str) -> bool:
    # Split by the text itself, so that a docstring shared by two modules (an alias, a
    # re-export) cannot land on both sides.
    return zlib.crc32(text.encode()) % _EVAL_MODULUS == 0


def stdlib_documents(split: str = "calibration") -> list[str]:
    """Docstrings of the standard library, one document per module, in module-name order.

    ``split="calibration"`` gives about 7 documents in 8, ``"evaluation"`` the rest (chosen by a
    stable hash of the text), ``"all"`` every one. Identical documents are kept once.
    """
    if split not in ("calibration", "evaluation", "all"):
        raise ValueError(f"split={split!r}; use 'calibration', 'evaluation' or 'all'")
    docs = []
    seen = set()
    for name in _stdlib_module_names():
        module = _import_quietly(name)
        if module is None:
            continue
        text = _module_docs(module)
        if not text.strip() or text in seen:
            continue
        seen.add(text)
        if split != "all" and _is_eval_document(text) != (split == "evaluation"):
            continue
        docs.append(text)
    return docs


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _jsonl_documents(path: Path) -> list[str]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CalibrationError(f"{path}:{lineno} is not valid JSON: {exc.msg}") from None
            if not isinstance(record, dict) or "text" not in record:
                raise CalibrationError(f"{path}:{lineno} has no 'text' field; each line must be an object with 'text'")
            if not isinstance(record["text"], str):
                raise CalibrationError(f"{path}:{lineno}: 'text' must be a string")
            docs.append(record["text"])
    return docs


def _hub_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _split_wikitext(lines: list[str]) -> list[str]:
    """wikitext comes as lines; cut it into articles at its top-level ``= Title =`` headings."""
    docs: list[str] = []
    current: list[str] = []
    heading = re.compile(r"^ = [^=].* = $")
    for line in lines:
        if heading.match(line.rstrip("\n")) and current:
            docs.append("".join(current))
            current = []
        current.append(line)
    if current:
        docs.append("".join(current))
    return docs


def hub_documents(name: str, limit: int = 20000) -> list[str]:
    """Documents of a Hub dataset (needs ``datasets`` and network access)."""
    if name not in HUB_DATASETS:
        raise CalibrationError(f"unknown Hub dataset {name!r}; known: {', '.join(HUB_DATASETS)}")
    try:
        import datasets  # noqa: F401
    except ImportError:
        raise CalibrationError(
            f"calibration source {name!r} needs the 'datasets' package (pip install 'marlin-quant[hub]'); "
            + LOCAL_ALTERNATIVES
        ) from None
    offline = any(os.environ.get(v, "").lower() in ("1", "true", "yes")
                  for v in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))
    if offline or not _hub_reachable():
        raise CalibrationError(
            f"calibration source {name!r} is on the Hugging Face Hub, which cannot be reached "
            f"({'offline mode is set' if offline else 'no network'}); " + LOCAL_ALTERNATIVES
        )
    path, subset, split = HUB_DATASETS[name]
    try:
        if name == "c4":
            ds = datasets.load_dataset(path, data_files={split: "en/c4-validation.00000-of-00008.json.gz"},
                                       split=split)
        else:
            ds = datasets.load_dataset(path, subset, split=split)
    except Exception as exc:  # noqa: BLE001 - any failure of the download is reported the same way
        raise CalibrationError(f"could not load {name!r} from the Hub ({exc}); " + LOCAL_ALTERNATIVES) from None
    texts = ds["text"][:limit] if name != "wikitext2" else ds["text"]
    if name == "wikitext2":
        return _split_wikitext(texts)
    return list(texts)


def load_documents(source: str | os.PathLike | None = "stdlib") -> list[str]:
    """Documents (strings) of a calibration source; see the module docstring for the kinds.

    Raises :class:`CalibrationError` when the source does not exist or holds no text.
    """
    if source is None or str(source) == "stdlib":
        docs = stdlib_documents("calibration")
        what = "the standard-library docstrings"
    elif str(source) in HUB_DATASETS:
        docs = hub_documents(str(source))
        what = f"Hub dataset {source}"
    else:
        path = Path(source)
        what = str(path)
        if not path.exists():
            raise CalibrationError(
                f"calibration source {path} does not exist; pass a .txt file, a folder of .txt files, "
                f"a .jsonl file, 'stdlib', or one of {', '.join(HUB_DATASETS)}"
            )
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.txt") if p.is_file())
            if not files:
                raise CalibrationError(f"folder {path} holds no *.txt files")
            docs = [_read_text(p) for p in files]
        elif path.suffix == ".jsonl":
            docs = _jsonl_documents(path)
        else:
            docs = [_read_text(path)]
    docs = [d for d in docs if d.strip()]
    if not docs:
        raise CalibrationError(f"calibration source {what} holds no text")
    return docs


def evaluation_text() -> tuple[str, str]:
    """(name, text) of evaluation text unlike the default calibration: the license texts under
    /usr/share/common-licenses (Debian/Ubuntu), else Python's LICENSE file."""
    if LICENSES_DIR.is_dir():
        files = sorted(p for p in LICENSES_DIR.iterdir() if p.is_file())
        text = "\n\n".join(_read_text(p) for p in files)
        if text.strip():
            return str(LICENSES_DIR), text
    import sysconfig

    for candidate in (Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt", Path(sys.prefix) / "LICENSE.txt"):
        if candidate.is_file():
            return str(candidate), _read_text(candidate)
    raise CalibrationError(
        "no evaluation text found (neither /usr/share/common-licenses nor Python's LICENSE.txt); "
        "pass a text file to evaluate on"
    )


# ----------------------------------------------------------------------------- sampling

def sample_tokens(documents: list[str], tokenizer, nsamples: int, seqlen: int, seed: int = 0,
                  min_tokens: int = 32) -> list[torch.Tensor]:
    """Draw ``nsamples`` token samples (each a (1, length) int64 tensor) from ``documents``.

    Documents are visited in an order shuffled by ``seed``; one longer than ``seqlen`` tokens gives
    one random window of ``seqlen`` tokens, one of ``min_tokens``..``seqlen`` tokens is taken whole,
    a shorter one is skipped. Raises :class:`CalibrationError` when fewer than ``nsamples`` are
    usable.
    """
    if nsamples < 1 or seqlen < 1:
        raise CalibrationError(f"nsamples={nsamples} and seqlen={seqlen} must be positive")
    rng = random.Random(seed)
    order = list(range(len(documents)))
    rng.shuffle(order)
    samples: list[torch.Tensor] = []
    for idx in order:
        ids = tokenizer(documents[idx], return_tensors="pt").input_ids
        length = ids.shape[1]
        if length < min_tokens:
            continue
        if length > seqlen:
            start = rng.randrange(0, length - seqlen + 1)
            ids = ids[:, start:start + seqlen]
        samples.append(ids.to(torch.long).contiguous())
        if len(samples) == nsamples:
            return samples
    raise CalibrationError(
        f"only {len(samples)} usable samples (documents of at least {min_tokens} tokens) out of "
        f"{len(documents)} documents, but nsamples={nsamples}; lower nsamples or min_tokens, or add text"
    )


def calibration_samples(source: str | os.PathLike | None, tokenizer, nsamples: int, seqlen: int,
                        seed: int = 0, min_tokens: int = 32) -> list[torch.Tensor]:
    """:func:`load_documents` then :func:`sample_tokens`: what the pipeline consumes."""
    docs = load_documents(source)
    samples = sample_tokens(docs, tokenizer, nsamples, seqlen, seed, min_tokens)
    lengths = [s.shape[1] for s in samples]
    log.info("calibration: %d samples from %s, %d..%d tokens (%d in all)", len(samples),
             source or "stdlib", min(lengths), max(lengths), sum(lengths))
    return samples

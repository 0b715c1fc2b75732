"""Safe file handling shared by every format: atomic directories, sharded safetensors, strict reads.

* :func:`atomic_directory` writes into a hidden temporary directory beside the target, fsyncs
  every file, then renames it into place: a killed or failed write never leaves a directory that
  looks complete, and an existing target is only replaced when asked.
* :class:`ShardWriter` streams tensors into ``model.safetensors`` or, past a size limit, into
  ``model-0000i-of-0000N.safetensors`` shards plus ``model.safetensors.index.json`` (the layout
  Hugging Face loaders read).
* :class:`TensorFiles` opens such a directory and checks every safetensors header itself (sizes,
  offsets, dtypes, truncation) before any tensor is read, so a damaged file gives a
  :class:`FormatError` naming the file and the problem, never a crash.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
DEFAULT_MAX_SHARD_BYTES = 2 * 1024**3
# A header larger than this is not a checkpoint header (upstream safetensors caps it at 100 MB).
MAX_HEADER_BYTES = 100 * 1024**2

DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


class FormatError(ValueError):
    """A checkpoint directory cannot be read or written; the message names the file, the problem
    and what to do about it."""


class OutputExistsError(FormatError):
    """The output directory exists and ``overwrite`` was not given."""


# ----------------------------------------------------------------------------- atomic output

def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file and directory under ``root`` (and ``root`` itself) to disk."""
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            fsync_path(Path(dirpath) / name)
        fsync_path(Path(dirpath))


def check_output(out: str | Path, overwrite: bool) -> Path:
    """Refuse an output path early (before any long work): existing without ``overwrite``, or
    in a folder that cannot be written."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"the output directory {out} already exists; pass --overwrite (overwrite=True) to "
            "replace it, or choose another --out"
        )
    if out.exists() and not out.is_dir():
        raise FormatError(f"the output path {out} is a file, not a directory; choose another --out")
    parent = out.absolute().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise FormatError(f"cannot write under {probe}: it is a file, not a directory; choose another --out")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise FormatError(f"cannot write to {probe} (permission denied); choose an --out you can write to")
    return out


def lock_directory(path: Path, strict: bool = False) -> int | None:
    """Take an exclusive lock on directory ``path`` for as long as this process lives (or until
    :func:`unlock_directory`); returns the descriptor, or None when another live process holds it.

    A writer holds the lock on its temporary directory, so one that nobody holds was left by a
    killed process (SIGKILL releases the lock with the process) and is safe to remove. On a file
    system without locks (some network mounts) nobody can tell: the directory counts as held
    when ``strict`` (so that it is not removed), else as ours.
    """
    import errno
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN) or strict:
            os.close(fd)
            return None
    return fd


def unlock_directory(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the last descriptor releases the flock


def _remove_stale_partials(parent: Path, name: str) -> None:
    """Remove ``.NAME.xxxxxxxx.partial`` directories beside the target whose writer is gone
    (killed during its write: nobody holds their lock)."""
    for p in parent.glob(f".{glob.escape(name)}.????????.partial"):
        if not p.is_dir():
            continue
        fd = lock_directory(p, strict=True)
        if fd is None:
            continue  # a live writer (or one we cannot tell from a dead one)
        try:
            shutil.rmtree(p, ignore_errors=True)
        finally:
            unlock_directory(fd)


@contextlib.contextmanager
def atomic_directory(out: str | Path, overwrite: bool = False, staging: Path | None = None) -> Iterator[Path]:
    """Yield a fresh temporary directory beside ``out``; on success it becomes ``out``.

    On any exception (including KeyboardInterrupt) the temporary directory is removed and ``out``
    is left as it was. The temporary name starts with a dot and ends in ``.partial`` so that it is
    never mistaken for a finished checkpoint; temporary directories of earlier writers to the same
    target that were killed (SIGKILL) are removed first.

    ``staging``: use this path (which must not exist, on the same file system as ``out``) as the
    temporary directory instead, e.g. inside ``compress``'s resumable work directory, which the
    caller locks and cleans itself.
    """
    out = check_output(out, overwrite)
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FormatError(f"cannot create {parent}: {exc.strerror}; choose another --out") from None
    tmp = Path(staging) if staging is not None else parent / f".{out.name}.{uuid.uuid4().hex[:8]}.partial"
    try:
        tmp.mkdir()
    except OSError as exc:
        raise FormatError(f"cannot create a directory in {tmp.parent}: {exc.strerror}; choose another --out") from None
    lock = lock_directory(tmp) if staging is None else None
    try:
        if staging is None:
            _remove_stale_partials(parent, out.name)
        yield tmp
        fsync_tree(tmp)
        if out.exists():
            # Move the old one aside first so that a crash between the two renames loses nothing.
            old = parent / f".{out.name}.{uuid.uuid4().hex[:8]}.old"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
        fsync_path(parent)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, FormatError):
            raise _os_error(exc, out) from None
        raise
    finally:
        unlock_directory(lock)


def _os_error(exc: OSError, out: Path) -> FormatError:
    import errno

    if exc.errno == errno.ENOSPC:
        return FormatError(f"the disk filled up while writing {out}; nothing was kept. Free space or choose another --out")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return FormatError(f"cannot write {out}: {exc.strerror}; choose an --out you can write to")
    return FormatError(f"writing {out} failed: {exc}; nothing was kept")


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise FormatError(f"{path} is missing: {what}")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path} is not valid JSON ({exc}); the file is damaged, write it again") from None
    if not isinstance(data, dict):
        raise FormatError(f"{path} must hold a JSON object, found {type(data).__name__}; the file is damaged")
    return data


# ----------------------------------------------------------------------------- writing

def _safetensors_bytes(tensors: dict[str, torch.Tensor]) -> tuple[bytes, list[torch.Tensor]]:
    """Header bytes for ``tensors`` in name order (data follows in the same order)."""
    header: dict[str, Any] = {}
    offset = 0
    ordered = []
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in DTYPE_NAMES:
            raise FormatError(f"tensor {name} has dtype {t.dtype}, which safetensors files here do not hold")
        size = t.numel() * t.element_size()
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
        ordered.append(t)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # data aligned to 8 bytes, as upstream writes it
    return struct.pack("<Q", len(raw)) + raw, ordered


def save_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Write one safetensors file deterministically (sorted names, no metadata, no timestamps)."""
    head, ordered = _safetensors_bytes(tensors)
    with open(path, "wb") as f:
        f.write(head)
        for t in ordered:
            t = t.detach().to("cpu").contiguous()
            if t.numel():
                flat = t.reshape(-1)  # a transposed size-1 dim can leave a stride != 1
                f.write(flat.view(torch.uint8).numpy().tobytes() if t.dtype != torch.bool
                        else flat.to(torch.uint8).numpy().tobytes())
        f.flush()
        os.fsync(f.fileno())


class ShardWriter:
    """Collect tensors and write them as one file, or as shards of at most ``max_shard_bytes``."""

    def __init__(self, folder: Path, max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES) -> None:
        if max_shard_bytes <= 0:
            raise FormatError(f"max_shard_bytes={max_shard_bytes} must be positive")
        self.folder = Path(folder)
        self.max = max_shard_bytes
        self.pending: dict[str, torch.Tensor] = {}
        self.pending_bytes = 0
        self.shards: list[tuple[str, list[str]]] = []
        self.total = 0
        self.names: set[str] = set()

    def add(self, name: str, tensor: torch.Tensor) -> None:
        if name in self.names:
            raise FormatError(f"tensor {name} was written twice")
        self.names.add(name)
        size = tensor.numel() * tensor.element_size()
        if self.pending and self.pending_bytes + size > self.max:
            self._flush()
        self.pending[name] = tensor.detach().cpu().contiguous()
        self.pending_bytes += size
        self.total += size

    def _flush(self) -> None:
        tmp_name = f"shard-{len(self.shards):05d}.tmp"
        save_safetensors(self.folder / tmp_name, self.pending)
        self.shards.append((tmp_name, sorted(self.pending)))
        self.pending, self.pending_bytes = {}, 0

    def close(self) -> list[str]:
        """Write what is left; returns the file names written."""
        if self.pending or not self.shards:
            self._flush()
        if len(self.shards) == 1:
            os.rename(self.folder / self.shards[0][0], self.folder / SINGLE_FILE)
            return [SINGLE_FILE]
        n = len(self.shards)
        weight_map: dict[str, str] = {}
        files = []
        for i, (tmp_name, names) in enumerate(self.shards):
            final = f"model-{i + 1:05d}-of-{n:05d}.safetensors"
            os.rename(self.folder / tmp_name, self.folder / final)
            files.append(final)
            for name in names:
                weight_map[name] = final
        write_json(self.folder / INDEX_FILE, {"metadata": {"total_size": self.total},
                                              "weight_map": dict(sorted(weight_map.items()))})
        return files + [INDEX_FILE]


# ----------------------------------------------------------------------------- reading

class TensorInfo:
    __slots__ = ("name", "dtype", "shape", "file", "start", "end")

    def __init__(self, name: str, dtype: torch.dtype, shape: tuple[int, ...], file: Path, start: int, end: int):
        self.name, self.dtype, self.shape, self.file, self.start, self.end = name, dtype, shape, file, start, end


def read_header(path: Path) -> dict[str, TensorInfo]:
    """Parse and check one safetensors header against the file's real size."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise FormatError(f"{path} is truncated ({size} bytes, shorter than a safetensors header); write it again")
            (hlen,) = struct.unpack("<Q", head)
            if hlen > MAX_HEADER_BYTES or 8 + hlen > size:
                raise FormatError(
                    f"{path} has a header length of {hlen} bytes but the file has {size}: it is truncated or "
                    "not a safetensors file; write it again"
                )
            raw = f.read(hlen)
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FormatError(f"{path} has a damaged header (not JSON); the file is corrupt, write it again") from None
    if not isinstance(header, dict):
        raise FormatError(f"{path} has a damaged header (not a JSON object); write it again")
    data_size = size - 8 - hlen
    infos: dict[str, TensorInfo] = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict):
                raise FormatError(f"{path}: __metadata__ must be an object; the file is damaged")
            continue
        if not isinstance(entry, dict):
            raise FormatError(f"{path}: the header entry of {name!r} is not an object; the file is damaged")
        dtype_name, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype_name not in DTYPES:
            raise FormatError(f"{path}: tensor {name!r} has unknown dtype {dtype_name!r}; the file is damaged")
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40 for d in shape)):
            raise FormatError(f"{path}: tensor {name!r} has an invalid shape {shape!r}; the file is damaged")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
            raise FormatError(f"{path}: tensor {name!r} has invalid data offsets {offsets!r}; the file is damaged")
        start, end = offsets
        dtype = DTYPES[dtype_name]
        numel = 1
        for d in shape:
            numel *= d
        nbytes = numel * torch.empty((), dtype=dtype).element_size()
        if not 0 <= start <= end or end - start != nbytes:
            raise FormatError(
                f"{path}: tensor {name!r} ({dtype_name} {shape}) needs {nbytes} bytes but its offsets "
                f"{offsets} give {end - start}; the file is damaged"
            )
        if end > data_size:
            raise FormatError(
                f"{path} is truncated: tensor {name!r} ends at byte {end} of the data but the file holds "
                f"{data_size}; write it again"
            )
        infos[name] = TensorInfo(name, dtype, tuple(shape), path, 8 + hlen + start, 8 + hlen + end)
        spans.append((start, end, name))
    spans.sort()
    for (s0, e0, n0), (s1, e1, n1) in zip(spans, spans[1:]):
        if s1 < e0:
            raise FormatError(f"{path}: tensors {n0!r} and {n1!r} overlap; the file is damaged")
    covered = spans[-1][1] if spans else 0
    if covered != data_size:
        raise FormatError(
            f"{path} holds {data_size} bytes of data but its tensors cover {covered}: the file is truncated "
            "or has trailing bytes; write it again"
        )
    return infos


class TensorFiles:
    """The tensors of a checkpoint directory (single file or sharded with an index), checked."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.infos: dict[str, TensorInfo] = {}
        index = self.folder / INDEX_FILE
        single = self.folder / SINGLE_FILE
        if index.exists():
            data = read_json(index, "the shard index")
            weight_map = data.get("weight_map")
            if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
                raise FormatError(f"{index} has no valid weight_map; the index is damaged, write the checkpoint again")
            files = sorted(set(weight_map.values()))
            for fname in files:
                if Path(fname).name != fname:
                    raise FormatError(f"{index} names a shard outside the directory ({fname!r}); the index is damaged")
                fpath = self.folder / fname
                if not fpath.is_file():
                    raise FormatError(f"shard {fpath} named in {index} is missing; copy the whole directory again")
                for name, info in read_header(fpath).items():
                    if weight_map.get(name) != fname:
                        raise FormatError(f"{fpath} holds {name!r}, which {index} does not place in that file")
                    self.infos[name] = info
            missing = sorted(set(weight_map) - set(self.infos))
            if missing:
                raise FormatError(f"{index} lists tensors no shard holds (e.g. {missing[0]!r}); a shard is damaged")
        elif single.exists():
            self.infos = read_header(single)
        else:
            raise FormatError(
                f"{self.folder} has no {SINGLE_FILE} (nor {INDEX_FILE}); pass a checkpoint directory written by "
                "marlin-quant"
            )

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def names(self) -> list[str]:
        return sorted(self.infos)

    def nbytes(self) -> int:
        return sum(i.end - i.start for i in self.infos.values())

    def get(self, name: str) -> torch.Tensor:
        """Read one tensor (bytes at the offsets the checked header gave)."""
        return read_tensor(self.infos[name])


def load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of one safetensors file (header checked first, see :func:`read_header`)."""
    return {name: read_tensor(info) for name, info in sorted(read_header(Path(path)).items())}


def read_tensor(info: TensorInfo) -> torch.Tensor:
    """Read one tensor (bytes at the offsets a checked header gave)."""
    numel = 1
    for d in info.shape:
        numel *= d
    try:
        with open(info.file, "rb") as f:
            f.seek(info.start)
            raw = f.read(info.end - info.start)
    except OSError as exc:
        raise FormatError(f"cannot read {info.file}: {exc.strerror}") from None
    if len(raw) != info.end - info.start:
        raise FormatError(f"{info.file} is truncated (it changed while being read); write it again")
    if info.dtype == torch.bool:
        return torch.frombuffer(bytearray(raw), dtype=torch.uint8).to(torch.bool).reshape(info.shape) if numel else torch.empty(info.shape, dtype=torch.bool)
    if numel == 0:
        return torch.empty(info.shape, dtype=info.dtype)
    return torch.frombuffer(bytearray(raw), dtype=info.dtype).reshape(info.shape)


def copy_tokenizer_files(src: Path, dst: Path) -> list[str]:
    """Copy the tokenizer (and generation config) files of a checkpoint directory."""
    names = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
             "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json", "chat_template.jinja")
    copied = []
    for name in names:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
            copied.append(name)
    return copied

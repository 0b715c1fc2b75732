"""Fuzz the readers (native, GPTQ, compressed-tensors) with mutated headers, tensors and configs:
every case either reads back or ends in our FormatError; never another exception or a hang."""

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marlin_quant import load
from marlin_quant.formats import FormatError, export, open_checkpoint
from marlin_quant.formats.io import SINGLE_FILE
from tiny_models import save_quantized

EXAMPLES = int(os.environ.get("MARLIN_QUANT_FUZZ_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("MARLIN_QUANT_FUZZ_RANDOM") != "1", database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    save_quantized(root / "marlin", groupsize=64, layers=1)
    ckpt = open_checkpoint(root / "marlin")
    export(ckpt, "gptq", root / "gptq")
    export(ckpt, "compressed-tensors", root / "compressed-tensors")
    return root


OUTCOMES = {"read": 0, "error": 0}


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def _read_everything(folder: Path, full_load: bool) -> None:
    ckpt = open_checkpoint(folder)
    for name in ckpt.quantized:
        ckpt.layer(name)
        ckpt.packed(name)
    for name in ckpt.plain:
        ckpt.tensor(name)
    if full_load:
        load(folder)


def _mutate_bytes(data: bytes, kind: str, pos: int, value: int, length: int) -> bytes:
    if not data:
        return bytes([value])
    pos %= len(data)
    if kind == "flip":
        return data[:pos] + bytes([data[pos] ^ (value or 1)]) + data[pos + 1:]
    if kind == "truncate":
        return data[:pos]
    if kind == "insert":
        return data[:pos] + bytes([value]) * length + data[pos:]
    if kind == "delete":
        return data[:pos] + data[pos + length:]
    raise AssertionError(kind)


def _mutate_header(data: bytes, choice: int, value: int) -> bytes:
    """Structured: change one field of one tensor's header entry, keep the JSON valid."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    names = sorted(k for k in header if k != "__metadata__")
    entry = header[names[choice % len(names)]]
    field = ("dtype", "shape", "data_offsets", "drop", "rename")[value % 5]
    if field == "dtype":
        entry["dtype"] = ("F32", "I32", "F16", "BF16", "U8", "I64", "X9")[value % 7]
    elif field == "shape":
        entry["shape"] = entry["shape"][::-1] if value % 2 else entry["shape"] + [value % 3]
    elif field == "data_offsets":
        a, b = entry["data_offsets"]
        entry["data_offsets"] = [a + value % 17, b + value % 13]
    elif field == "drop":
        del header[names[choice % len(names)]]
    else:
        header[names[choice % len(names)] + ".x"] = header.pop(names[choice % len(names)])
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data[8 + n:]


mutation = st.one_of(
    st.tuples(st.just("bytes"), st.sampled_from(["flip", "truncate", "insert", "delete"]),
              st.integers(0, 1 << 20), st.integers(0, 255), st.integers(1, 64), st.booleans()),
    st.tuples(st.just("header"), st.integers(0, 1000), st.integers(0, 1000)),
    st.tuples(st.just("config"), st.sampled_from(["flip", "truncate", "insert", "delete"]),
              st.integers(0, 1 << 16), st.integers(0, 255), st.integers(1, 8)),
)


def _fuzz_one(pristine: Path, fmt: str, case) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / fmt
        shutil.copytree(pristine / fmt, folder)
        tensors = folder / SINGLE_FILE
        config = folder / "config.json"
        if case[0] == "bytes":
            _, kind, pos, value, length, in_header = case
            data = tensors.read_bytes()
            if in_header:  # aim at the header, where damage is most interesting
                pos %= 8 + int.from_bytes(data[:8], "little")
            tensors.write_bytes(_mutate_bytes(data, kind, pos, value, length))
        elif case[0] == "header":
            tensors.write_bytes(_mutate_header(tensors.read_bytes(), case[1], case[2]))
        else:
            _, kind, pos, value, length = case
            config.write_bytes(_mutate_bytes(config.read_bytes(), kind, pos, value, length))
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(30)
        try:
            _read_everything(folder, full_load=sum(x for x in case if type(x) is int) % 4 == 0)
            OUTCOMES["read"] += 1
        except FormatError as exc:
            assert str(exc) and "Traceback" not in str(exc)
            OUTCOMES["error"] += 1
        except _Hang:
            pytest.fail(f"reader hung on {fmt} with mutation {case}")
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("fmt", ["marlin", "gptq", "compressed-tensors"])
def test_readers_survive_mutations(pristine, fmt):
    @SETTINGS
    @given(case=mutation)
    def run(case):
        _fuzz_one(pristine, fmt, case)

    before = dict(OUTCOMES)
    run()
    # the mutations must exercise both outcomes, or the test proves nothing
    assert OUTCOMES["error"] > before["error"] and OUTCOMES["read"] > before["read"], OUTCOMES

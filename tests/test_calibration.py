"""Calibration sources and sampling; nothing here touches the network."""

import json
import sys
import time
import types

import pytest
import torch

from marlin_quant import calibration
from marlin_quant.calibration import CalibrationError


class WordTokenizer:
    """One token per whitespace-separated word (plus a BOS), enough to test sampling."""

    def __call__(self, text, return_tensors=None):
        words = text.split()
        ids = torch.tensor([[1] + [2 + (hash(w) % 1000) for w in words]])
        return types.SimpleNamespace(input_ids=ids)


def words(n: int, tag: str = "w") -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def test_text_file_is_one_document(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text(words(50))
    assert calibration.load_documents(f) == [words(50)]


def test_folder_reads_txt_recursively(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "b.txt").write_text("two")
    (tmp_path / "sub" / "deeper" / "a.txt").write_text("one")
    (tmp_path / "sub" / "notes.md").write_text("ignored")
    (tmp_path / "sub" / "empty.txt").write_text("   \n")
    assert sorted(calibration.load_documents(tmp_path)) == ["one", "two"]


def test_jsonl_text_field(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join(json.dumps({"text": t, "id": i}) for i, t in enumerate(["x y", "z"])) + "\n\n")
    assert calibration.load_documents(f) == ["x y", "z"]


def test_jsonl_without_text_field(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"content": "x"}) + "\n")
    with pytest.raises(CalibrationError, match=r"d.jsonl:1 has no 'text' field"):
        calibration.load_documents(f)


def test_missing_source(tmp_path):
    with pytest.raises(CalibrationError, match="does not exist.*stdlib"):
        calibration.load_documents(tmp_path / "nope.txt")


def test_empty_sources(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_text("\n\n")
    with pytest.raises(CalibrationError, match="holds no text"):
        calibration.load_documents(f)
    (tmp_path / "dir").mkdir()
    with pytest.raises(CalibrationError, match=r"holds no \*\.txt files"):
        calibration.load_documents(tmp_path / "dir")


def test_sampling_windows_whole_documents_and_skips():
    docs = [words(500, "long"), words(40, "mid"), words(3, "tiny")]
    samples = calibration.sample_tokens(docs, WordTokenizer(), nsamples=2, seqlen=100, seed=0, min_tokens=10)
    lengths = sorted(s.shape[1] for s in samples)
    assert lengths == [41, 100]  # the mid document whole (with its BOS), one window of the long one
    assert all(s.dtype == torch.long and s.dim() == 2 and s.shape[0] == 1 for s in samples)


def test_sampling_is_seeded():
    docs = [words(300, f"d{i}") for i in range(10)]
    tok = WordTokenizer()
    a = calibration.sample_tokens(docs, tok, 5, 64, seed=3)
    b = calibration.sample_tokens(docs, tok, 5, 64, seed=3)
    c = calibration.sample_tokens(docs, tok, 5, 64, seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_too_few_usable_samples():
    docs = [words(50), words(2), words(3)]
    with pytest.raises(CalibrationError, match=r"only 1 usable samples.*nsamples=3"):
        calibration.sample_tokens(docs, WordTokenizer(), nsamples=3, seqlen=64, min_tokens=10)


def test_calibration_samples_from_file(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text("\n".join(json.dumps({"text": words(80, f"r{i}")}) for i in range(6)))
    samples = calibration.calibration_samples(f, WordTokenizer(), nsamples=4, seqlen=32, seed=0)
    assert [s.shape[1] for s in samples] == [32] * 4


def test_stdlib_split_is_disjoint_and_stable():
    cal = calibration.stdlib_documents("calibration")
    ev = calibration.stdlib_documents("evaluation")
    assert len(cal) > 150 and len(ev) > 10
    assert not set(cal) & set(ev)
    assert calibration.stdlib_documents("evaluation") == ev
    assert calibration.load_documents("stdlib") == cal


def test_evaluation_text_exists():
    name, text = calibration.evaluation_text()
    assert len(text) > 10000 and name


def test_hub_name_without_datasets_fails_fast(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    t = time.perf_counter()
    with pytest.raises(CalibrationError, match=r"needs the 'datasets' package.*'stdlib'.*\.jsonl"):
        calibration.load_documents("wikitext2")
    assert time.perf_counter() - t < 2


def test_hub_name_offline_fails_fast_without_downloading(monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("load_dataset must not be called offline")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=no_download))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(CalibrationError, match=r"'c4' is on the Hugging Face Hub.*offline.*a \.txt file"):
        calibration.load_documents("c4")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    monkeypatch.setattr(calibration, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(CalibrationError, match=r"'redpajama'.*no network"):
        calibration.load_documents("redpajama")


def test_wikitext_is_split_into_articles():
    lines = [" = A = \n", " text a \n", " = = sub = = \n", " more a \n", " = B = \n", " text b \n"]
    docs = calibration._split_wikitext(lines)
    assert len(docs) == 2 and docs[0].startswith(" = A =") and "sub" in docs[0]

"""Every way a checkpoint directory can be wrong ends in a FormatError that names the problem;
writes are atomic (a failure mid-write leaves no output directory)."""

import errno
import json
import shutil

import pytest
import torch

from marlin_quant import load
from marlin_quant.formats import FormatError, OutputExistsError, export, open_checkpoint
from marlin_quant.formats import io as fio
from marlin_quant.formats import marlin
from tiny_models import save_full_precision, save_quantized, tiny_model, rtn_layers

QNAME = "model.layers.0.self_attn.q_proj"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pristine") / "q"
    save_quantized(folder, groupsize=64)
    return folder


@pytest.fixture
def qdir(pristine, tmp_path):
    folder = tmp_path / "q"
    shutil.copytree(pristine, folder)
    return folder


def _tensors(folder):
    files = fio.TensorFiles(folder)
    return {n: files.get(n) for n in files.names()}


def _rewrite(folder, tensors):
    fio.save_safetensors(folder / fio.SINGLE_FILE, tensors)


def _edit_config(folder, fn):
    path = folder / "config.json"
    cfg = json.loads(path.read_text())
    fn(cfg)
    path.write_text(json.dumps(cfg))


def _fails(folder, *words):
    with pytest.raises(FormatError) as info:
        open_checkpoint(folder)
    msg = str(info.value)
    for w in words:
        assert w in msg, msg
    return msg


def test_missing_directory(tmp_path):
    _fails(tmp_path / "nope", "does not exist")


def test_not_a_model_directory(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    _fails(tmp_path, "config.json")


def test_full_precision_directory_is_not_quantized(tmp_path):
    save_full_precision(tmp_path / "fp")
    _fails(tmp_path / "fp", "full-precision", "compress")


def test_other_quant_method(qdir):
    _edit_config(qdir, lambda c: c["quantization_config"].update(quant_method="awq"))
    _fails(qdir, "awq")


def test_native_reader_refuses_a_gptq_dir(qdir, tmp_path):
    export(open_checkpoint(qdir), "gptq", tmp_path / "g")
    with pytest.raises(FormatError, match="gptq"):
        marlin.open_checkpoint(tmp_path / "g")


def test_config_is_not_json(qdir):
    (qdir / "config.json").write_text("{not json")
    _fails(qdir, "not valid JSON")


def test_group_size_disagrees_with_tensors(qdir):
    _edit_config(qdir, lambda c: c["quantization_config"].update(group_size=128))
    _fails(qdir, ".s", "shape")


def test_unsupported_bits(qdir):
    _edit_config(qdir, lambda c: c["quantization_config"].update(bits=8))
    _fails(qdir, "bits=8")


def test_model_shape_disagrees_with_tensors(qdir):
    _edit_config(qdir, lambda c: c.update(intermediate_size=320))
    _fails(qdir, "shape", "disagree")


def test_quantized_module_list_names_unknown_layer(qdir):
    _edit_config(qdir, lambda c: c["quantization_config"]["quantized_modules"].append("model.layers.0.nope"))
    _fails(qdir, "model.layers.0.nope")


def test_missing_tensor(qdir):
    t = _tensors(qdir)
    del t[f"{QNAME}.s"]
    _rewrite(qdir, t)
    _fails(qdir, f"{QNAME}.s", "missing")


def test_missing_plain_tensor(qdir):
    t = _tensors(qdir)
    del t["model.norm.weight"]
    _rewrite(qdir, t)
    _fails(qdir, "model.norm.weight", "missing")


def test_extra_tensor(qdir):
    t = _tensors(qdir)
    t["model.layers.0.surprise"] = torch.zeros(3)
    _rewrite(qdir, t)
    _fails(qdir, "surprise")


def test_quantized_weight_also_stored(qdir):
    t = _tensors(qdir)
    t[f"{QNAME}.weight"] = torch.zeros(128, 128)
    _rewrite(qdir, t)
    _fails(qdir, f"{QNAME}.weight")


def test_wrong_dtype(qdir):
    t = _tensors(qdir)
    t[f"{QNAME}.s"] = t[f"{QNAME}.s"].float()
    _rewrite(qdir, t)
    _fails(qdir, "float32", "float16")


def test_wrong_shape(qdir):
    t = _tensors(qdir)
    t[f"{QNAME}.B"] = t[f"{QNAME}.B"][:-1]
    _rewrite(qdir, t)
    _fails(qdir, f"{QNAME}.B", "shape")


def test_truncated_file(qdir):
    path = qdir / fio.SINGLE_FILE
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    _fails(qdir, "truncated")


def test_truncated_header(qdir):
    path = qdir / fio.SINGLE_FILE
    path.write_bytes(path.read_bytes()[:5])
    _fails(qdir, "truncated")


def test_missing_shard(qdir, tmp_path):
    out = tmp_path / "sharded"
    export(open_checkpoint(qdir), "marlin", out, max_shard_bytes=64 * 1024)
    victim = sorted(out.glob("model-*.safetensors"))[1]
    victim.unlink()
    _fails(out, "missing", victim.name)


def test_nan_scales_are_refused_on_read(qdir):
    t = _tensors(qdir)
    s = t[f"{QNAME}.s"].clone()
    s[0, 0] = float("nan")
    t[f"{QNAME}.s"] = s
    _rewrite(qdir, t)
    ckpt = open_checkpoint(qdir)
    with pytest.raises(FormatError, match="NaN"):
        ckpt.packed(QNAME)
    with pytest.raises(FormatError, match="NaN"):
        load(qdir)


def test_gptq_asymmetric_zero_points_refused(qdir, tmp_path):
    export(open_checkpoint(qdir), "gptq", tmp_path / "g")
    t = _tensors(tmp_path / "g")
    t[f"{QNAME}.qzeros"] = torch.zeros_like(t[f"{QNAME}.qzeros"])
    _rewrite(tmp_path / "g", t)
    ckpt = open_checkpoint(tmp_path / "g")
    with pytest.raises(FormatError, match="symmetric"):
        ckpt.layer(QNAME)


def test_gptq_act_order_refused(qdir, tmp_path):
    export(open_checkpoint(qdir), "gptq", tmp_path / "g")
    _edit_config(tmp_path / "g", lambda c: c["quantization_config"].update(desc_act=True))
    _fails(tmp_path / "g", "desc_act")


def test_compressed_tensors_activation_quantization_refused(qdir, tmp_path):
    export(open_checkpoint(qdir), "compressed-tensors", tmp_path / "c")
    _edit_config(tmp_path / "c", lambda c: c["quantization_config"]["config_groups"]["group_0"].update(
        input_activations={"num_bits": 8, "type": "int"}))
    _fails(tmp_path / "c", "W4A16")


# ----------------------------------------------------------------------------- atomic writes

def test_existing_output_is_refused_without_overwrite(qdir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        export(open_checkpoint(qdir), "gptq", out)
    assert (out / "keep.txt").read_text() == "mine"
    export(open_checkpoint(qdir), "gptq", out, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "config.json").exists()


def _leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_failure_mid_write_leaves_nothing(qdir, tmp_path, monkeypatch):
    calls = {"n": 0}
    real_add = fio.ShardWriter.add

    def flaky(self, name, t):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("simulated crash")
        return real_add(self, name, t)

    monkeypatch.setattr(fio.ShardWriter, "add", flaky)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="simulated"):
        export(open_checkpoint(qdir), "gptq", out, max_shard_bytes=16 * 1024)
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_interrupt_mid_write_leaves_nothing(qdir, tmp_path, monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(fio.ShardWriter, "close", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(open_checkpoint(qdir), "compressed-tensors", tmp_path / "out")
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_disk_full_is_a_clear_error(qdir, tmp_path, monkeypatch):
    def full(path, tensors):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fio, "save_safetensors", full)
    with pytest.raises(FormatError, match="disk filled up"):
        export(open_checkpoint(qdir), "gptq", tmp_path / "out")
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_failed_overwrite_keeps_the_old_directory(qdir, tmp_path, monkeypatch):
    out = tmp_path / "out"
    export(open_checkpoint(qdir), "gptq", out)
    before = (out / "config.json").read_text()
    monkeypatch.setattr(fio.ShardWriter, "close", lambda self: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        export(open_checkpoint(qdir), "gptq", out, overwrite=True)
    assert (out / "config.json").read_text() == before


def test_unwritable_output(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        import os

        if os.access(ro, os.W_OK):
            pytest.skip("running as a user that can write anywhere (root)")
        model = tiny_model()
        with pytest.raises(FormatError, match="permission"):
            marlin.save(model, rtn_layers(model, 64), ro / "out", groupsize=64, provenance={})
    finally:
        ro.chmod(0o700)


def test_output_under_a_file(qdir, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FormatError, match="is a file"):
        export(open_checkpoint(qdir), "gptq", tmp_path / "afile" / "out")

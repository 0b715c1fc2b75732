"""Writing and reading the native, GPTQ and compressed-tensors formats: bit-identical round trips."""

import hashlib
import json

import pytest
import torch

from marlin_quant import load, packing
from marlin_quant.formats import export, gptq, marlin, open_checkpoint
from marlin_quant.formats.io import INDEX_FILE, SINGLE_FILE
from tiny_models import save_quantized, tiny_tokenizer


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    folder = tmp_path_factory.mktemp("native") / "q"
    model, layers = save_quantized(folder, groupsize=64)
    return folder, model, layers


def _same_layers(a, b):
    assert a.quantized == b.quantized
    for name in a.quantized:
        ca, sa = a.layer(name)
        cb, sb = b.layer(name)
        assert torch.equal(ca, cb), name
        assert torch.equal(sa.view(torch.int16), sb.view(torch.int16)), name


def test_native_round_trip_is_bit_identical(native):
    folder, model, layers = native
    ckpt = open_checkpoint(folder)
    assert ckpt.format == "marlin" and ckpt.groupsize == 64
    assert set(ckpt.quantized) == set(layers)
    assert ckpt.full_precision == ["lm_head"]
    for name, (codes, scales) in layers.items():
        c, s = ckpt.layer(name)
        assert torch.equal(c, codes) and torch.equal(s, scales)
        B, s_packed = ckpt.packed(name)
        assert B.dtype == torch.int32 and B.shape == (codes.shape[0] // 16, 2 * codes.shape[1])
    sd = model.state_dict()
    for name in ckpt.plain:
        assert torch.equal(ckpt.tensor(name), sd[name])
    cfg = json.loads((folder / "config.json").read_text())
    qc = cfg["quantization_config"]
    assert qc["quant_method"] == "marlin" and qc["bits"] == 4 and qc["group_size"] == 64
    assert qc["modules_in_full_precision"] == ["lm_head"]
    assert qc["provenance"]["method"] == "rtn"
    assert (folder / "tokenizer.json").exists()


def test_sharded_write_reads_back_the_same(tmp_path, native):
    folder, _, _ = native
    out = tmp_path / "sharded"
    export(open_checkpoint(folder), "marlin", out, max_shard_bytes=64 * 1024)
    index = json.loads((out / INDEX_FILE).read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 2 and not (out / SINGLE_FILE).exists()
    _same_layers(open_checkpoint(folder), open_checkpoint(out))


@pytest.mark.parametrize("groupsize", [64, -1, 128])
def test_gptq_export_reimports_bit_identical(tmp_path, groupsize):
    src = tmp_path / "q"
    save_quantized(src, groupsize=groupsize)
    ckpt = open_checkpoint(src)
    export(ckpt, "gptq", tmp_path / "gptq")
    back = open_checkpoint(tmp_path / "gptq")
    assert back.format == "gptq" and back.groupsize == groupsize
    _same_layers(ckpt, back)
    qc = json.loads((tmp_path / "gptq" / "config.json").read_text())["quantization_config"]
    assert qc["quant_method"] == "gptq" and qc["sym"] is True and qc["desc_act"] is False
    assert qc["group_size"] == groupsize and qc["bits"] == 4
    name = ckpt.quantized[0]
    f = back.files
    k, n = ckpt.shape(name)
    assert f.get(f"{name}.qweight").shape == (k // 8, n)
    # symmetric 4-bit: zero point 8 stored as 7 in every nibble (the GPTQ v1 convention)
    assert torch.all(f.get(f"{name}.qzeros") == 0x77777777)
    g = k if groupsize == -1 else groupsize
    assert torch.equal(f.get(f"{name}.g_idx"), (torch.arange(k) // g).to(torch.int32))


def test_gptq_weights_match_the_published_dequantization(native):
    """w = scale[g_idx[i]] * (q - (stored_zero + 1)), as GPTQ loaders compute it."""
    folder, _, layers = native
    name, (codes, scales) = next(iter(layers.items()))
    t = gptq.pack_layer(codes, scales, 64)
    k, n = codes.shape
    q = (t["qweight"].unsqueeze(1).to(torch.int64) >> (4 * torch.arange(8)).view(1, 8, 1)) & 0xF
    q = q.reshape(k, n)
    z = ((t["qzeros"].unsqueeze(-1).to(torch.int64) >> (4 * torch.arange(8))) & 0xF).reshape(-1, n) + 1
    w = t["scales"].float()[t["g_idx"].long()] * (q - z[t["g_idx"].long()]).float()
    assert torch.equal(w, packing.dequantize(codes, scales, 64))


@pytest.mark.parametrize("groupsize", [64, -1])
def test_compressed_tensors_library_decompresses_our_export_exactly(tmp_path, groupsize):
    ct = pytest.importorskip("compressed_tensors")
    from compressed_tensors.compressors.pack_quantized.base import PackedQuantizationCompressor
    from compressed_tensors.quantization import QuantizationConfig
    from safetensors.torch import load_file

    src = tmp_path / "q"
    save_quantized(src, groupsize=groupsize)
    ckpt = open_checkpoint(src)
    export(ckpt, "compressed-tensors", tmp_path / "ct")
    cfg = json.loads((tmp_path / "ct" / "config.json").read_text())["quantization_config"]
    qc = QuantizationConfig.model_validate(cfg)
    assert qc.format == "pack-quantized" and ct is not None
    scheme = qc.config_groups["group_0"]
    state = load_file(str(tmp_path / "ct" / "model.safetensors"))
    for name in ckpt.quantized:
        local = {k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")}
        weight = PackedQuantizationCompressor.decompress(local, scheme)["weight"]
        codes, scales = ckpt.layer(name)
        ours = packing.dequantize(codes, scales, groupsize).t().to(torch.float16)
        assert weight.dtype == torch.float16
        assert torch.equal(weight.view(torch.int16), ours.view(torch.int16)), name
    back = open_checkpoint(tmp_path / "ct")
    _same_layers(ckpt, back)


def test_load_matches_the_fake_quantized_model(native):
    folder, model, _ = native
    q = load(folder, device="cpu")
    from marlin_quant.nn import MarlinLinear

    kinds = [type(m) for n, m in q.named_modules() if n.endswith("q_proj")]
    assert kinds and all(k is MarlinLinear for k in kinds)
    ids = torch.randint(0, 300, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(ids).logits
        got = q(ids).logits
    # MarlinLinear rounds activations to fp16; everything else is the same fp32 math
    assert torch.allclose(got, ref, atol=2e-3, rtol=2e-3), (got - ref).abs().max()


def test_exports_load_to_the_same_logits(tmp_path, native):
    folder, _, _ = native
    ckpt = open_checkpoint(folder)
    ids = torch.randint(0, 300, (1, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = load(folder)(ids).logits
        for fmt in ("gptq", "compressed-tensors"):
            export(ckpt, fmt, tmp_path / fmt)
            assert torch.equal(load(tmp_path / fmt)(ids).logits, ref), fmt


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_inputs_give_byte_identical_files(tmp_path):
    save_quantized(tmp_path / "a", seed=3)
    save_quantized(tmp_path / "b", seed=3)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    ckpt = open_checkpoint(tmp_path / "a")
    for fmt in ("gptq", "compressed-tensors"):
        export(ckpt, fmt, tmp_path / f"{fmt}1")
        export(ckpt, fmt, tmp_path / f"{fmt}2")
        assert _digest(tmp_path / f"{fmt}1") == _digest(tmp_path / f"{fmt}2")


def test_bias_and_untied_lm_head_survive(tmp_path):
    model, layers = save_quantized(tmp_path / "q", tie=False, bias=True)
    ckpt = open_checkpoint(tmp_path / "q")
    assert "lm_head.weight" in ckpt.plain
    assert "model.layers.0.self_attn.q_proj.bias" in ckpt.plain
    q = load(tmp_path / "q")
    assert q.model.layers[0].self_attn.q_proj.bias is not None
    ids = torch.randint(0, 300, (1, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.allclose(q(ids).logits, model(ids).logits, atol=2e-3, rtol=2e-3)
    assert tiny_tokenizer() is not None

"""Tiny models, tokenizers and round-to-nearest quantized checkpoints made in the tests (no downloads).

The round-to-nearest producer stands in for the GPTQ engine so that format and CLI tests do not
depend on it: formats only care about (codes, scales).
"""

from __future__ import annotations

from pathlib import Path

import torch

from marlin_quant import packing

TEXT = (
    "The quick brown fox jumps over the lazy dog. A compressed model keeps four bits per weight and one "
    "scale per group; the kernel multiplies half precision activations by those weights. "
) * 8


def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<eos>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([TEXT], trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>")


def tiny_config(layers: int = 2, tie: bool = True, bias: bool = False):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=320, hidden_size=128, intermediate_size=256, num_hidden_layers=layers,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                       tie_word_embeddings=tie, attention_bias=bias, architectures=["LlamaForCausalLM"])


def tiny_model(seed: int = 0, **kwargs):
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(tiny_config(**kwargs)).eval()
    with torch.no_grad():
        for p in model.parameters():  # larger weights than the init, so quantization is not trivial
            if p.dim() == 2:
                p.normal_(0, 0.05)
    return model


def rtn_layers(model, groupsize: int, fake_quantize: bool = True) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Round-to-nearest codes and scales for every decoder-layer linear; optionally writes the
    dequantized weights back (the fake-quantized model the packed one must match)."""
    layers = {}
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and ".layers." in name:
            codes, scales = packing.quantize_rtn(mod.weight.detach().t().float(), groupsize)
            layers[name] = (codes, scales)
            if fake_quantize:
                with torch.no_grad():
                    mod.weight.copy_(packing.dequantize(codes, scales, groupsize).t())
    return layers


def save_full_precision(folder: Path, seed: int = 0, **kwargs) -> Path:
    model = tiny_model(seed, **kwargs)
    model.save_pretrained(str(folder))
    tiny_tokenizer().save_pretrained(str(folder))
    return folder


def save_quantized(folder: Path, groupsize: int = 64, seed: int = 0, max_shard_bytes: int | None = None, **kwargs):
    """Write a native directory; returns (fake-quantized fp32 model, layers)."""
    from marlin_quant.formats import marlin

    model = tiny_model(seed, **kwargs)
    layers = rtn_layers(model, groupsize)
    marlin.save(model, layers, folder, groupsize=groupsize, provenance={"tool": "test", "method": "rtn"},
                tokenizer=tiny_tokenizer(), max_shard_bytes=max_shard_bytes)
    return model, layers

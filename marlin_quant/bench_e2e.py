"""End-to-end decode speed: a Llama-2-7B-shaped model (random weights, a few decoder layers) with
its projections on MarlinLinear vs the same model in fp16, measured in one run.

Random weights are fine here: speed does not depend on the values. The 4-bit codes come from
round-to-nearest of those random weights (a benchmark input, not a quantizer). Decode is timed
with Hugging Face ``generate`` (greedy, a fixed number of new tokens, no early stop) after a
warm-up; tokens/s counts every sequence of the batch.

`generate` at batch 1 is bound by its own per-token Python (about 1.5 ms a token on the H100,
against 0.6-1 ms of GPU work for 4 layers), so its tokens/s moves with host noise. Each row
therefore also has the decode step alone: one forward of one new token per sequence against a
static KV cache, captured once as a CUDA graph and replayed (what a serving engine that graphs
its decode step pays); on CPU the same step runs eagerly.
"""

from __future__ import annotations

import copy
import inspect
import time

import torch
from torch import nn

from . import packing
from .nn import MarlinLinear

LLAMA2_7B = dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_attention_heads=32,
                 num_key_value_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-5)
TINY = dict(vocab_size=512, hidden_size=256, intermediate_size=512, num_attention_heads=4,
            num_key_value_heads=4, max_position_embeddings=512, rms_norm_eps=1e-5)


def shape_name(device: str) -> str:
    return "Llama-2-7B shapes" if device.startswith("cuda") else "tiny shapes (CPU smoke run, fp32 baseline)"


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return "cpu"


def build(layers: int, device: str, shapes: dict | None = None, groupsize: int = 128, seed: int = 0):
    """(fp16 model, Marlin model) with the same random weights."""
    from transformers import LlamaConfig, LlamaForCausalLM

    shapes = shapes or (LLAMA2_7B if device.startswith("cuda") else TINY)
    config = LlamaConfig(num_hidden_layers=layers, tie_word_embeddings=False, **shapes)
    torch.manual_seed(seed)
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    with torch.device(device):
        fp = LlamaForCausalLM(config).to(dtype).eval()
    q = copy.deepcopy(fp)
    for name, mod in list(q.named_modules()):
        if isinstance(mod, nn.Linear) and ".layers." in name:
            codes, scales = packing.quantize_rtn(mod.weight.detach().t().float(), groupsize)
            layer = MarlinLinear.from_linear(mod, codes, scales, groupsize)
            parent, _, child = name.rpartition(".")
            setattr(q.get_submodule(parent), child, layer)
    return fp, q


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@torch.no_grad()
def decode_tokens_per_s(model, batch: int, new_tokens: int, device: str, prompt: int = 16, reps: int = 3,
                        static_cache: bool = False) -> float:
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (batch, prompt), device=device, generator=None)
    mask = torch.ones_like(ids)
    kwargs = dict(attention_mask=mask, do_sample=False, min_new_tokens=new_tokens, max_new_tokens=new_tokens,
                  pad_token_id=0)
    if static_cache:
        # With a static cache, transformers compiles the decode step (CUDA graphs on a GPU), which
        # takes Python's per-layer overhead out of the measurement.
        kwargs["cache_implementation"] = "static"
    model.generate(ids, **kwargs)  # warm-up (and compilation, with a static cache)
    times = []
    for _ in range(reps):
        _sync(device)
        t0 = time.perf_counter()
        out = model.generate(ids, **kwargs)
        _sync(device)
        times.append(time.perf_counter() - t0)
        assert out.shape[1] == prompt + new_tokens
    times.sort()
    return batch * new_tokens / times[len(times) // 2]


@torch.no_grad()
def decode_step_ms(model, batch: int, device: str, prompt: int = 16, steps: int = 50) -> float:
    """Milliseconds of one decode step (batch new tokens against a static cache of prompt tokens).

    On a GPU the step is captured as one CUDA graph and timed over `steps` replays with events
    (each replay writes the next cache position; the shapes, and so the work, are the same); on
    CPU it runs eagerly (a smoke run).
    """
    from transformers import StaticCache

    # The cache advances its own write position on every step (a device counter, also inside the
    # graph), so it holds every step this function runs: warm-up, one check replay and `steps`.
    cache = StaticCache(config=model.config, max_cache_len=prompt + steps + 16)
    # transformers 5.x names the cache argument `cache` and deprecates `past_key_values`, the only
    # name older releases know.
    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    ids = torch.randint(0, model.config.vocab_size, (batch, prompt), device=device)
    model(input_ids=ids, **{cache_arg: cache}, cache_position=torch.arange(prompt, device=device), use_cache=True)
    tok = ids[:, -1:].clone()
    pos = torch.tensor([prompt], device=device)

    def step():
        return model(input_ids=tok, **{cache_arg: cache}, cache_position=pos, use_cache=True).logits

    if not device.startswith("cuda"):
        step()
        n = max(1, steps // 10)
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        return (time.perf_counter() - t0) / n * 1e3
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    graph.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(steps):
        graph.replay()
    end.record()
    end.synchronize()
    ms = start.elapsed_time(end) / steps
    del graph
    return ms


def run(layers: int = 4, batches=(1, 16), new_tokens: int = 128, device: str = "cuda", static_cache: bool = False,
        log=print) -> list[dict]:
    """Rows of {batch, fp16_tokens_per_s, marlin_tokens_per_s, speedup, fp16_step_ms, marlin_step_ms,
    step_speedup}, measured in one run."""
    log(f"building a model of {shape_name(device)} with {layers} layers on {device}")
    fp, q = build(layers, device)
    rows = []
    for b in batches:
        t_fp = decode_tokens_per_s(fp, b, new_tokens, device, static_cache=static_cache)
        t_q = decode_tokens_per_s(q, b, new_tokens, device, static_cache=static_cache)
        s_fp = decode_step_ms(fp, b, device)
        s_q = decode_step_ms(q, b, device)
        rows.append({"batch": b, "fp16_tokens_per_s": t_fp, "marlin_tokens_per_s": t_q, "speedup": t_q / t_fp,
                     "fp16_step_ms": s_fp, "marlin_step_ms": s_q, "step_speedup": s_fp / s_q})
        log(f"batch {b}: generate fp16 {t_fp:.1f} tok/s, marlin {t_q:.1f} tok/s; "
            f"decode step fp16 {s_fp:.3f} ms, marlin {s_q:.3f} ms")
    return rows

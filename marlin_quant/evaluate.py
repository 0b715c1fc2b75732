"""Perplexity of a causal LM over non-overlapping windows of a text."""

from __future__ import annotations

import math

import torch
from torch import nn


def tokenize(tokenizer, text: str) -> torch.Tensor:
    """The whole text as one (1, tokens) int64 tensor."""
    return tokenizer(text, return_tensors="pt").input_ids.to(torch.long)


@torch.no_grad()
def perplexity(model: nn.Module, tokenizer_or_ids, text: str | None = None, seqlen: int = 2048,
               max_windows: int | None = None, device: str | torch.device | None = None) -> float:
    """Perplexity over non-overlapping windows of ``seqlen`` tokens (a trailing partial window is
    dropped, as in the usual GPTQ protocol).

    Args:
        model: a causal LM returning ``.logits``; it is used where it is (``device`` only says where
            the input ids go; by default the device of the model's first parameter).
        tokenizer_or_ids: a tokenizer (then ``text`` is required) or a token tensor, (tokens,) or
            (1, tokens).
        text: the text to evaluate when a tokenizer is given.
        seqlen: window length in tokens.
        max_windows: evaluate only the first this many windows.
    """
    if isinstance(tokenizer_or_ids, torch.Tensor):
        ids = tokenizer_or_ids.reshape(1, -1).to(torch.long)
    else:
        if text is None:
            raise ValueError("perplexity needs `text` when given a tokenizer")
        ids = tokenize(tokenizer_or_ids, text)
    windows = ids.shape[1] // seqlen
    if max_windows is not None:
        windows = min(windows, max_windows)
    if windows < 1:
        raise ValueError(f"the text has {ids.shape[1]} tokens, fewer than one window of seqlen={seqlen}; "
                         "use a smaller seqlen or a longer text")
    if device is None:
        device = next(model.parameters()).device
    nll = 0.0
    count = 0
    for w in range(windows):
        batch = ids[:, w * seqlen:(w + 1) * seqlen].to(device)
        logits = model(input_ids=batch, use_cache=False).logits.float()
        loss = nn.functional.cross_entropy(logits[0, :-1], batch[0, 1:], reduction="sum")
        nll += float(loss)
        count += seqlen - 1
    return math.exp(nll / count)

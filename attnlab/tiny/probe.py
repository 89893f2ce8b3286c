"""Read attention weights out of a tiny model, and switch heads off, without changing its code.

>>> import torch
>>> from attnlab.tiny.model import TinyConfig, TinyTransformer
>>> m = TinyTransformer(TinyConfig(["<bos>", "A"], 2, 2, 8, 0, 4, True))
>>> [w.shape for w in attention_weights(m, torch.zeros(1, 3, dtype=torch.long))]
[torch.Size([1, 2, 3, 3]), torch.Size([1, 2, 3, 3])]
>>> with ablate_heads(m, {0: [1]}):
...     m(torch.zeros(1, 3, dtype=torch.long)).shape
torch.Size([1, 3, 2])
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import torch

from .model import TinyAttention, TinyTransformer, eager_attention


def _attention_modules(model: TinyTransformer) -> list[TinyAttention]:
    """Each block's attention (nn.ModuleList yields plain nn.Modules to a type checker)."""
    return [cast(TinyAttention, block.attn) for block in model.blocks]


@contextmanager
def recording_attention(model: TinyTransformer) -> Iterator[list[list[torch.Tensor]]]:
    """Inside the block every forward appends its weights [b, h, T, T] to ``weights[layer]``."""
    attns = _attention_modules(model)
    weights: list[list[torch.Tensor]] = [[] for _ in attns]
    saved = [attn.attention_fn for attn in attns]

    def make(layer: int, inner):
        def fn(module, q, k, v, mask, **kw):
            out, w = (inner or eager_attention)(module, q, k, v, mask, **kw)
            if w is None:  # an attention function that returns no weights (attnlab's runner uses SDPA)
                w = eager_attention(module, q, k, v, mask, **kw)[1]
            weights[layer].append(w)
            return out, w
        return fn

    for i, attn in enumerate(attns):
        attn.attention_fn = make(i, saved[i])
    try:
        yield weights
    finally:
        for attn, fn in zip(attns, saved, strict=True):
            attn.attention_fn = fn


@torch.no_grad()
def attention_weights(model: TinyTransformer, ids: torch.Tensor) -> list[torch.Tensor]:
    """One forward pass; the attention weights of every layer, each [b, h, T, T]."""
    with recording_attention(model) as weights:
        model(ids)
    return [w[-1] for w in weights]


@contextmanager
def ablate_heads(model: TinyTransformer, heads: dict[int, list[int]]) -> Iterator[TinyTransformer]:
    """Zero-ablate heads: ``{layer: [head, ...]}``; their output is removed before ``o_proj``."""
    hooks = []
    for layer, hs in heads.items():
        attn = _attention_modules(model)[layer]

        def pre_hook(module, args, hs=tuple(hs), attn=attn):
            z = args[0].clone()
            z.view(*z.shape[:-1], attn.n_heads, attn.head_dim)[..., list(hs), :] = 0
            return (z,)
        hooks.append(attn.o_proj.register_forward_pre_hook(pre_hook))
    try:
        yield model
    finally:
        for h in hooks:
            h.remove()
